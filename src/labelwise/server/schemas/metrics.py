"""The project dashboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.training import ModelVersionOut
from labelwise.service.projects import ProjectStatus


class AgreementOut(BaseModel):
    """Pairwise agreement and Fleiss' kappa over items labeled by two or more people."""

    model_config = ConfigDict(from_attributes=True)

    items: int
    pairwise: float
    fleiss_kappa: float | None


class MetricsOut(BaseModel):
    """Progress counts (the service's ``ProjectStatus`` as is) and the latest model."""

    model_config = ConfigDict(from_attributes=True)

    status: ProjectStatus
    latest_model: ModelVersionOut | None
    agreement: AgreementOut | None = None
