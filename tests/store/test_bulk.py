"""Bulk inserts (COPY on PostgreSQL) store what an INSERT through SQLAlchemy stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, select

from labelwise.store import Item, Project, TrafficMessage
from labelwise.store.bulk import insert_rows
from labelwise.store.engine import WRITE_OPTION


def test_bulk_rows_read_back_like_inserted_ones(session):
    session.connection(execution_options={WRITE_OPTION: True})
    project = Project(name="p", labels=["a", "b"])
    session.add(project)
    session.flush()
    item = Item(project_id=project.id, position=0, text="hi", content_hash="h")
    session.add(item)
    session.flush()
    when = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    rows = [
        {
            "project_id": project.id,
            "item_id": item.id,
            "external_id": external,
            "sent_at": when,
            "received_at": when,
            "conversation_id": None,
            "channel": "web\ttab",  # COPY's own separators must survive
            "predicted": predicted,
            "confidence": 0.25,
            "meta": {"quote": 'say "hi"\\n', "n": [1, None]},
        }
        for external, predicted in (("a", "greet"), ("b", None), ("c", ["x", "y"]))
    ]
    insert_rows(session, cast(Table, TrafficMessage.__table__), rows)
    insert_rows(session, cast(Table, TrafficMessage.__table__), [])
    session.commit()
    stored = session.scalars(select(TrafficMessage).order_by(TrafficMessage.external_id)).all()
    assert [m.predicted for m in stored] == ["greet", None, ["x", "y"]]
    assert all(m.meta == {"quote": 'say "hi"\\n', "n": [1, None]} for m in stored)
    assert all(m.channel == "web\ttab" and m.conversation_id is None for m in stored)
    assert all(m.sent_at.replace(tzinfo=m.sent_at.tzinfo or UTC) == when for m in stored)
