"""Decisions on items: label, skip, flag, undo."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import Id, Text, UtcDateTime
from labelwise.service.queue import RecentDecision
from labelwise.store import AnnotationKind

ClientKey = Annotated[
    Text | None,
    Field(
        max_length=200,
        description="Any string unique per decision; a retry with the same key is not stored twice.",
    ),
]


class AnnotationIn(BaseModel):
    item_id: Id
    value: Text | list[Text] = Field(description="A label name, or a list of them (multi-label).")
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

    @classmethod
    def from_decision(cls, decision: RecentDecision) -> RecentDecisionOut:
        stored = AnnotationOut.model_validate(decision.annotation)
        return cls(**stored.model_dump(), item_text=decision.item_text)
