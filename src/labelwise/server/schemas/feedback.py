"""User feedback: reports in (a batch, each checked alone), the triage list, reviews, funnel.

As with traffic, a report is checked by the service one at a time, so one bad report
never refuses the batch: the body's ``reports`` are plain JSON values here, and
:class:`FeedbackReportIn` documents the shape the service enforces.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from labelwise.server.schemas.annotations import LabelValue
from labelwise.server.schemas.common import BatchErrorOut, UtcDateTime
from labelwise.service.feedback import MAX_BATCH, FeedbackFunnel, ReportView
from labelwise.store import FeedbackStatus


class FeedbackReportIn(BaseModel):
    """One report (documentation of the shape the service checks)."""

    model_config = ConfigDict(extra="forbid")

    external_id: str | int | None = Field(
        default=None,
        description="The external id the message was ingested under (POST .../traffic). "
        "An id never ingested refuses the report, naming this field.",
    )
    text: str | None = Field(
        default=None,
        description="The message's text, when it has no external id: it links the item "
        "with that text, or enters as traffic.",
    )
    prediction: str | list[str] | None = Field(
        default=None,
        description="What production answered (taken from the ingested message if it has one).",
    )
    meant_label: str | None = Field(
        default=None, description='"What I meant": a label of the project, or null.'
    )
    comment: str | None = Field(default=None, max_length=2000)
    channel: str | None = Field(default=None, description="Where the report came from.")
    timestamp: str | float | None = Field(
        default=None, description="When it was reported: ISO 8601 or Unix seconds."
    )
    report_key: str | int | None = Field(
        default=None,
        description="Your own key for this report: a report whose key is already stored "
        "is a duplicate and is not stored again, so a batch can be resent safely.",
    )


class FeedbackBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: Annotated[
        list[Annotated[Any, WithJsonSchema(FeedbackReportIn.model_json_schema())]],
        Field(min_length=1, max_length=MAX_BATCH),
    ]


class FeedbackReceiptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    accepted: int = Field(description="Reports stored.")
    rejected: int = Field(description="Reports refused; each has an entry in errors.")
    duplicates: int = Field(
        description="Reports whose report_key was already stored (or came earlier in the "
        "batch): not stored again."
    )
    ids: list[int] = Field(
        description="The stored reports' ids, in batch order; a duplicate's is the id of "
        "the report stored under its key."
    )
    errors: list[BatchErrorOut]


class FeedbackReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    text: str
    external_id: str | None = Field(description="The linked traffic message's external id.")
    predicted: Any = Field(description="What production answered.")
    meant_label: str | None
    comment: str
    channel: str
    reported_at: UtcDateTime
    status: FeedbackStatus
    model_version: int | None = Field(description="The version model_label/margin come from.")
    model_label: str | None
    model_margin: float | None
    density: float = Field(description="Traffic count of the message's near-duplicate group.")
    p_true: float | None = Field(description="P(report true), open reports only.")
    impact: float | None = Field(description="Expected model impact of reviewing it.")
    reviewer: str | None
    reviewed_at: UtcDateTime | None
    confirmed_label: str | None

    @classmethod
    def from_view(cls, view: ReportView) -> FeedbackReportOut:
        return cls.model_validate(view)


class FeedbackPageOut(BaseModel):
    total: int = Field(description="Reports with this status in all.")
    reports: list[FeedbackReportOut]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: LabelValue = Field(description="The right label for the message.")


class ChannelOut(BaseModel):
    channel: str
    confirmed: int
    rejected: int
    reliability: float = Field(description="Posterior mean P(a report from it is true).")


class FeedbackFunnelOut(BaseModel):
    reported: int
    open: int
    confirmed: int
    rejected: int
    fixed: int = Field(
        description="Confirmed reports whose label was in the released model's training."
    )
    released_version: int | None = Field(
        description="The production version, else the latest version (null: none)."
    )
    released_is_production: bool
    channels: list[ChannelOut]

    @classmethod
    def from_funnel(cls, funnel: FeedbackFunnel) -> FeedbackFunnelOut:
        return cls(
            reported=funnel.reported,
            open=funnel.open,
            confirmed=funnel.confirmed,
            rejected=funnel.rejected,
            fixed=funnel.fixed,
            released_version=funnel.released_version,
            released_is_production=funnel.released_is_production,
            channels=[
                ChannelOut(channel=c, confirmed=y, rejected=n, reliability=r)
                for c, (y, n, r) in funnel.channels.items()
            ],
        )
