"""An item served to an annotator, with why it was chosen."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from labelwise.server.schemas.common import UtcDateTime
from labelwise.service.queue import ServedItem


class Suggestion(BaseModel):
    label: str
    probability: float


class SpanSuggestion(BaseModel):
    """A span the model predicts: characters ``[start, end)`` typed ``label``."""

    start: int
    end: int
    label: str
    confidence: float = Field(description="The model's probability for this span (0..1).")


class Focus(BaseModel):
    """Characters ``[start, end)`` of the predicted span the model is least sure about."""

    start: int
    end: int


class Reason(BaseModel):
    """Why this item: in words, and as the source, strategy, score and model behind them."""

    source: Literal["ranked", "audit", "random", "relabel", "stream", "feedback", "cluster"] = (
        Field(
            description="Where it came from: the model's ranked queue, the random audit sample "
            "(never chosen by a model), the random pool (no model yet, or its queue is used up), "
            "the relabel queue (a label another annotator gave that the model suspects is "
            "wrong: a second opinion), production traffic admitted by the label budget, or a "
            "message production users reported the bot got wrong (labeling it reviews the "
            "reports), or a member of an open new-intent cluster (a message the model cannot "
            "place, grouped with others like it)."
        )
    )
    explanation: str = Field(
        description="Why it was chosen, in words for the person labeling it.",
        examples=["The model is torn between “transfer” and “balance”: 51% vs 49%."],
    )
    strategy: str
    score: float | None = Field(description="Acquisition score; higher = more informative.")
    model_version: int | None
    focus: Focus | None = Field(
        default=None,
        description="Span tasks: the predicted span the explanation names; null otherwise.",
    )


class ServedItemOut(BaseModel):
    lease_id: int
    item_id: int
    position: int
    text: str
    meta: dict[str, Any]
    expires_at: UtcDateTime
    is_audit: bool
    suggestions: list[Suggestion] = Field(
        description="The model's most probable labels (intents, for intents_entities)."
    )
    tokens: list[tuple[int, int]] = Field(
        description="Span tasks: [start, end) character offsets of the text's tokens, "
        "where selections snap; [] for classification."
    )
    span_suggestions: list[SpanSuggestion] = Field(
        description="Span tasks: the spans the model predicts (pre-filled for review)."
    )
    reason: Reason
    traffic_count: int | None = Field(
        default=None,
        description="How often production sent this text or a near-duplicate of it "
        "(its group's count); null for items that did not come from traffic.",
    )

    @classmethod
    def from_served(cls, served: ServedItem) -> ServedItemOut:
        return cls(
            lease_id=served.lease_id,
            item_id=served.item_id,
            position=served.position,
            text=served.text,
            meta=served.meta,
            expires_at=served.expires_at,
            is_audit=served.is_audit,
            suggestions=[Suggestion(label=lab, probability=p) for lab, p in served.suggestions],
            tokens=served.tokens,
            span_suggestions=[SpanSuggestion(**span) for span in served.span_suggestions],
            traffic_count=served.traffic_count,
            reason=Reason(
                source=served.source,
                explanation=served.why,
                strategy=served.strategy,
                score=served.score,
                model_version=served.model_version,
                focus=None
                if served.focus is None
                else Focus(start=served.focus["start"], end=served.focus["end"]),
            ),
        )
