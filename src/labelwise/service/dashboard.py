"""Everything the "is active learning helping?" dashboard shows, for one project.

Progress, sampling bias (labels per class against the pool's predicted classes; for
span tasks also entities per type against the tagger's predictions on a pool sample),
throughput per annotator, the learning curve on the random audit sample (the honest
number: actively chosen items are not representative), pool uncertainty per model
version, which stopping signals have fired, recent retrain jobs, and the labels active
learning saved with the signs that it is going wrong (``learning_health``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.service.learning_health import (
    ActiveLearningSignals,
    active_learning_signals,
    latest_labels_saved,
    live_decisions,
)
from labelwise.service.projects import ProjectStatus, project_status
from labelwise.service.relabel import RelabelSummary, relabel_summary
from labelwise.service.stream_budget import StreamBudgetPanel, budget_panel
from labelwise.service.traffic_groups import GROUP_KIND
from labelwise.service.transactions import end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Job,
    ModelVersion,
    Project,
    QueueEntry,
    User,
)

#: Library defaults (labelwise.stopping): kappa 0.99 over 3 versions, 0.5% of the stop
#: set changing class, mean uncertainty (1 - max p) below 0.1.
STABLE_KAPPA, STABLE_WINDOW = 0.99, 3
MAX_CHANGED = 0.005
MAX_UNCERTAINTY = 0.1


@dataclass(frozen=True)
class AnnotatorActivity:
    username: str
    labels: int
    skips: int
    flags: int
    labels_last_hour: int
    median_seconds: float | None


@dataclass(frozen=True)
class VersionPoint:
    """One model version on the learning curve.

    ``audit_*`` is accuracy on the random audit sample, ``eval_*`` on the held-out
    evaluation set imported with gold labels; each is None where the project has none.
    """

    version: int
    label_count: int
    created_at: datetime
    audit_accuracy: float | None
    audit_ci95: list[float] | None
    audit_n: int | None
    eval_accuracy: float | None
    eval_ci95: list[float] | None
    eval_n: int | None
    mean_confidence: float | None
    stop_kappa: float | None
    stop_changed: float | None
    margin_histogram: list[int] | None
    #: Span tasks: strict span F1 with a bootstrap 95% interval (sentences resampled),
    #: and how much was labeled (sentences, tokens).
    eval_span_f1: float | None = None
    eval_span_f1_ci95: list[float] | None = None
    audit_span_f1: float | None = None
    audit_span_f1_ci95: list[float] | None = None
    labeled_sentences: int | None = None
    labeled_tokens: int | None = None


@dataclass(frozen=True)
class StoppingSignal:
    name: str
    fired: bool
    value: float | None
    threshold: float
    meaning: str


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's numbers.

    ``labels_per_class`` / ``pool_predicted`` count classes (intents for
    intents+entities; entity types for spans). ``entities_labeled`` counts human-labeled
    entities per type and ``entities_predicted`` the latest tagger's entities per type on
    a random sample of ``entities_sample`` unlabeled sentences (span tasks only, else
    empty / None).
    """

    status: ProjectStatus
    queued: int
    labels_per_class: dict[str, int]
    pool_predicted: dict[str, int]
    annotators: list[AnnotatorActivity]
    versions: list[VersionPoint]
    stopping: list[StoppingSignal]
    jobs: list[Job]
    task: str = "single_label"
    entities_labeled: dict[str, int] = field(default_factory=dict)
    entities_predicted: dict[str, int] = field(default_factory=dict)
    entities_sample: int | None = None
    #: The relabel queue: open / kept / changed suspects and per-annotator error rates.
    relabel: RelabelSummary | None = None
    #: With a label budget: admissions this period against it, and the threshold.
    stream_budget: StreamBudgetPanel | None = None
    #: The newest version's estimate of the random labels its score would take (None
    #: before a version has one: span tasks, or no classification model yet).
    labels_saved: RandomLabelsEstimate | None = None
    #: Skips, flags and new classes on chosen against audit items, class-mix drift.
    signals: ActiveLearningSignals = field(default_factory=ActiveLearningSignals)


def project_dashboard(
    session: Session, *, project_id: int, now: datetime | None = None
) -> Dashboard:
    """The dashboard's numbers; one read, ended before returning."""
    now = now or datetime.now(UTC)
    status = project_status(session, project_id=project_id)
    project = session.get_one(Project, project_id)
    live = (Annotation.project_id == project_id) & Annotation.undone_at.is_(None)
    # One read of the live annotations serves the class counts and the failure signals.
    # Counted here, not with GROUP BY: PostgreSQL's json type has no equality operator.
    decisions = live_decisions(session, project_id=project_id)
    labels_per_class: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    for value in (d.value for d in decisions if d.kind is AnnotationKind.LABEL):
        if isinstance(value, dict):  # span tasks: {"spans": [...]} (+ "intent")
            entities.update(str(span["label"]) for span in value.get("spans", []))
            if "intent" in value:
                labels_per_class[str(value["intent"])] += 1
        else:
            labels_per_class.update(
                str(name) for name in (value if isinstance(value, list) else [value])
            )
    versions = list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.version)
        )
    )
    points = [_point(v) for v in versions]
    latest = versions[-1].metrics if versions else {}
    spans_only = str(project.task) == "spans"
    entities_labeled = dict(entities.most_common())
    entities_predicted = dict(latest.get("pool_predicted_entities", {}))
    dashboard = Dashboard(
        status=status,
        queued=_queued(session, project),
        # A spans project's classes are its entity types.
        labels_per_class=entities_labeled if spans_only else dict(labels_per_class.most_common()),
        pool_predicted=entities_predicted if spans_only else dict(latest.get("pool_predicted", {})),
        annotators=_annotators(session, live, now),
        versions=points,
        stopping=stopping_signals(points),
        jobs=list(
            session.scalars(
                # Traffic grouping runs after every ingest burst: it would crowd out the
                # retrains and imports here (the traffic panel shows its backlog).
                select(Job)
                .where(Job.project_id == project_id, Job.kind != GROUP_KIND)
                .order_by(Job.id.desc())
                .limit(20)
            )
        ),
        task=str(project.task),
        entities_labeled=entities_labeled,
        entities_predicted=entities_predicted,
        entities_sample=latest.get("pool_predicted_sample"),
        relabel=relabel_summary(session, project_id=project_id),
        stream_budget=budget_panel(session, project=project, now=now),
        labels_saved=latest_labels_saved(versions),
        signals=active_learning_signals(
            session, project_id=project_id, versions=versions, decisions=decisions
        ),
    )
    end_read(session)
    return dashboard


