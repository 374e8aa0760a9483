"""Retrain jobs and the model versions they publish."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime
from labelwise.store import JobStatus


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    trigger: str
    status: JobStatus
    error: str | None
    label_count: int | None
    model_version_id: int | None
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    label_count: int
    metrics: dict[str, Any]
    created_at: UtcDateTime
