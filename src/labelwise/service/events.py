"""The append-only event log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from labelwise.store import Event


def record(
    session: Session,
    kind: str,
    *,
    project_id: int | None = None,
    user_id: int | None = None,
    **payload: Any,
) -> None:
    """Append one event in the caller's transaction (it commits or rolls back with it)."""
    session.add(Event(kind=kind, project_id=project_id, user_id=user_id, payload=payload))
