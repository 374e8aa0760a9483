"""Model versions: which one is in production, comparing two on held-out items, export.

A project serves predictions from the version an admin promoted (``Project.
production_version_id``), never silently from the newest: a retrain may score worse on
the held-out items than the version it follows. :func:`compare` puts two versions'
held-out scores side by side, with the difference, for that decision.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.exceptions import MissingDependencyError, ModelFileError
from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.service.events import record
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import ModelVersion, Project
from labelwise.textmodel import TextModel, load_model

#: The held-out scores a version may carry (``ModelVersion.metrics``), in display order:
#: (held-out set, metric, value key, 95% interval key). Classification projects have the
#: accuracies, spans projects the span F1s, intents+entities projects both.
HELD_OUT = (
    ("eval", "accuracy", "eval_accuracy", "eval_ci95"),
    ("audit", "accuracy", "audit_accuracy", "audit_ci95"),
    ("eval", "span_f1", "eval_span_f1", "eval_span_f1_ci95"),
    ("audit", "span_f1", "audit_span_f1", "audit_span_f1_ci95"),
)


@dataclass(frozen=True)
class VersionSummary:
    """One model version as the API and the page list it."""

    id: int
    version: int
    label_count: int
    metrics: dict[str, Any]
    created_at: datetime
    #: The version predictions are served from.
    production: bool
    #: Its whole model was saved, so it can be promoted and serve predictions (versions
    #: published before models were saved whole cannot).
    servable: bool


@dataclass(frozen=True)
class Estimate:
    """A held-out score: its value, Wilson (accuracy) or bootstrap (span F1) 95% interval
    and the number of held-out items behind it."""

    value: float
    ci95: tuple[float, float] | None
    n: int | None


@dataclass(frozen=True)
class ScoreDifference:
    """One held-out score of both versions, and ``b - a``.

    ``difference_ci95`` combines the two intervals (Newcombe's method, which takes the
    estimates as independent: conservative when both are scored on the same items, as
    on the evaluation set); None unless both have an interval.
    """

    held_out: str
    metric: str
    a: Estimate | None
    b: Estimate | None
    difference: float | None
    difference_ci95: tuple[float, float] | None


@dataclass(frozen=True)
class Comparison:
    project_id: int
    a: VersionSummary
    b: VersionSummary
    scores: list[ScoreDifference]


def servable(version: ModelVersion) -> bool:
    """Whether the version's whole model is on disk (a TextModel folder)."""
    path = version.artifact_path
    return path is not None and (Path(path) / "model.json").is_file()


def summarize(version: ModelVersion, production_id: int | None) -> VersionSummary:
    """The version as listed, given the id of the project's production version."""
    created = version.created_at
    return VersionSummary(
        id=version.id,
        version=version.version,
        label_count=version.label_count,
        metrics=dict(version.metrics or {}),
        # SQLite hands back naive datetimes (stored as UTC).
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        production=version.id == production_id,
        servable=servable(version),
    )


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id, populate_existing=True)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def _version(session: Session, project_id: int, version: int) -> ModelVersion:
    row = session.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == project_id, ModelVersion.version == version
        )
    )
    if row is None:
        raise NotFoundError(f"Project {project_id} has no model version {version}.")
    return row


def list_versions(session: Session, *, project_id: int) -> list[VersionSummary]:
    """Every version, oldest first, each saying whether it is in production."""
    production_id = _project(session, project_id).production_version_id
    rows = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version)
    )
    summaries = [summarize(row, production_id) for row in rows]
    end_read(session)
    return summaries


def production_version(session: Session, *, project_id: int) -> VersionSummary | None:
    """The version in production, or None while none has been promoted."""
    production_id = _project(session, project_id).production_version_id
    row = None if production_id is None else session.get(ModelVersion, production_id)
    end_read(session)
    return None if row is None else summarize(row, production_id)


def serving_version(
    session: Session, *, project_id: int, version: int | None = None
) -> tuple[VersionSummary, str]:
    """The version a prediction uses (``version``, else the one in production) and the
    folder of its saved model.

    Raises
    ------
    NotFoundError
        No such project, or no such version.
    ConflictError
        No version named and none in production; or the version cannot serve.
    """
    project = _project(session, project_id)
    if version is not None:
        row = _version(session, project_id, version)
    elif project.production_version_id is not None:
        row = session.get_one(ModelVersion, project.production_version_id)
    else:
        end_read(session)
        raise ConflictError(
            f"Project {project_id} has no model version in production yet: a project admin "
            "promotes one (POST /api/projects/{id}/model-versions/{version}/promote, or the "
            "dashboard), or name a version in the request."
        )
    summary, path = summarize(row, project.production_version_id), row.artifact_path
    end_read(session)
    if not summary.servable or path is None:
        raise ConflictError(_legacy(summary.version))
    return summary, path


def _legacy(version: int) -> str:
    return (
        f"Model version {version} cannot serve predictions: it was published before whole "
        "models were saved (its file holds coefficients without the TF-IDF vocabulary they "
        "apply to). Retrain to publish a version that can."
    )


