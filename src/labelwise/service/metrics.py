"""The project dashboard: progress counts and the latest model's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.evaluation import Agreement
from labelwise.service.model_versions import VersionSummary, summarize
from labelwise.service.projects import ProjectStatus, project_status, task_of
from labelwise.service.transactions import end_read
from labelwise.store import Annotation, AnnotationKind, ModelVersion, Project


@dataclass(frozen=True)
class ProjectMetrics:
    """``status`` counts; ``latest_model`` is None until a first model is trained."""

    status: ProjectStatus
    latest_model: VersionSummary | None
    agreement: Agreement | None = None


def project_metrics(session: Session, *, project_id: int) -> ProjectMetrics:
    status = project_status(session, project_id=project_id)
    latest = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    project = session.get(Project, project_id)
    summary = None
    if latest is not None and project is not None:
        summary = summarize(latest, project.production_version_id)
    agreement = _agreement(session, project_id)
    end_read(session)
    return ProjectMetrics(status=status, latest_model=summary, agreement=agreement)


def _agreement(session: Session, project_id: int) -> Agreement | None:
    """Agreement among the people who labeled the same items (overlap > 1), by the task's
    measure (None for tasks without one)."""
    project = session.get(Project, project_id)
    if project is None:
        return None
    task = task_of(project)
    rows = session.execute(
        select(Annotation.item_id, Annotation.value).where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
            Annotation.annotator_id.is_not(None),
        )
    ).all()
    by_item: dict[int, list[Any]] = {}
    for item_id, value in rows:
        by_item.setdefault(item_id, []).append(value)
    return task.agreement(list(by_item.values()))
