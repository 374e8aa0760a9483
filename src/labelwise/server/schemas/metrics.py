"""The project dashboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.training import ModelVersionOut


class ProjectStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project_id: int
    name: str
    items: int
    labeled_items: int
    annotations: int
    skipped: int
    flagged: int
    model_version: int | None
    jobs: dict[str, int]


class MetricsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: ProjectStatusOut
    latest_model: ModelVersionOut | None
