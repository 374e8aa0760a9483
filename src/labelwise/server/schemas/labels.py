"""A project's labels, a page at a time."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime


class LabelOut(BaseModel):
    """One live label annotation with its item and provenance."""

    model_config = ConfigDict(from_attributes=True)

    annotation_id: int
    item_id: int
    position: int
    text: str
    label: str | list[str]
    source: str
    annotator: str | None
    created_at: UtcDateTime
    seconds_spent: float | None
    model_version: int | None
    strategy: str | None
    #: The learner and features of the model version whose ranking served the item.
    chosen_by: str | None = None
    query_score: float | None
    meta: dict[str, Any]


class LabelsPage(BaseModel):
    offset: int
    limit: int
    items: list[LabelOut]
