"""The demo projects: 600 CLINC150 utterances over 20 intents, and 350 SNIPS utterances
to label with an intent and their entities, both ready to label."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.service import importing, projects
from labelwise.store import Project, TaskType, User

DEMO_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_TEXTS = DEMO_DIR / "intents_sample.jsonl"
DEMO_GOLD = DEMO_DIR / "intents_sample.labels.txt"
DEMO_NAME = "demo-intents"
SPANS_TEXTS = DEMO_DIR / "snips_sample.jsonl"
SPANS_GOLD = DEMO_DIR / "snips_sample.gold.jsonl"
SPANS_NAME = "demo-intents-entities"
SPANS_GUIDELINES = (
    "Pick the intent of the request, then mark every entity in it: select the words and "
    "choose their type (for example `artist`, `city`, `timeRange`). Mark the whole name "
    "(`New York`, not `York`). A request with no entity is labeled with none."
)
GUIDELINES = (
    "Pick the intent the user most likely means. Use `oos` (out of scope) when none of the "
    "intents fits. Flag an utterance that could mean two intents, with a comment."
)


def demo_gold() -> list[str]:
    """The dataset's own intent for each line of the demo file, in file order."""
    return DEMO_GOLD.read_text(encoding="utf-8").split()


def create_demo_project(session: Session, *, owner: User, name: str = DEMO_NAME) -> Project:
    """Create the demo project (once; a second call returns it unchanged)."""
    existing = session.scalar(select(Project).where(Project.name == name))
    if existing is not None:
        return existing
    project = projects.create_project(
        session,
        name=name,
        labels=sorted(set(demo_gold())),
        owner=owner,
        # Features, strategy, retraining cadence and audit share are the defaults every
        # new project gets, so what the demo shows is what a real project does.
        guidelines=GUIDELINES,
    )
    importing.import_items(session, project_id=project.id, path=DEMO_TEXTS, user=owner)
    return project


def spans_gold() -> list[dict[str, Any]]:
    """The SNIPS sample's own answers, line for line: ``{"text", "intent", "spans"}``."""
    return [json.loads(line) for line in SPANS_GOLD.read_text(encoding="utf-8").splitlines()]


def create_spans_demo_project(session: Session, *, owner: User, name: str = SPANS_NAME) -> Project:
    """Create the intents+entities demo project (once; a second call returns it unchanged).

    Its intents and entity types are those of the bundled SNIPS sample; only the texts
    are imported, so there is everything to label.
    """
    existing = session.scalar(select(Project).where(Project.name == name))
    if existing is not None:
        return existing
    gold = spans_gold()
    project = projects.create_project(
        session,
        name=name,
        task=TaskType.INTENTS_ENTITIES,
        labels=sorted({row["intent"] for row in gold}),
        entity_types=sorted({span["label"] for row in gold for span in row["spans"]}),
        owner=owner,
        guidelines=SPANS_GUIDELINES,
    )
    importing.import_items(session, project_id=project.id, path=SPANS_TEXTS, user=owner)
    return project
