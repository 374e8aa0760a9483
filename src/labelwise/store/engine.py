"""The engine factory and schema migration entry point.

SQLite gets WAL (readers never block the writer), enforced foreign keys, a busy timeout
and ``synchronous=FULL`` (an acknowledged commit survives a killed process and a power cut
alike). Every unit of work says whether it reads or writes:

* a **read** transaction is a plain deferred ``BEGIN``: a WAL snapshot that takes no lock
  and blocks nobody, so authenticating a request or rendering a page never waits;
* a **write** transaction is one whose connection carries the :data:`WRITE_OPTION`
  execution option (``labelwise.service.transactions.begin_write`` sets it on a session,
  :func:`write_engine` on an engine). It queues on the process's writer lock, then takes
  SQLite's with ``BEGIN IMMEDIATE``, so two writers queue instead of one failing when it
  upgrades a read snapshot.

The rule is structural: on SQLite a write statement (``INSERT``, ``UPDATE``, ``DELETE``,
DDL...) inside a read transaction raises :class:`WriteInReadTransactionError` before it
reaches the database, so a forgotten ``begin_write`` fails in the tests, not under load.
A writer that waits longer than :data:`BUSY_TIMEOUT_S` for the lock gets
:class:`DatabaseBusyError` (the server answers 503 with ``Retry-After``). PostgreSQL
needs none of this (MVCC); the option is ignored there.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_S = 30
#: Execution option that makes a connection's transaction a write transaction.
WRITE_OPTION = "labelwise_write"
#: PostgreSQL connections kept open per engine, unless the caller says otherwise.
DEFAULT_POOL_SIZE = 5

# The first keyword of a statement that changes the database (after comments/blanks).
_WRITE_STATEMENT = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|CREATE|DROP|"
    r"ALTER|REINDEX|VACUUM|ANALYZE)\b",
    re.IGNORECASE | re.DOTALL,
)


class DatabaseBusyError(OperationalError):
    """A writer waited :data:`BUSY_TIMEOUT_S` for the database and gave up."""

    def __init__(self, message: str = "the database is busy with other writers") -> None:
        super().__init__("BEGIN IMMEDIATE", None, TimeoutError(message))


class WriteInReadTransactionError(RuntimeError):
    """A write statement ran in a read transaction: a programming error.

    Call ``labelwise.service.transactions.begin_write(session)`` before the use case's
    first write (or use :func:`write_engine` for an engine-level ``begin()``).
    """


def is_busy_error(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database is saturated; try again shortly".

    True for a writer's lock timeout, SQLite's ``database is locked`` / ``busy`` and a
    connection pool with no connection free within its timeout.
    """
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    if isinstance(exc, (DatabaseBusyError, PoolTimeoutError)):
        return True
    if isinstance(exc, OperationalError):
        message = str(getattr(exc, "orig", None) or exc).lower()
        return "database is locked" in message or "database is busy" in message
    return False


def make_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> Engine:
    """An engine for ``url``: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.

    A relative SQLite path is resolved against the working directory and its folder is
    created, so the first run needs no set-up.

    Parameters
    ----------
    url : str
        The database URL.
    echo : bool
        Log every statement.
    pool_size : int, optional
        Connections the pool keeps, and also the most it opens (no overflow), so the
        server can size its request concurrency to fit (``Settings.db_pool_size``).
        Default: SQLAlchemy's 5 plus 10 overflow (a file SQLite database pools too).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if pool_size is None:
            return create_engine(url, echo=echo, pool_pre_ping=True)
        return create_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=0
        )
    database = parsed.database
    if database and database != ":memory:":
        path = Path(database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    sized: dict[str, Any] = {}
    if pool_size is not None and database and database != ":memory:":
        sized = {"pool_size": pool_size, "max_overflow": 0}
    engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False}, **sized)
    _configure_sqlite(engine)
    return engine


def write_engine(engine: Engine) -> Engine:
    """``engine`` whose every transaction is a write transaction (same pool, same lock).

    For engine-level writers: migrations, scripts, test set-up (``write_engine(e).begin()``).
    """
    return engine.execution_options(**{WRITE_OPTION: True})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    # SQLite's busy handler polls with growing sleeps, so under contention (twenty
    # annotators and the worker in one server) some waiters starve for seconds. Writers of
    # this process therefore queue on a lock first and meet SQLite's lock only when it is
    # free (or held by another process, where the busy timeout still applies). Readers
    # never touch it: the lock is taken and released within one use case, on one thread,
    # so a writer never waits on a thread that a reader holding the lock would need.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=BUSY_TIMEOUT_S):
            raise DatabaseBusyError(f"another transaction held the database for {BUSY_TIMEOUT_S} s")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        connection.info["labelwise_writer"] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _guard_writes(
        connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if connection.info.get("labelwise_writer") or not connection.in_transaction():
            return
        match = _WRITE_STATEMENT.match(statement)
        if match is not None:
            raise WriteInReadTransactionError(
                f"{match.group(1).upper()} in a read transaction: call "
                "labelwise.service.transactions.begin_write(session) before the first "
                "write of this unit of work (or use store.engine.write_engine(engine))."
            )

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        if connection.info.pop("labelwise_writer", False):
            writer.release()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (services return ORM rows)."""
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write_engine(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
