"""The relabel queue's suspects, as an admin lists them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime


class SuspectOut(BaseModel):
    """An open suspected label error: the label given, who gave it, what the model
    suggests instead and how suspect it is (1 - the out-of-fold probability of the given
    label; rank 0 is the most suspect)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rank: int
    item_id: int
    text: str
    given_label: Any
    suggested_label: Any
    score: float
    annotator_id: int | None
    annotator: str | None
    job_id: int | None
    created_at: UtcDateTime
