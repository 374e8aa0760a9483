"""Small labeled projects built straight through the ORM, for queue and worker tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from labelwise.service import projects, queue, users
from labelwise.service.transactions import begin_write
from labelwise.store import Item, Project, TaskType, User

INTENTS = {
    "greet": ["hello there", "hi friend", "good morning", "hey how are you", "greetings"],
    "bye": ["goodbye now", "see you later", "bye bye", "farewell friend", "talk to you soon"],
    "weather": [
        "is it raining",
        "weather today",
        "will it be sunny",
        "forecast please",
        "cold outside",
    ],
}


def make_user(session: Session, name: str, *, admin: bool = False) -> User:
    return users.create_user(session, username=name, password=f"{name}-password", is_admin=admin)


def make_project(
    session: Session,
    owner: User,
    *,
    copies: int = 4,
    settings: dict[str, Any] | None = None,
    extra_labels: Sequence[str] = (),
    task: TaskType = TaskType.SINGLE_LABEL,
    name: str = "intents",
) -> tuple[Project, dict[int, str]]:
    """A project over ``copies`` numbered variants of every intent phrase; returns the truth.

    ``extra_labels`` widen the schema with classes no item has (a big schema, few seen).
    """
    labels = sorted(INTENTS) + list(extra_labels)
    project = projects.create_project(
        session,
        name=name,
        labels=labels,
        owner=owner,
        task=task,
        settings={"min_labels": 6, "retrain_every": 5, "queue_size": 50, **(settings or {})},
    )
    rows, truth = [], {}
    for phrases in INTENTS.values():
        for phrase in phrases:
            for k in range(copies):
                text = f"{phrase} {k}"
                rows.append(
                    {
                        "project_id": project.id,
                        "position": len(rows),
                        "text": text,
                        "meta": {},
                        "source": "test",
                        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                        "is_audit": False,
                    }
                )
    begin_write(session)
    session.execute(insert(Item), rows)
    session.commit()
    for item in session.query(Item).filter_by(project_id=project.id):
        truth[item.id] = next(
            lab for lab, ph in INTENTS.items() if item.text.rsplit(" ", 1)[0] in ph
        )
    session.commit()  # end the read: on SQLite an open transaction holds the write lock
    return project, truth


def label_with_audit(
    session: Session,
    project: Project,
    user: User,
    truth: dict[int, Any],
    *,
    n_audit: int,
    n_trained: int,
) -> None:
    """Make ``n_audit`` items (every other one) random audit items and label them, then
    label ``n_trained`` other items, the classes in turn, for a model to train on."""
    items = sorted(truth)
    audit = items[::2][:n_audit]
    by_class: dict[str, list[int]] = {}
    for item_id in sorted(set(items) - set(audit)):
        by_class.setdefault(str(truth[item_id]), []).append(item_id)
    in_turn = [i for group in zip_longest(*by_class.values()) for i in group if i is not None]
    trained = in_turn[:n_trained]
    begin_write(session)
    session.execute(update(Item).where(Item.id.in_(audit)).values(is_audit=True))
    session.commit()
    for item_id in [*audit, *trained]:
        queue.submit_annotation(
            session, project_id=project.id, annotator=user, item_id=item_id, value=truth[item_id]
        )
