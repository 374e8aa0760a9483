"""The stream budget: which production traffic enters the review queue, and when.

With a ``label_budget`` (labels per ``budget_period``), the worker scores traffic after
grouping it (:func:`score_and_admit`): each group leader not labeled or admitted yet
gets its expected impact (the current model's margin x log of the group's traffic count
x novelty against the labeled and admitted items: :func:`labelwise.stream.impact`), and
the project's :class:`labelwise.stream.BudgetManager` admits the ones above its adaptive
threshold. Admitted items are served by the ``stream`` queue source; un-admitted traffic
is not served from the ranked queue or the random pool, so the traffic labeled per
period never exceeds the budget (the audit sample is still served: it measures the
model, it is not spent on improving it). A repeat that raised a group's count offers
the leader again at its new count.

The manager's state lives in ``stream_budgets`` and is read, advanced and written under
the project's row lock, so two scoring passes never admit one item twice nor spend one
budget twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from labelwise.exceptions import MissingDependencyError, ModelFileError
from labelwise.service.events import record
from labelwise.service.predictions import MODELS, ModelCache
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.traffic_groups import group_counts
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    ModelVersion,
    Project,
    QueryRound,
    StreamBudget,
    StreamScore,
    TrafficStat,
)
from labelwise.stream import BudgetManager, BudgetState, impact, max_cosine

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def manager_for(settings: ProjectSettings) -> BudgetManager | None:
    """The project's budget manager; None when it has no budget."""
    if settings.label_budget <= 0:
        return None
    return BudgetManager(budget=settings.label_budget, period=settings.budget_period)


def _labeled() -> Any:
    return exists().where(
        Annotation.item_id == Item.id,
        Annotation.kind == AnnotationKind.LABEL,
        Annotation.undone_at.is_(None),
    )


def _admitted() -> Any:
    return exists().where(StreamScore.item_id == Item.id, StreamScore.admitted_at.is_not(None))


def _offers(session: Session, project_id: int) -> list[tuple[int, str, datetime, int]]:
    """Group leaders that may be admitted and whose count changed since they were scored:
    ``(item id, text, last seen, group count)``, oldest first."""
    rows = session.execute(
        select(Item.id, Item.text, TrafficStat.last_seen_at)
        .join(TrafficStat, TrafficStat.item_id == Item.id)
        .where(
            TrafficStat.project_id == project_id,
            TrafficStat.group_item_id == Item.id,
            Item.is_evaluation.is_(False),
            Item.is_audit.is_(False),
            ~_labeled(),
            ~_admitted(),
        )
        .order_by(TrafficStat.last_seen_at, Item.position)
    ).all()
    if not rows:
        return []
    counts = group_counts(session, project_id=project_id, item_ids=[r[0] for r in rows])
    scored = dict(
        session.execute(
            select(StreamScore.item_id, StreamScore.scored_count).where(
                StreamScore.project_id == project_id
            )
        ).all()
    )
    return [
        (int(i), str(text), _aware(seen), counts.get(i, 1))
        for i, text, seen in rows
        if scored.get(i) is None or counts.get(i, 1) > scored[i]
    ]


def _reference_texts(session: Session, project_id: int) -> list[str]:
    """Texts of the labeled and admitted items: what novelty is measured against."""
    return list(
        session.scalars(
            select(Item.text).where(Item.project_id == project_id, _labeled() | _admitted())
        )
    )


def _model_path(session: Session, project: Project) -> str | None:
    """The saved model of the version that ranks the queue now (None: no model yet)."""
    if project.current_round_id is None:
        return None
    return session.scalar(
        select(ModelVersion.artifact_path)
        .join(QueryRound, QueryRound.model_version_id == ModelVersion.id)
        .where(QueryRound.id == project.current_round_id)
    )


def _proba(path: str | None, texts: list[str], cache: ModelCache) -> Any:
    if path is None:
        return None
    try:
        model = cache.get(path)
        return None if model.classifier is None else model.predict_proba(texts)
    except (ModelFileError, MissingDependencyError):
        log.warning("stream budget: model %s cannot score; uncertainty taken as 1", path)
        return None