def _queued(session: Session, project: Project) -> int:
    """Entries of the serving round whose item nobody has decided yet."""
    if project.current_round_id is None:
        return 0
    decided = select(Annotation.item_id).where(
        Annotation.project_id == project.id, Annotation.undone_at.is_(None)
    )
    return (
        session.scalar(
            select(func.count()).where(
                QueueEntry.round_id == project.current_round_id,
                QueueEntry.item_id.not_in(decided),
            )
        )
        or 0
    )


def _annotators(session: Session, live: Any, now: datetime) -> list[AnnotatorActivity]:
    rows = session.execute(
        select(User.username, Annotation.kind, Annotation.created_at, Annotation.seconds_spent)
        .join(User, User.id == Annotation.annotator_id)
        .where(live)
    ).all()
    by_user: dict[str, list[tuple[AnnotationKind, datetime, float | None]]] = {}
    for username, kind, created, seconds in rows:
        by_user.setdefault(username, []).append((kind, created, seconds))
    hour_ago = now - timedelta(hours=1)
    out = []
    for username, decisions in sorted(by_user.items()):
        labels = [d for d in decisions if d[0] is AnnotationKind.LABEL]
        spent = [d[2] for d in labels if d[2] is not None]
        out.append(
            AnnotatorActivity(
                username=username,
                labels=len(labels),
                skips=sum(d[0] is AnnotationKind.SKIP for d in decisions),
                flags=sum(d[0] is AnnotationKind.FLAG for d in decisions),
                labels_last_hour=sum(_aware(d[1]) >= hour_ago for d in labels),
                median_seconds=median(spent) if spent else None,
            )
        )
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _point(version: ModelVersion) -> VersionPoint:
    m = version.metrics
    return VersionPoint(
        version=version.version,
        label_count=version.label_count,
        created_at=_aware(version.created_at),
        audit_accuracy=m.get("audit_accuracy"),
        audit_ci95=m.get("audit_ci95"),
        audit_n=m.get("audit_n"),
        eval_accuracy=m.get("eval_accuracy"),
        eval_ci95=m.get("eval_ci95"),
        eval_n=m.get("eval_n"),
        mean_confidence=m.get("mean_confidence"),
        stop_kappa=m.get("stop_kappa"),
        stop_changed=m.get("stop_changed"),
        margin_histogram=m.get("margin_histogram"),
        eval_span_f1=m.get("eval_span_f1"),
        eval_span_f1_ci95=m.get("eval_span_f1_ci95"),
        audit_span_f1=m.get("audit_span_f1"),
        audit_span_f1_ci95=m.get("audit_span_f1_ci95"),
        labeled_sentences=m.get("labeled_sentences"),
        labeled_tokens=m.get("labeled_tokens"),
    )


def stopping_signals(points: list[VersionPoint]) -> list[StoppingSignal]:
    """Which of the library's model-based stopping criteria the version history meets."""
    kappas = [p.stop_kappa for p in points if p.stop_kappa is not None]
    window = kappas[-STABLE_WINDOW:]
    mean_kappa = sum(window) / len(window) if len(window) == STABLE_WINDOW else None
    latest = points[-1] if points else None
    changed = None if latest is None else latest.stop_changed
    confidence = None if latest is None else latest.mean_confidence
    uncertainty = None if confidence is None else 1.0 - confidence
    return [
        StoppingSignal(
            name="stabilizing predictions",
            fired=mean_kappa is not None and mean_kappa >= STABLE_KAPPA,
            value=mean_kappa,
            threshold=STABLE_KAPPA,
            meaning=f"mean Cohen's kappa between successive models on a fixed stop set, last {STABLE_WINDOW} versions",
        ),
        StoppingSignal(
            name="classification change",
            fired=changed is not None and changed <= MAX_CHANGED,
            value=changed,
            threshold=MAX_CHANGED,
            meaning="share of the stop set whose predicted class changed since the previous version",
        ),
        StoppingSignal(
            name="overall uncertainty",
            fired=uncertainty is not None and uncertainty < MAX_UNCERTAINTY,
            value=uncertainty,
            threshold=MAX_UNCERTAINTY,
            meaning="mean 1 - max probability over the unlabeled pool",
        ),
    ]
