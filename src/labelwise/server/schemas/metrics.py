"""The project dashboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.training import ModelVersionOut
from labelwise.service.projects import ProjectStatus


class MetricsOut(BaseModel):
    """Progress counts (the service's ``ProjectStatus`` as is) and the latest model."""

    model_config = ConfigDict(from_attributes=True)

    status: ProjectStatus
    latest_model: ModelVersionOut | None
