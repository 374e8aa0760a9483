"""The project dashboard: progress counts and the latest model's metrics."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.service.projects import ProjectStatus, project_status
from labelwise.store import ModelVersion


@dataclass(frozen=True)
class ProjectMetrics:
    """``status`` counts; ``latest_model`` is None until a first model is trained."""

    status: ProjectStatus
    latest_model: ModelVersion | None


def project_metrics(session: Session, *, project_id: int) -> ProjectMetrics:
    status = project_status(session, project_id=project_id)
    latest = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    return ProjectMetrics(status=status, latest_model=latest)
