"""The relabel queue: human labels suspected wrong, reviewed by a second annotator.

After every ``relabel_every`` new human labels the worker runs a relabel job: it reads
the project's human labels (the labels a retrain trains on), computes out-of-fold
probabilities with the project's learner and ranks suspected errors with cleanlab
(:func:`labelwise.evaluation.label_issues.find_label_issues`, the function the
``label_errors`` simulation measures), and replaces the project's *open* suspects with
the new ranking. Reviewed suspects stay as history and are not asked again.

Serving offers the top open suspect (source ``relabel``, at the project's
``relabel_share``) to an annotator who did not give the suspected label and has not
decided the item, through the ordinary lease. The label they submit resolves it:
``kept`` when it is the given label, ``changed`` otherwise. A change supersedes the
suspected annotation (``undone_at`` stamped, ``resolution = "relabeled"``,
``resolved_by_id`` = the reviewer): every query that reads live labels (the training
snapshot, exports, agreement, counts) then sees the reviewer's label in its place, while
the original row and the suspect row keep who said what, when.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sqlalchemy import case, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from labelwise._typing import IndexArray
from labelwise.data import LabelSource
from labelwise.evaluation.intervals import wilson_interval
from labelwise.evaluation.label_issues import find_label_issues, find_multilabel_issues
from labelwise.learners import ProbabilisticClassifier
from labelwise.service.errors import NotFoundError
from labelwise.service.events import record
from labelwise.service.explain import RELABEL as RELABEL  # what a relabel lease records
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.projects import task_of
from labelwise.service.snapshot import trainable_labels
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    Job,
    JobStatus,
    Lease,
    Project,
    RelabelSuspect,
    TaskType,
    User,
)
from labelwise.store.queries import out_of_scope

#: ``Job.kind`` of a relabel job.
RELABEL_KIND = "relabel"
#: Suspect statuses.
OPEN, KEPT, CHANGED = "open", "kept", "changed"
#: What a superseded annotation's ``resolution`` says.
RELABELED = "relabeled"
#: Open suspects kept per project: more than a team reviews between two jobs.
MAX_SUSPECTS = 1000
#: Tasks whose labels are class names: one each (cleanlab's multi-class setting) or a set
#: each (its multi-label setting).
RELABEL_TASKS = frozenset({TaskType.SINGLE_LABEL.value, TaskType.MULTI_LABEL.value})


def _now() -> datetime:
    return datetime.now(UTC)


def _human_label_count(session: Session, project_id: int) -> int:
    counted = (
        trainable_labels(project_id)
        .where(Annotation.source == LabelSource.HUMAN)
        .order_by(None)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(counted)) or 0


def enqueue_relabel_if_due(session: Session, *, project: Project, trigger: str) -> Job | None:
    """Queue a relabel job when ``relabel_every`` new human labels (live, on any item)
    arrived since the last one.

    Runs in the caller's write transaction (which holds the project's lock); at most one
    relabel job waits per project. ``relabel_every = 0`` turns the queue off.
    """
    settings = ProjectSettings.model_validate(project.settings)
    if settings.relabel_every == 0 or str(project.task) not in RELABEL_TASKS:
        return None
    session.flush()
    waiting = session.scalar(
        select(Job).where(
            Job.project_id == project.id,
            Job.kind == RELABEL_KIND,
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        )
    )
    if waiting is not None:
        return waiting if waiting.status is JobStatus.QUEUED else None
    # New human labels since the last relabel job: counted over the (project, created_at)
    # index, so a submit never scans the project's whole history.
    since = session.scalar(
        select(func.max(Job.created_at)).where(
            Job.project_id == project.id, Job.kind == RELABEL_KIND
        )
    )
    fresh = select(func.count()).where(
        Annotation.project_id == project.id,
        Annotation.kind == AnnotationKind.LABEL,
        Annotation.source == LabelSource.HUMAN,
        Annotation.undone_at.is_(None),
    )
    if since is not None:
        fresh = fresh.where(Annotation.created_at > since)
    if (session.scalar(fresh) or 0) < settings.relabel_every:
        return None
    count = _human_label_count(session, project.id)
    job = Job(project_id=project.id, kind=RELABEL_KIND, trigger=trigger, label_count=count)
    session.add(job)
    session.flush()
    record(session, "relabel_queued", project_id=project.id, job_id=job.id, trigger=trigger)
    return job


@dataclass(frozen=True)
class HumanLabels:
    """One label per item (annotators merged by the task's consensus), with the
    annotation that gave it: what the relabel job judges."""

    positions: list[int]
    item_ids: list[int]
    values: list[Any]
    annotation_ids: list[int]
    annotator_ids: list[int | None]


def human_labels(session: Session, *, project_id: int) -> HumanLabels:
    """The project's live human labels on trainable items, one per item."""
    project = session.get_one(Project, project_id)
    task = task_of(project)
    rows = session.execute(
        trainable_labels(project_id)
        .add_columns(Annotation.id, Annotation.item_id, Annotation.annotator_id)
        .where(Annotation.source == LabelSource.HUMAN)
    ).all()
    by_item: dict[int, list[tuple[int, int, Any, int, int | None]]] = {}
    for position, value, _, annotation_id, item_id, annotator_id in rows:
        by_item.setdefault(item_id, []).append(
            (position, item_id, value, annotation_id, annotator_id)
        )
    out = HumanLabels([], [], [], [], [])
    for item_id in sorted(by_item, key=lambda i: by_item[i][0][0]):
        votes = by_item[item_id]
        value = task.consensus([v[2] for v in votes])
        # The suspected annotation: the latest that gave the merged label.
        chosen = next(v for v in reversed(votes) if v[2] == value)
        out.positions.append(chosen[0])
        out.item_ids.append(item_id)
        out.values.append(value)
        out.annotation_ids.append(chosen[3])
        out.annotator_ids.append(chosen[4])
    return out


def run_relabel(
    session: Session,
    *,
    job_id: int,
    rows: Callable[[IndexArray], Any],
) -> dict[str, Any]:
    """Rank the project's human labels and replace its open suspects (ends in a write
    transaction the caller commits).

    ``rows`` maps pool positions to feature rows (the worker's featurized pool). Returns
    the job's progress: labels judged, suspects stored, seconds spent.
    """
    job = session.get_one(Job, job_id)
    project = session.get_one(Project, job.project_id)
    project_id = project.id
    settings = ProjectSettings.model_validate(project.settings)
    labels = human_labels(session, project_id=project_id)
    reviewed = set(
        session.scalars(
            select(RelabelSuspect.item_id).where(
                RelabelSuspect.project_id == project_id, RelabelSuspect.status != OPEN
            )
        )
    )
    end_read(session)
    chosen: list[tuple[int, float, Any]] = []
    n_folds = 0
    task = task_of(project)
    if str(project.task) in RELABEL_TASKS and len(labels.positions) >= 4:
        learner = ProbabilisticClassifier(
            LogisticRegression(C=settings.regularization, max_iter=1000),
            classes=list(project.labels),
            multilabel=task.several,
        )
        X = rows(np.asarray(labels.positions, dtype=np.intp))
        if task.several:
            issues = find_multilabel_issues(learner, X, labels.values, random_state=project_id)
        else:
            issues = find_label_issues(
                learner, X, np.asarray(labels.values, dtype=object), random_state=project_id
            )
        n_folds = issues.n_folds
        for k in range(issues.n_issues):
            index = int(issues.ranking[k])
            # Reviewed once is enough: a kept label stays, a changed one is the reviewer's.
            if labels.item_ids[index] in reviewed:
                continue
            chosen.append((index, float(issues.scores[k]), issues.suggested[k]))
            if len(chosen) == MAX_SUSPECTS:
                break
    begin_write(session)
    session.execute(
        delete(RelabelSuspect).where(
            RelabelSuspect.project_id == project_id, RelabelSuspect.status == OPEN
        )
    )
    now = _now()
    session.add_all(
        RelabelSuspect(
            project_id=project_id,
            item_id=labels.item_ids[index],
            annotation_id=labels.annotation_ids[index],
            annotator_id=labels.annotator_ids[index],
            given_label=labels.values[index],
            # A set in the task's own order (as stored labels are), or one class name.
            suggested_label=task.parse(suggested) or [] if task.several else str(suggested),
            score=score,
            rank=rank,
            job_id=job_id,
            status=OPEN,
            created_at=now,
        )
        for rank, (index, score, suggested) in enumerate(chosen)
    )
    record(session, "relabel_ranked", project_id=project_id, job_id=job_id, suspects=len(chosen))
    return {"judged": len(labels.positions), "suspects": len(chosen), "n_folds": n_folds}


def has_open(session: Session, *, project_id: int) -> bool:
    """Whether the project has any open suspect (serving mixes the source in only then)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    RelabelSuspect.project_id == project_id, RelabelSuspect.status == OPEN
                )
            )
        )
    )


def open_suspect(session: Session, *, project_id: int, item_id: int) -> RelabelSuspect | None:
    """The item's open suspect, if it has one."""
    return session.scalar(
        select(RelabelSuspect)
        .where(
            RelabelSuspect.project_id == project_id,
            RelabelSuspect.item_id == item_id,
            RelabelSuspect.status == OPEN,
        )
        .order_by(RelabelSuspect.rank)
        .limit(1)
    )


def reviewable(project_id: int, annotator_id: int, now: datetime) -> Any:
    """SQL condition on ``RelabelSuspect`` (joined to ``Item``): this annotator may review it.

    The suspect is open; the annotator did not give the suspected label and holds no
    live decision on the item (they did not label it at all); nobody holds a lease on it
    (one review at a time); the item is not held out and not ruled out of scope.
    """
    mine = exists().where(
        Annotation.item_id == RelabelSuspect.item_id,
        Annotation.annotator_id == annotator_id,
        Annotation.undone_at.is_(None),
    )
    gave_it = exists().where(
        Annotation.id == RelabelSuspect.annotation_id, Annotation.annotator_id == annotator_id
    )
    leased = exists().where(
        Lease.item_id == RelabelSuspect.item_id,
        Lease.released_at.is_(None),
        Lease.expires_at > now,
    )
    return (
        (RelabelSuspect.project_id == project_id)
        & (RelabelSuspect.status == OPEN)
        & or_(RelabelSuspect.annotator_id.is_(None), RelabelSuspect.annotator_id != annotator_id)
        & ~gave_it
        & ~mine
        & ~leased
        & Item.is_evaluation.is_(False)
        & ~out_of_scope(Item.id)
    )


def resolve(session: Session, *, annotation: Annotation, now: datetime) -> RelabelSuspect | None:
    """Resolve the item's open suspect with the reviewer's ``annotation`` (in the caller's
    write transaction): kept or changed, and a change supersedes the suspected label.

    None when the item has no open suspect any more (a newer job replaced it) or the
    annotation is the suspected annotator's own.
    """
    suspect = open_suspect(session, project_id=annotation.project_id, item_id=annotation.item_id)
    if suspect is None or annotation.annotator_id is None:
        return None
    if suspect.annotator_id == annotation.annotator_id:
        return None
    changed = annotation.value != suspect.given_label
    suspect.status = CHANGED if changed else KEPT
    suspect.reviewer_id = annotation.annotator_id
    suspect.review_annotation_id = annotation.id
    suspect.outcome_label = annotation.value
    suspect.resolved_at = now
    if changed and suspect.annotation_id is not None:
        original = session.get(Annotation, suspect.annotation_id)
        if original is not None and original.undone_at is None:
            original.undone_at = now
            original.resolution = RELABELED
            original.resolved_by_id = annotation.annotator_id
            original.resolved_at = now
    record(
        session,
        "relabel_resolved",
        project_id=annotation.project_id,
        user_id=annotation.annotator_id,
        item_id=annotation.item_id,
        suspect_id=suspect.id,
        status=suspect.status,
    )
    return suspect


def _shown(value: Any) -> str:
    """A label value in words: a set of names joined, the empty set as none."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none of the labels"
    return str(value)


def served_reason(session: Session, *, project_id: int, item_id: int) -> str:
    """Why a relabel item was served, naming the given and the suggested label."""
    suspect = session.scalar(
        select(RelabelSuspect)
        .where(RelabelSuspect.project_id == project_id, RelabelSuspect.item_id == item_id)
        .order_by(RelabelSuspect.status != OPEN, RelabelSuspect.id.desc())
        .limit(1)
    )
    if suspect is None:
        return "A second opinion on a label the model suspects is wrong."
    return (
        f"A second opinion: this item was labeled “{_shown(suspect.given_label)}”, which the model "
        f"suspects is wrong; it suggests “{_shown(suspect.suggested_label)}”."
    )


@dataclass(frozen=True)
class SuspectRow:
    """An open suspect as the admin's list shows it."""

    id: int
    rank: int
    item_id: int
    text: str
    given_label: Any
    suggested_label: Any
    score: float
    annotator_id: int | None
    annotator: str | None
    job_id: int | None
    created_at: datetime


def list_suspects(session: Session, *, project_id: int, limit: int = 100) -> list[SuspectRow]:
    """The project's open suspects, most suspect first."""
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    rows = session.execute(
        select(RelabelSuspect, Item.text, User.username)
        .join(Item, Item.id == RelabelSuspect.item_id)
        .outerjoin(User, User.id == RelabelSuspect.annotator_id)
        .where(RelabelSuspect.project_id == project_id, RelabelSuspect.status == OPEN)
        .order_by(RelabelSuspect.rank)
        .limit(limit)
    ).all()
    end_read(session)
    return [
        SuspectRow(
            id=s.id,
            rank=s.rank,
            item_id=s.item_id,
            text=text,
            given_label=s.given_label,
            suggested_label=s.suggested_label,
            score=s.score,
            annotator_id=s.annotator_id,
            annotator=username,
            job_id=s.job_id,
            created_at=s.created_at,
        )
        for s, text, username in rows
    ]


@dataclass(frozen=True)
class AnnotatorErrorRate:
    """Of an annotator's labels that a second annotator reviewed, the share changed.

    ``ci95`` is the Wilson 95% interval of ``rate`` (reviewed suspects are the labels the
    model found most doubtful, so the rate is of *suspected* labels, not of all labels).
    """

    annotator_id: int
    username: str
    reviewed: int
    changed: int
    rate: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class RelabelSummary:
    """The relabel queue on the dashboard: open and reviewed suspects, per annotator."""

    open: int
    kept: int
    changed: int
    annotators: list[AnnotatorErrorRate]


def annotator_error_rates(session: Session, *, project_id: int) -> list[AnnotatorErrorRate]:
    """Per annotator whose labels were reviewed: reviewed, changed, share changed (Wilson)."""
    rows = session.execute(
        select(
            RelabelSuspect.annotator_id,
            User.username,
            func.count(),
            func.sum(case((RelabelSuspect.status == CHANGED, 1), else_=0)),
        )
        .join(User, User.id == RelabelSuspect.annotator_id)
        .where(RelabelSuspect.project_id == project_id, RelabelSuspect.status != OPEN)
        .group_by(RelabelSuspect.annotator_id, User.username)
        .order_by(User.username)
    ).all()
    rates = []
    for annotator_id, username, reviewed, changed in rows:
        changed = int(changed or 0)
        low, high = wilson_interval(changed, int(reviewed))
        rates.append(
            AnnotatorErrorRate(
                annotator_id=int(annotator_id),
                username=str(username),
                reviewed=int(reviewed),
                changed=changed,
                rate=changed / reviewed if reviewed else math.nan,
                ci95=(round(low, 4), round(high, 4)),
            )
        )
    return rates


def relabel_summary(session: Session, *, project_id: int) -> RelabelSummary:
    """Counts of open, kept and changed suspects, and per-annotator error rates (a read
    in the caller's transaction: the dashboard ends it)."""
    counts = dict(
        session.execute(
            select(RelabelSuspect.status, func.count())
            .where(RelabelSuspect.project_id == project_id)
            .group_by(RelabelSuspect.status)
        ).all()
    )
    annotators = annotator_error_rates(session, project_id=project_id)
    return RelabelSummary(
        open=int(counts.get(OPEN, 0)),
        kept=int(counts.get(KEPT, 0)),
        changed=int(counts.get(CHANGED, 0)),
        annotators=annotators,
    )
