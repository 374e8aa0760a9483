"""Transaction helpers shared by the use cases: every unit of work says read or write.

On SQLite (see ``labelwise.store.engine``) a read transaction is a plain deferred
``BEGIN``: in WAL mode it sees a snapshot and blocks nobody. A write transaction starts
with ``BEGIN IMMEDIATE`` under the process's writer lock, so writers queue instead of
failing when a read snapshot would have to be upgraded. A use case that writes therefore
calls :func:`begin_write` before its first write, and commits before it returns, so the
lock is taken and released within one call, on one thread. PostgreSQL ignores the
distinction (MVCC); the call costs nothing there.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from labelwise.service.errors import ServiceBusyError
from labelwise.store.engine import WRITE_OPTION, is_busy_error

__all__ = ["WRITE_OPTION", "begin_write", "busy_error", "end_read"]

#: Seconds a client is asked to wait before retrying a request refused as busy.
RETRY_AFTER_S = 2


def begin_write(session: Session) -> None:
    """Make the session's current unit of work a write transaction.

    A read transaction still open (the request's authentication, say) is ended first:
    it has written nothing, so committing it only drops its snapshot. Objects already
    loaded stay usable (sessions keep attributes after commit). Calling this inside a
    write transaction does nothing.
    """
    if session.in_transaction():
        connection = session.connection()
        if connection.get_execution_options().get(WRITE_OPTION):
            return
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})


def end_read(session: Session) -> None:
    """End a read-only use case's transaction, dropping its snapshot.

    A long-lived read snapshot keeps SQLite's WAL from being checkpointed, and on
    PostgreSQL an idle open transaction holds back vacuum; read-only service functions end
    theirs before returning.
    """
    session.commit()


def busy_error(exc: BaseException) -> ServiceBusyError | None:
    """The domain error for a database error that means "saturated", else None.

    A writer that waited out the writer lock, SQLite's ``database is locked`` and a
    connection pool with none free all become :class:`ServiceBusyError` (HTTP 503 with
    ``Retry-After``): nothing was stored and the request can simply be sent again.
    """
    if not is_busy_error(exc):
        return None
    return ServiceBusyError(
        "The server is busy with other requests; nothing was stored, try again shortly.",
        retry_after=RETRY_AFTER_S,
    )