def unreadable(version: int, exc: ModelFileError | MissingDependencyError) -> ConflictError:
    """The conflict a version's model that cannot be read or run here becomes (no server paths)."""
    if isinstance(exc, ModelFileError):
        where = ", ".join(
            part
            for part in (
                None if exc.file is None else Path(exc.file).name,
                None if exc.field is None else f"field {exc.field!r}",
            )
            if part
        )
        reason = f"{where}: {exc.message}" if where else exc.message
    else:
        reason = str(exc)
    return ConflictError(f"Model version {version} cannot be used: {reason}.")


def promote(
    session: Session, *, project_id: int, version: int, user_id: int | None
) -> VersionSummary:
    """Serve predictions from ``version`` from now on (again is a no-op).

    The version's saved model is read first: one that cannot serve is refused
    (ConflictError) and the version in production stays.
    """
    _, path = serving_version(session, project_id=project_id, version=version)
    try:
        load_model(path)
    except (ModelFileError, MissingDependencyError) as exc:
        raise unreadable(version, exc) from None
    begin_write(session)
    project = _project(session, project_id)
    row = _version(session, project_id, version)
    previous = project.production_version_id
    if previous != row.id:
        old = None if previous is None else session.get(ModelVersion, previous)
        project.production_version_id = row.id
        record(
            session,
            "model_promoted",
            project_id=project_id,
            user_id=user_id,
            version=version,
            previous_version=None if old is None else old.version,
        )
    session.commit()
    return summarize(row, row.id)


def compare(session: Session, *, project_id: int, a: int, b: int) -> Comparison:
    """Versions ``a`` and ``b`` side by side on every held-out score either has."""
    production_id = _project(session, project_id).production_version_id
    first = summarize(_version(session, project_id, a), production_id)
    second = summarize(_version(session, project_id, b), production_id)
    end_read(session)
    scores = []
    for held_out, metric, key, interval in HELD_OUT:
        one = _estimate(first.metrics, key, interval, f"{held_out}_n")
        two = _estimate(second.metrics, key, interval, f"{held_out}_n")
        if one is None and two is None:
            continue
        difference = None if one is None or two is None else two.value - one.value
        scores.append(
            ScoreDifference(
                held_out=held_out,
                metric=metric,
                a=one,
                b=two,
                difference=difference,
                difference_ci95=_difference_interval(one, two),
            )
        )
    return Comparison(project_id=project_id, a=first, b=second, scores=scores)


def _estimate(metrics: dict[str, Any], key: str, interval: str, n: str) -> Estimate | None:
    value = metrics.get(key)
    if not isinstance(value, int | float) or math.isnan(value):
        return None
    ci = metrics.get(interval)
    return Estimate(
        value=float(value),
        ci95=(float(ci[0]), float(ci[1])) if isinstance(ci, list) and len(ci) == 2 else None,
        n=metrics.get(n),
    )


def _difference_interval(a: Estimate | None, b: Estimate | None) -> tuple[float, float] | None:
    """Newcombe's interval for ``b - a`` from the two 95% intervals (MOVER)."""
    if a is None or b is None or a.ci95 is None or b.ci95 is None:
        return None
    (low_a, high_a), (low_b, high_b) = a.ci95, b.ci95
    d = b.value - a.value
    return (
        d - math.hypot(b.value - low_b, high_a - a.value),
        d + math.hypot(high_b - b.value, a.value - low_a),
    )


def export_model(
    session: Session,
    *,
    project_id: int,
    directory: str | os.PathLike[str],
    version: int | None = None,
    overwrite: bool = False,
) -> VersionSummary:
    """Write a version's model to ``directory`` for use without the server.

    ``version`` defaults to the one in production, else the newest. The model is read
    and written again (:meth:`TextModel.save`), so the copy is checked whole.

    Raises
    ------
    ConflictError
        The project has no model version yet, the version cannot serve, or ``directory``
        already holds a model and ``overwrite`` is false.
    """
    project = _project(session, project_id)
    if version is None:
        chosen = project.production_version_id
        row = (
            session.get(ModelVersion, chosen)
            if chosen is not None
            else session.scalar(
                select(ModelVersion)
                .where(ModelVersion.project_id == project_id)
                .order_by(ModelVersion.version.desc())
                .limit(1)
            )
        )
        if row is None:
            end_read(session)
            raise ConflictError(
                f"Project {project_id} has no model version yet: a retrain publishes one "
                "once enough items are labeled."
            )
    else:
        row = _version(session, project_id, version)
    summary = summarize(row, project.production_version_id)
    end_read(session)
    if not summary.servable or row.artifact_path is None:
        raise ConflictError(_legacy(summary.version))
    try:
        model: TextModel = load_model(row.artifact_path)
        model.save(directory, overwrite=overwrite)
    except (ModelFileError, MissingDependencyError) as exc:
        raise unreadable(summary.version, exc) from None
    except FileExistsError as exc:
        raise ConflictError(str(exc)) from None
    return summary
