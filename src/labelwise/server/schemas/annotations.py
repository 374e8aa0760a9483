"""Decisions on items: label, skip, flag, undo."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import Id, LabelName, Text, UtcDateTime
from labelwise.service.queue import RecentDecision
from labelwise.store import AnnotationKind

ClientKey = Annotated[
    Text | None,
    Field(
        max_length=200,
        description="Any string unique per decision; a retry with the same key is not stored twice.",
    ),
]


#: A character offset: texts are far shorter than a 32-bit integer.
Offset = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
#: Spans per value: more than a text of the longest length could hold is a client bug.
MAX_SPANS = 10_000


class SpanIn(BaseModel):
    """One entity: characters ``[start, end)`` of the item's text, typed ``label``."""

    model_config = ConfigDict(extra="forbid")

    start: Offset
    end: Offset = Field(description="One past the last character (greater than start).")
    label: LabelName = Field(min_length=1, max_length=200, description="An entity type.")


class SpansValue(BaseModel):
    """A spans project's value: the entities ([] for "no entities"), snapped to tokens."""

    model_config = ConfigDict(extra="forbid")

    spans: list[SpanIn] = Field(max_length=MAX_SPANS)


class IntentSpansValue(SpansValue):
    """An intents-and-entities project's value: one intent and the entities."""

    intent: LabelName = Field(min_length=1, max_length=200)


#: Every shape of label value: a name (single-label), names (multi-label), spans (spans),
#: an intent with spans (intents_entities). The project's task says which one it takes.
LabelValue = Text | list[Text] | IntentSpansValue | SpansValue


def plain_value(value: Any) -> Any:
    """A request's label value as the service takes it: span models become plain dicts."""
    if isinstance(value, SpansValue):
        return value.model_dump()
    return value


class AnnotationIn(BaseModel):
    item_id: Id
    value: LabelValue = Field(
        description='A label name; a list of them (multi-label); {"spans": [...]} (spans); '
        '{"intent": name, "spans": [...]} (intents and entities). Spans are snapped to the '
        "edges of the item's tokens, may not overlap, and name the project's entity types."
    )
    client_key: ClientKey = None
    # A tab left open overnight is fine; infinity and NaN are not a duration.
    seconds_spent: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    lease_id: Id | None = None


class SkipIn(BaseModel):
    item_id: Id
    client_key: ClientKey = None


class FlagIn(BaseModel):
    item_id: Id
    comment: Text = Field(min_length=1, max_length=5000)
    client_key: ClientKey = None


class UndoIn(BaseModel):
    annotation_id: Id | None = Field(default=None, description="Default: your latest decision.")


class AnnotationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    annotator_id: int | None
    kind: AnnotationKind
    value: Any
    comment: str
    source: str
    seconds_spent: float | None
    model_version_id: int | None
    strategy: str | None
    query_score: float | None
    client_key: str | None
    created_at: UtcDateTime
    undone_at: UtcDateTime | None


class RecentDecisionOut(AnnotationOut):
    """A decision of yours, with the item's text (the page relabels from it)."""

    item_text: str
    summary: str = Field(
        description="The decision in a few words (label names, spans as quoted text).",
        examples=["PlayMusic · “Lush Life” track"],
    )

    @classmethod
    def from_decision(cls, decision: RecentDecision) -> RecentDecisionOut:
        stored = AnnotationOut.model_validate(decision.annotation)
        return cls(**stored.model_dump(), item_text=decision.item_text, summary=decision.summary)