def score_and_admit(
    session: Session,
    *,
    project_id: int,
    embed: Callable[[list[str]], Any],
    now: datetime | None = None,
    cache: ModelCache | None = None,
) -> dict[str, Any]:
    """Score the project's new or repeated traffic and admit what the budget allows
    (commits). Returns the pass's progress: offered, admitted, threshold.

    ``embed`` maps texts to feature rows (the grouping's sentence embeddings).
    """
    now = now or _now()
    project = session.get_one(Project, project_id)
    settings = ProjectSettings.model_validate(project.settings)
    manager = manager_for(settings)
    if manager is None:
        end_read(session)
        return {"offered": 0, "admitted": 0}
    offers = _offers(session, project_id)
    if not offers:
        end_read(session)
        return {"offered": 0, "admitted": 0}
    reference = _reference_texts(session, project_id)
    path = _model_path(session, project)
    end_read(session)

    # The model and the embedder run holding no database transaction.
    texts = [text for _, text, _, _ in offers]
    vectors = embed(texts + reference)
    if hasattr(vectors, "toarray"):  # TF-IDF rows when the embeddings extra is missing
        vectors = vectors.toarray()
    vectors = np.asarray(vectors, dtype=np.float64)
    near = max_cosine(vectors[: len(texts)], vectors[len(texts) :])
    counts = np.array([count for *_, count in offers], dtype=np.int64)
    scores = impact(
        _proba(path, texts, cache or MODELS),
        counts,
        near,
        duplicate_cosine=settings.near_duplicate_cosine,
    )

    begin_write(session)
    project = session.get_one(Project, project_id, with_for_update=True, populate_existing=True)
    # Read again under the lock: another pass may have admitted some of these meanwhile.
    taken = set(
        session.scalars(
            select(StreamScore.item_id).where(
                StreamScore.project_id == project_id, StreamScore.admitted_at.is_not(None)
            )
        )
    )
    keep = [k for k, (item_id, *_) in enumerate(offers) if item_id not in taken]
    row = session.get(StreamBudget, project_id, populate_existing=True)
    stored = {} if row is None else dict(row.state)
    state = (
        BudgetState.from_dict(stored["manager"])
        if stored.get("period") == settings.budget_period and "manager" in stored
        else manager.start()
    )
    floor = state.period_start if state.period_start is not None else float("-inf")
    # Offers in arrival order, never before the period the state is in, never after now.
    times = np.array([max(min(offers[k][2].timestamp(), now.timestamp()), floor) for k in keep])
    times = np.maximum.accumulate(times) if times.size else times
    admitted, state = manager.admit(state, scores[keep], times)
    existing = {
        s.item_id: s
        for s in session.scalars(
            select(StreamScore).where(StreamScore.item_id.in_([offers[k][0] for k in keep]))
        )
    }
    for k, admit in zip(keep, admitted.tolist(), strict=True):
        item_id, _, _, count = offers[k]
        score = existing.get(item_id)
        if score is None:
            score = StreamScore(item_id=item_id, project_id=project_id)
            session.add(score)
        score.impact = float(scores[k])
        score.scored_count = int(count)
        score.scored_at = now
        if admit:
            score.admitted_at = now
    if row is None:
        row = StreamBudget(project_id=project_id)
        session.add(row)
    row.state = {"period": settings.budget_period, "manager": state.to_dict()}
    row.updated_at = now
    n_admitted = int(admitted.sum())
    record(
        session,
        "stream_admitted",
        project_id=project_id,
        offered=len(keep),
        admitted=n_admitted,
        threshold=round(state.threshold, 6),
    )
    session.commit()
    return {"offered": len(keep), "admitted": n_admitted, "threshold": state.threshold}


@dataclass(frozen=True)
class StreamBudgetPanel:
    """The dashboard's stream budget panel: admissions in the current period against the
    budget, the admission threshold, and admitted items still waiting for a label."""

    budget: int
    period: str
    admitted: int
    threshold: float | None
    waiting: int


def budget_panel(
    session: Session, *, project: Project, now: datetime | None = None
) -> StreamBudgetPanel | None:
    """The panel's numbers (None when the project has no budget); reads only."""
    settings = ProjectSettings.model_validate(project.settings)
    manager = manager_for(settings)
    if manager is None:
        return None
    now = now or _now()
    start = datetime.fromtimestamp(manager.period_of(now.timestamp()), UTC)
    admitted = session.scalar(
        select(func.count()).where(
            StreamScore.project_id == project.id, StreamScore.admitted_at >= start
        )
    )
    waiting = session.scalar(
        select(func.count()).where(Item.project_id == project.id, _admitted(), ~_labeled())
    )
    row = session.get(StreamBudget, project.id)
    manager_state = (row.state or {}).get("manager") if row is not None else None
    return StreamBudgetPanel(
        budget=settings.label_budget,
        period=settings.budget_period,
        admitted=int(admitted or 0),
        threshold=None if manager_state is None else float(manager_state.get("threshold", 0.0)),
        waiting=int(waiting or 0),
    )
