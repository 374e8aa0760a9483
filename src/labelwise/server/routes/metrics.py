"""The project dashboard: progress and the latest model's metrics."""

from __future__ import annotations

from fastapi import APIRouter

from labelwise.server.deps import ProjectMember, SessionDep
from labelwise.server.schemas.metrics import MetricsOut
from labelwise.service import metrics

router = APIRouter(prefix="/projects/{project_id}", tags=["metrics"])


@router.get("/metrics", response_model=MetricsOut)
def read_metrics(session: SessionDep, access: ProjectMember) -> MetricsOut:
    return MetricsOut.model_validate(metrics.project_metrics(session, project_id=access.project_id))
