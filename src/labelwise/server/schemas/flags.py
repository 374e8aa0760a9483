"""Flag review: the flags of a project, and how a reviewer resolves one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from labelwise.server.schemas.annotations import LabelValue
from labelwise.server.schemas.common import UtcDateTime
from labelwise.service.flags import FlagResolution, FlagReview


class FlagOut(BaseModel):
    id: int = Field(description="The flag's annotation id.")
    item_id: int
    item_text: str
    flagged_by: str | None = Field(description="The flagger's username.")
    comment: str = Field(description="The flagger's reason and comment.")
    created_at: UtcDateTime
    resolution: FlagResolution | None = Field(description="None while the flag is open.")
    resolved_at: UtcDateTime | None
    resolved_by: str | None
    label: Any = Field(default=None, description="The label given, for a 'label' resolution.")

    @classmethod
    def from_review(cls, review: FlagReview) -> FlagOut:
        return cls(
            id=review.id,
            item_id=review.item_id,
            item_text=review.item_text,
            flagged_by=review.flagged_by,
            comment=review.comment,
            created_at=review.created_at,
            resolution=review.resolution,
            resolved_at=review.resolved_at,
            resolved_by=review.resolved_by,
            label=review.label,
        )


class FlagResolveIn(BaseModel):
    resolution: FlagResolution = Field(
        description=(
            "label: give the item a label (yours); out_of_scope: the item does not belong "
            "to the project, it is never served or trained on again; requeue: withdraw the "
            "flag, the item is served again."
        )
    )
    label: LabelValue | None = Field(
        default=None,
        description="The label to give, shaped as an annotation's value (a list for "
        "multi-label, spans for span projects); only with 'label'.",
    )
