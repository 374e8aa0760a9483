"""Production traffic: a batch of messages in, accepted / duplicate / rejected counts out.

A message is checked by the service, one at a time, so one bad message never refuses
the batch: the body's ``messages`` are plain JSON values here, and the documented shape
of one (:class:`TrafficMessageIn`) is what the service enforces, message by message.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from labelwise.server.schemas.common import BatchErrorOut, UtcDateTime
from labelwise.service.live_quality import LiveQuality
from labelwise.service.traffic import MAX_BATCH, TrafficSummary


class TrafficMessageIn(BaseModel):
    """One production message (documentation of the shape the service checks)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="What the user wrote.", min_length=1)
    external_id: str | int | None = Field(
        default=None,
        description="The bot's id for the message: a message sent again under the same id "
        "is a duplicate and changes nothing (safe retries).",
    )
    timestamp: str | float | None = Field(
        default=None,
        description="When the bot received it: ISO 8601 (no offset = UTC) or Unix seconds.",
    )
    conversation_id: str | int | None = None
    channel: str | None = Field(default=None, description="Where it came from (web, app...).")
    prediction: str | list[str] | None = Field(
        default=None, description="The production model's answer (any label name)."
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="The production model's confidence."
    )
    metadata: dict[str, Any] | None = Field(default=None, description="Anything else (JSON).")


class TrafficBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Annotated[
        list[Annotated[Any, WithJsonSchema(TrafficMessageIn.model_json_schema())]],
        Field(min_length=1, max_length=MAX_BATCH),
    ]


class IngestReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    accepted: int = Field(description="Messages stored (new items + repeats).")
    duplicate: int = Field(description="Messages whose external_id was already ingested.")
    rejected: int = Field(description="Messages refused; each has an entry in errors.")
    new_items: int = Field(description="Texts not seen before: new items of the pool.")
    repeats: int = Field(description="Messages repeating a known text: its count went up.")
    errors: list[BatchErrorOut]


class DayCount(BaseModel):
    day: str = Field(description="A UTC calendar day, YYYY-MM-DD.")
    messages: int


class AskedTextOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: int = Field(description="The group's leader item (what the queue serves).")
    text: str
    count: int = Field(description="Messages sent with this text or a near-duplicate.")
    last_seen_at: UtcDateTime
    labeled: bool


class ConfusedPairOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    label: str = Field(description="What people labeled the messages.")
    predicted: str = Field(description="What the production bot answered.")
    messages: int


class LiveQualityOut(BaseModel):
    """The production bot's accuracy on the random audit of ingested messages."""

    audited_texts: int = Field(description="Audited traffic texts people have labeled.")
    audited_messages: int = Field(
        description="Their messages that carried the bot's prediction (the estimate's base)."
    )
    accuracy: float | None = Field(
        description="Share of those messages the bot answered right; null before the first."
    )
    ci95: tuple[float, float] | None = Field(
        description="Wilson 95% interval on the effective sample size (messages of one "
        "text count together)."
    )
    effective_n: float
    most_confused: list[ConfusedPairOut] = Field(
        description="(people's label, bot's answer) pairs over all labeled traffic, "
        "most messages first."
    )

    @classmethod
    def from_quality(cls, quality: LiveQuality) -> LiveQualityOut:
        return cls(
            audited_texts=quality.audited_texts,
            audited_messages=quality.audited_messages,
            accuracy=quality.accuracy,
            ci95=quality.ci95,
            effective_n=quality.effective_n,
            most_confused=[ConfusedPairOut.model_validate(p) for p in quality.confused],
        )


class TrafficSummaryOut(BaseModel):
    messages: int = Field(description="Production messages stored.")
    texts: int = Field(description="Distinct texts (after normalisation) among them.")
    repeat_share: float | None = Field(description="1 - texts / messages; null without traffic.")
    per_day: list[DayCount] = Field(description="Messages received per UTC day, last 30 days.")
    coverage: float | None = Field(
        description="Share of messages with a production confidence at least "
        "covered_confidence (among those that carried one); null when none did."
    )
    covered_confidence: float
    groups: int = Field(description="Near-duplicate groups formed so far.")
    ungrouped: int = Field(description="Texts the worker has not grouped yet (its backlog).")
    most_asked: list[AskedTextOut]
    live: LiveQualityOut

    @classmethod
    def from_summary(cls, summary: TrafficSummary, live: LiveQuality) -> TrafficSummaryOut:
        return cls(
            messages=summary.messages,
            texts=summary.texts,
            repeat_share=summary.repeat_share,
            per_day=[DayCount(day=d, messages=n) for d, n in summary.per_day],
            coverage=summary.coverage,
            covered_confidence=summary.covered_confidence,
            groups=summary.groups,
            ungrouped=summary.ungrouped,
            most_asked=[AskedTextOut.model_validate(a) for a in summary.most_asked],
            live=LiveQualityOut.from_quality(live),
        )
