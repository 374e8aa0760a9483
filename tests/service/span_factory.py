"""Span projects over the bundled SNIPS sample, built through the service, for worker tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from labelwise.service import projects, queue
from labelwise.service.demo import DEMO_DIR
from labelwise.service.transactions import begin_write
from labelwise.store import Item, Project, TaskType, User

GOLD = DEMO_DIR / "snips_sample.gold.jsonl"


def gold_rows() -> list[dict[str, Any]]:
    """``{"text", "intent", "spans"}`` per line of the SNIPS demo sample."""
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]


def gold_value(row: dict[str, Any], task: TaskType) -> dict[str, Any]:
    spans = sorted(row["spans"], key=lambda s: (s["start"], s["end"], s["label"]))
    value: dict[str, Any] = {"spans": spans}
    if task is TaskType.INTENTS_ENTITIES:
        value["intent"] = row["intent"]
    return value


def make_span_project(
    session: Session,
    owner: User,
    *,
    task: TaskType = TaskType.SPANS,
    n_items: int = 150,
    n_evaluation: int = 0,
    settings: dict[str, Any] | None = None,
) -> tuple[Project, dict[int, dict[str, Any]]]:
    """A project over the first ``n_items`` SNIPS sample rows (the last ``n_evaluation`` of
    them an evaluation set with reference values); returns the gold value per item id."""
    rows = gold_rows()[:n_items]
    types = sorted({s["label"] for row in gold_rows() for s in row["spans"]})
    intents = sorted({row["intent"] for row in gold_rows()})
    spans_task = task is TaskType.SPANS
    project = projects.create_project(
        session,
        name=f"snips-{task.value}",
        labels=types if spans_task else intents,
        entity_types=() if spans_task else types,
        owner=owner,
        task=task,
        settings={
            "min_labels": 10,
            "retrain_every": 10,
            "queue_size": 40,
            "audit_fraction": 0.0,
            "features": "tfidf",
            **(settings or {}),
        },
    )
    first_evaluation = n_items - n_evaluation
    begin_write(session)
    session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "position": i,
                "text": row["text"],
                "meta": {},
                "source": "test",
                "content_hash": hashlib.sha256(row["text"].encode()).hexdigest(),
                "is_audit": False,
                "is_evaluation": i >= first_evaluation,
                "reference_label": gold_value(row, task) if i >= first_evaluation else None,
            }
            for i, row in enumerate(rows)
        ],
    )
    session.commit()
    ids = dict(
        session.execute(select(Item.position, Item.id).where(Item.project_id == project.id)).all()
    )
    session.commit()
    return project, {ids[i]: gold_value(row, task) for i, row in enumerate(rows)}


def label_items(
    session: Session,
    project: Project,
    owner: User,
    truth: dict[int, dict[str, Any]],
    item_ids: list[int],
    *,
    value: Any = None,
) -> None:
    """Submit the gold value (or ``value``) for each item, in order."""
    for item_id in item_ids:
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=item_id,
            value=truth[item_id] if value is None else value,
        )
