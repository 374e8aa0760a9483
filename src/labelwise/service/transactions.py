"""Transaction helpers shared by the use cases."""

from __future__ import annotations

from sqlalchemy.orm import Session


def end_read(session: Session) -> None:
    """End a read-only use case's transaction.

    On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (see
    ``labelwise.store.engine``), so even an idle read would hold the write lock until the
    session closes; read-only service functions end theirs before returning.
    """
    session.commit()
