"""The labeling queue: who gets which item next, and what they decide about it.

Serving is serialized per project (a row lock on the project in PostgreSQL, the write
lock that ``BEGIN IMMEDIATE`` takes in SQLite), so two annotators can never be handed
the same item beyond the project's overlap, whatever the isolation level. Each call is
a few indexed statements, so the lock is held for milliseconds.

An annotator holds at most two open leases per project: the item on screen and the one
fetched ahead (``lease_next(..., ahead=True)``), so the labeling page never waits for the
server between items. A decision that releases a lease takes the same lock, because it
restarts the clock of the lease fetched ahead (see ``_promote_next``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelwise.data.spans import tokenize
from labelwise.service import feedback, intent_discovery, relabel, traffic_groups
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.explain import AUDIT as AUDIT  # re-exported, as are the two below
from labelwise.service.explain import RANDOM_NO_MODEL as RANDOM_NO_MODEL
from labelwise.service.explain import RANDOM_QUEUE_EMPTY as RANDOM_QUEUE_EMPTY
from labelwise.service.explain import why_this_item
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.projects import check_label, task_of
from labelwise.service.serving.sources import (
    CLUSTER_SOURCE,
    FEEDBACK_SOURCE,
    RANKED_SOURCE,
    RELABEL_SOURCE,
    ServingContext,
    SourceName,
    mix_for,
    source_of,
)
from labelwise.service.training import enqueue_retrain_if_due
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    Lease,
    ModelVersion,
    Project,
    QueryRound,
    QueueEntry,
    User,
)
from labelwise.store.queries import near_copy, out_of_scope


@dataclass(frozen=True)
class ServedItem:
    """An item leased to one annotator, with the reason it was chosen.

    Attributes
    ----------
    strategy : str
        The query strategy that ranked it, or why it was served at random.
    score : float or None
        Its acquisition score under that strategy (higher = more informative).
    model_version : int or None
        The project's model version whose ranking served it.
    suggestions : list of (label, probability)
        That model's most probable labels for the item, best first.
    why : str
        Why it was chosen, in words for the person labeling it (``service.explain``).
    tokens : list of (start, end)
        Character offsets of the text's tokens (``labelwise.data.spans.tokenize``), where
        span selections snap; empty for classification projects.
    span_suggestions : list of dict
        The model's predicted spans, ``{"start", "end", "label", "confidence"}`` each.
    focus : dict or None
        The predicted span the model is least sure about (``span_suggestions``' shape),
        None when it predicted none. For intents-and-entities projects ``suggestions``
        holds the intent probabilities.
    """

    lease_id: int
    item_id: int
    position: int
    text: str
    meta: dict[str, Any]
    expires_at: datetime
    strategy: str
    score: float | None
    model_version: int | None
    suggestions: list[tuple[str, float]]
    is_audit: bool
    why: str = ""
    tokens: list[tuple[int, int]] = field(default_factory=list)
    span_suggestions: list[dict[str, Any]] = field(default_factory=list)
    focus: dict[str, Any] | None = None
    #: How often production sent this text or a near-copy of it (None: not from traffic).
    traffic_count: int | None = None
    #: Which source served it: "audit", "ranked" or "random" (see service.serving.sources).
    source: SourceName = RANKED_SOURCE


def _now() -> datetime:
    return datetime.now(UTC)


def _lock_project(session: Session, project_id: int) -> Project:
    project = session.scalar(
        select(Project)
        .where(Project.id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the worker may have swapped the queue
    )
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _served(
    session: Session, lease: Lease, item: Item, suggestions: Sequence[Any] = ()
) -> ServedItem:
    version = (
        None
        if lease.model_version_id is None
        else session.scalar(
            select(ModelVersion.version).where(ModelVersion.id == lease.model_version_id)
        )
    )
    project = session.get_one(Project, item.project_id)
    task = task_of(project)
    spans, focus = _span_suggestions(suggestions)
    if isinstance(suggestions, Mapping):  # a span task's {"intents", "spans", "focus"}
        suggestions = suggestions.get("intents") or []
    pairs = [(str(label), float(p)) for label, p in suggestions]
    tokens = []
    if task.has_spans:
        tokenized = tokenize(item.text)
        tokens = list(zip(tokenized.starts, tokenized.ends, strict=True))
    traffic_count = traffic_groups.group_counts(
        session, project_id=item.project_id, item_ids=[item.id]
    ).get(item.id)
    why = why_this_item(
        lease.strategy,
        pairs,
        is_audit=item.is_audit,
        per_class_proba=task.per_class_proba,
        focus=focus,
        text=item.text,
    )
    if traffic_count is not None and traffic_count > 1 and not item.is_audit:
        why += f" Production users sent it (or a near-copy) {traffic_count:,} times."
    source = source_of(lease.strategy, is_audit=item.is_audit)
    if source == RELABEL_SOURCE:
        why = relabel.served_reason(session, project_id=item.project_id, item_id=item.id)
    elif source == FEEDBACK_SOURCE:
        why = feedback.served_reason(session, project_id=item.project_id, item_id=item.id)
    elif source == CLUSTER_SOURCE:
        why = intent_discovery.served_reason(session, project_id=item.project_id, item_id=item.id)
    return ServedItem(
        lease_id=lease.id,
        item_id=item.id,
        position=item.position,
        text=item.text,
        meta=dict(item.meta or {}),
        expires_at=_aware(lease.expires_at),
        strategy=lease.strategy,
        score=lease.score,
        model_version=version,
        suggestions=pairs,
        is_audit=item.is_audit,
        why=why,
        tokens=tokens,
        span_suggestions=spans,
        focus=focus,
        traffic_count=traffic_count,
        source=source,
    )


def _span_suggestions(stored: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Predicted spans and the least sure one from a queue entry's suggestions.

    Span tasks' entries hold ``{"intents", "spans", "focus"}`` (the worker writes them);
    classification entries a list of pairs, which carry no spans.
    """
    if not isinstance(stored, Mapping):
        return [], None
    spans = [_span(s) for s in stored.get("spans") or []]
    focus = stored.get("focus")
    return spans, None if not focus else _span(focus)


def _span(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "start": int(raw["start"]),
        "end": int(raw["end"]),
        "label": str(raw["label"]),
        "confidence": float(raw.get("confidence", 0.0)),
    }


def _live_decisions() -> Any:
    return Annotation.undone_at.is_(None)


def _eligible(project_id: int, annotator_id: int, overlap: int, now: datetime) -> Any:
    """SQL condition on ``Item``: this annotator may be served it now.

    Not decided (labeled, skipped or flagged) by them, not leased to them, fewer than
    ``overlap`` people have labeled it or hold it, not in the held-out evaluation set
    (already labeled, and never to be shown), and not reviewed out of scope.
    """
    mine = exists().where(
        Annotation.item_id == Item.id,
        Annotation.annotator_id == annotator_id,
        _live_decisions(),
    )
    done = (
        select(func.count(func.distinct(Annotation.annotator_id)))
        .where(
            Annotation.item_id == Item.id,
            Annotation.kind.in_([AnnotationKind.LABEL, AnnotationKind.FLAG]),
            _live_decisions(),
        )
        .scalar_subquery()
    )
    held = (
        select(func.count())
        .where(Lease.item_id == Item.id, Lease.released_at.is_(None), Lease.expires_at > now)
        .scalar_subquery()
    )
    held_by_me = exists().where(
        Lease.item_id == Item.id,
        Lease.annotator_id == annotator_id,
        Lease.released_at.is_(None),
        Lease.expires_at > now,
    )
    # Labels imported with the file (no annotator) complete an item too.
    imported = exists().where(
        Annotation.item_id == Item.id,
        Annotation.annotator_id.is_(None),
        Annotation.kind == AnnotationKind.LABEL,
        _live_decisions(),
    )
    return and_(
        Item.project_id == project_id,
        Item.is_evaluation.is_(False),
        ~out_of_scope(Item.id),  # a reviewer took it out of the project (service.flags)
        ~near_copy(Item.id),  # served once, as its traffic group's leader
        ~mine,
        ~held_by_me,
        ~imported,
        done + held < overlap,
    )


#: Open leases an annotator may hold in one project: the item on screen and the one
#: fetched ahead. More would only hide items from other annotators.
MAX_HELD = 2


def _open_leases(
    session: Session, project_id: int, annotator_id: int, now: datetime
) -> list[Lease]:
    """The annotator's unexpired, undecided leases in the project, oldest first."""
    return list(
        session.scalars(
            select(Lease)
            .where(
                Lease.project_id == project_id,
                Lease.annotator_id == annotator_id,
                Lease.released_at.is_(None),
                Lease.expires_at > now,
            )
            .order_by(Lease.id)
            .limit(MAX_HELD)
        )
    )


def lease_next(
    session: Session,
    *,
    project_id: int,
    annotator: User,
    now: datetime | None = None,
    ahead: bool = False,
    rng: random.Random | None = None,
) -> ServedItem | None:
    """Lease the most informative item this annotator may label; None when none is left.

    An annotator holds at most ``MAX_HELD`` (two) open leases in a project: the item on
    screen and one fetched ahead, so a page can show the next item the moment a decision
    is made instead of waiting for the server.

    Parameters
    ----------
    session : Session
    project_id : int
    annotator : User
    now : datetime, optional
        The clock (tests move it past lease expiry).
    ahead : bool
        False asks for the *current* item: the annotator's oldest open lease, or a new
        one when they hold none. True asks for the item *after* it: their second open
        lease, or a new item distinct from the one held. Either way, asking again
        returns the same lease, so a client that lost a response strands nothing, and
        an annotator never holds more than two leases.
    rng : random.Random, optional
        Draws the source (audit sample or ranked queue, by their shares) and the random
        picks. The server passes its own seeded generator; by default one seeded by the
        project, the annotator and the number of leases so far.

    Returns
    -------
    ServedItem or None
        None when nothing is left for this annotator (beyond what they hold).

    Notes
    -----
    Leases are ordered by creation, so once the current item is decided the prefetched
    lease is the oldest open one: a plain ``next`` returns it, and ``_decide`` restarts
    its clock (it was leased a whole item earlier). Expired leases need no clean-up: they
    simply stop counting.
    """
    begin_write(session)
    now = now or _now()
    project = _lock_project(session, project_id)
    settings = ProjectSettings.model_validate(project.settings)
    held = _open_leases(session, project_id, annotator.id, now)
    wanted = 1 if ahead else 0
    if len(held) > wanted:
        open_lease = held[wanted]
        item = session.get_one(Item, open_lease.item_id)
        suggestions = _lease_suggestions(session, project, open_lease)
        session.commit()
        return _served(session, open_lease, item, suggestions)

    eligible = _eligible(project_id, annotator.id, settings.overlap, now)
    if rng is None:
        # Seeded by who asks and how many leases exist: a new stream for every request,
        # the same one when a run is replayed, and independent of every item.
        leases = session.scalar(select(func.coalesce(func.max(Lease.id), 0)))
        rng = random.Random(f"{project_id}:{annotator.id}:{leases}")
    context = ServingContext(session, project, settings, eligible, rng, annotator.id, now)
    relabel_open = settings.relabel_every > 0 and relabel.has_open(session, project_id=project_id)
    feedback_open = settings.feedback_share > 0 and feedback.has_open(
        session, project_id=project_id
    )
    cluster_open = settings.cluster_share > 0 and intent_discovery.has_open_cluster(
        session, project_id=project_id
    )
    mix = mix_for(
        settings,
        relabel_open=relabel_open,
        feedback_open=feedback_open,
        cluster_open=cluster_open,
    )
    choice = mix.pick(context)
    if choice is None:
        session.commit()
        return None
    item, strategy, score, round_ = choice.item, choice.strategy, choice.score, choice.round
    suggestions = choice.suggestions
    lease = Lease(
        project_id=project_id,
        item_id=item.id,
        annotator_id=annotator.id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.lease_seconds),
        model_version_id=None if round_ is None else round_.model_version_id,
        strategy=strategy,
        score=score,
    )
    session.add(lease)
    if strategy == RANDOM_QUEUE_EMPTY:
        enqueue_retrain_if_due(session, project=project, force=True, trigger="queue_empty")
    session.flush()
    served = _served(session, lease, item, suggestions)
    session.commit()
    return served


def _lease_suggestions(session: Session, project: Project, lease: Lease) -> Sequence[Any]:
    """The suggestions an open lease was first served with, when it is served again.

    A lease fetched ahead may predate a retrain, so its own model version's round comes
    first (the worker keeps the previous round's entries); the current round stands in
    once that one is pruned. Items served at random (no model, audit sample, queue used
    up) had no suggestions and get none: an audit item must not show the model's guess.
    """
    if lease.model_version_id is None:
        return ()
    own = QueryRound.model_version_id == lease.model_version_id
    found = session.scalar(
        select(QueueEntry.suggestions)
        .join(QueryRound, QueryRound.id == QueueEntry.round_id)
        .where(
            QueueEntry.item_id == lease.item_id,
            QueryRound.project_id == project.id,
            or_(own, QueryRound.id == project.current_round_id),
        )
        .order_by(case((own, 0), else_=1), QueryRound.id.desc())
        .limit(1)
    )
    return found or ()


def _project_item(session: Session, project_id: int, item_id: int) -> tuple[Project, Item]:
    project = session.get(Project, project_id, populate_existing=True)
    item = session.get(Item, item_id)
    if project is None or item is None or item.project_id != project_id:
        raise NotFoundError(f"Item {item_id} is not in project {project_id}.")
    if item.is_evaluation:
        # Its reference label is the answer; a decision here would leak it into training.
        raise ValidationError(
            f"Item {item_id} is in the held-out evaluation set; it is not labeled here."
        )
    return project, item


def _replayed(session: Session, annotator: User, client_key: str | None) -> Annotation | None:
    if client_key is None:
        return None
    return session.scalar(
        select(Annotation).where(
            Annotation.annotator_id == annotator.id, Annotation.client_key == client_key
        )
    )


def _holds_newer_lease(session: Session, released: Lease, now: datetime) -> bool:
    """Whether the annotator holds an open lease taken after ``released`` (fetched ahead).

    Only they can create one, so none can appear while their decision is stored except
    by a concurrent ``next`` of their own, whose lease starts a full clock anyway.
    """
    newer = session.scalar(select(Lease.id).where(_newer_open(released, now)).limit(1))
    return newer is not None


def _newer_open(released: Lease, now: datetime) -> Any:
    """SQL condition on ``Lease``: the same annotator's open leases taken after ``released``."""
    return and_(
        Lease.project_id == released.project_id,
        Lease.annotator_id == released.annotator_id,
        Lease.id > released.id,
        Lease.released_at.is_(None),
        Lease.expires_at > now,
    )


def _promote_next(session: Session, project: Project, released: Lease, now: datetime) -> None:
    """Restart the clock of the lease fetched after ``released``: it is on screen now.

    A prefetched lease was taken a whole item earlier; without this, time spent on the
    current item would eat into the next one's lease and a slow annotator could lose it
    to a colleague while looking at it. Only a lease *newer* than the released one moves,
    so deciding the prefetched item first never extends the current one.
    """
    settings = ProjectSettings.model_validate(project.settings)
    renewed = now + timedelta(seconds=settings.lease_seconds)
    session.execute(
        update(Lease)
        .where(_newer_open(released, now), Lease.expires_at < renewed)
        .values(expires_at=renewed)
        # The lease may be loaded in this session already (its object is what serving
        # returns next): refresh it rather than evaluate datetimes in Python.
        .execution_options(synchronize_session="fetch")
    )


def _decide(
    session: Session,
    *,
    project_id: int,
    annotator: User,
    item_id: int,
    kind: AnnotationKind,
    value: Any = None,
    comment: str = "",
    client_key: str | None = None,
    seconds_spent: float | None = None,
) -> Annotation:
    """Store one decision, release the annotator's lease on the item; idempotent on the key."""
    # A replay is answered from a read (no writer lock); the check is repeated inside the
    # write transaction, where on SQLite it is authoritative (writers are serialized).
    previous = _replayed(session, annotator, client_key)
    if previous is None:
        begin_write(session)
        previous = _replayed(session, annotator, client_key)
    if previous is not None:
        end_read(session)
        return previous
    project, item = _project_item(session, project_id, item_id)
    stored = check_label(project, value, text=item.text) if kind is AnnotationKind.LABEL else None
    now = _now()
    lease = session.scalar(
        select(Lease)
        .where(
            Lease.item_id == item.id,
            Lease.annotator_id == annotator.id,
            Lease.released_at.is_(None),
        )
        .order_by(Lease.id.desc())
        .limit(1)
    )
    fetched_ahead = lease is not None and _holds_newer_lease(session, lease, now)
    if fetched_ahead:
        # Releasing the lease promotes the one fetched ahead, whose expiry then moves:
        # that must not race a colleague's ``next`` reading it, so take serving's lock
        # (before any write, in the order serving takes it). Clients that do not fetch
        # ahead (scripts, the CLI) skip the lock, so their decisions never queue behind
        # serving.
        project = _lock_project(session, project_id)
    # A new decision on an item replaces this annotator's earlier one (an edit).
    session.execute(
        update(Annotation)
        .where(
            Annotation.item_id == item.id,
            Annotation.annotator_id == annotator.id,
            Annotation.undone_at.is_(None),
        )
        .values(undone_at=now)
    )
    annotation = Annotation(
        project_id=project_id,
        item_id=item.id,
        annotator_id=annotator.id,
        kind=kind,
        value=stored,
        comment=comment,
        seconds_spent=seconds_spent,
        model_version_id=None if lease is None else lease.model_version_id,
        strategy=None if lease is None else lease.strategy,
        query_score=None if lease is None else lease.score,
        client_key=client_key,
        created_at=now,
    )
    session.add(annotation)
    try:
        # Insert now, before anything below autoflushes it (``enqueue_retrain_if_due``
        # queries): on PostgreSQL a concurrent replay of the same client key waits here
        # for the other transaction and fails on the unique key, which means "answer the
        # stored row", whoever stored it.
        session.flush()
    except IntegrityError as error:
        return _stored_replay(session, annotator, client_key, error)
    if lease is not None:
        lease.released_at = now
    if kind is AnnotationKind.LABEL and lease is not None and lease.strategy == relabel.RELABEL:
        # A second opinion on a suspected label error: kept or changed.
        relabel.resolve(session, annotation=annotation, now=now)
    if kind is AnnotationKind.LABEL and lease is not None and lease.strategy == feedback.PROVENANCE:
        # A reported message labeled from the queue: its open reports are reviewed.
        feedback.resolve_served(session, annotation=annotation, now=now)
    if lease is not None and fetched_ahead:
        _promote_next(session, project, lease, now)
    record(
        session,
        str(kind),
        project_id=project_id,
        user_id=annotator.id,
        item_id=item.id,
        value=stored,
        client_key=client_key,
    )
    if kind is AnnotationKind.LABEL:
        enqueue_retrain_if_due(session, project=project, trigger="labels")
        relabel.enqueue_relabel_if_due(session, project=project, trigger="labels")
    try:
        session.commit()
    except IntegrityError as error:
        # The same client key committed concurrently: return that decision.
        return _stored_replay(session, annotator, client_key, error)
    return annotation


def _stored_replay(
    session: Session, annotator: User, client_key: str | None, error: IntegrityError
) -> Annotation:
    """After a failed insert: the decision stored under ``client_key``, else ``error``."""
    session.rollback()
    replay = _replayed(session, annotator, client_key)
    end_read(session)
    if replay is None:
        raise error  # the violation was about something else
    return replay


def submit_annotation(
    session: Session,
    *,
    project_id: int,
    annotator: User,
    item_id: int,
    value: Any,
    client_key: str | None = None,
    seconds_spent: float | None = None,
    lease_id: int | None = None,  # noqa: ARG001 - the item identifies the lease
) -> Annotation:
    """Label an item. Replaying the same ``client_key`` returns the stored annotation.

    The label is kept even if the lease expired meanwhile: a late answer is still a
    human label, and overlap only bounds how many people are *served* an item.
    """
    return _decide(
        session,
        project_id=project_id,
        annotator=annotator,
        item_id=item_id,
        kind=AnnotationKind.LABEL,
        value=value,
        client_key=client_key,
        seconds_spent=seconds_spent,
    )


def skip_item(
    session: Session,
    *,
    project_id: int,
    annotator: User,
    item_id: int,
    client_key: str | None = None,
) -> Annotation:
    """Pass on an item: it goes back to the queue for others (and to this annotator after undo)."""
    return _decide(
        session,
        project_id=project_id,
        annotator=annotator,
        item_id=item_id,
        kind=AnnotationKind.SKIP,
        client_key=client_key,
    )


def flag_item(
    session: Session,
    *,
    project_id: int,
    annotator: User,
    item_id: int,
    comment: str,
    client_key: str | None = None,
) -> Annotation:
    """Mark an item ambiguous or out of scope, with a comment; it leaves the queue."""
    return _decide(
        session,
        project_id=project_id,
        annotator=annotator,
        item_id=item_id,
        kind=AnnotationKind.FLAG,
        comment=comment,
        client_key=client_key,
    )


def undo_annotation(
    session: Session, *, project_id: int, annotator: User, annotation_id: int | None = None
) -> Annotation:
    """Undo one of the annotator's live decisions (by default the latest)."""
    begin_write(session)
    query = select(Annotation).where(
        Annotation.project_id == project_id,
        Annotation.annotator_id == annotator.id,
        Annotation.undone_at.is_(None),
    )
    if annotation_id is not None:
        query = query.where(Annotation.id == annotation_id)
    annotation = session.scalar(query.order_by(Annotation.id.desc()).limit(1))
    if annotation is None:
        raise NotFoundError("There is no decision of yours to undo.")
    annotation.undone_at = _now()
    record(
        session,
        "undo",
        project_id=project_id,
        user_id=annotator.id,
        annotation_id=annotation.id,
        item_id=annotation.item_id,
    )
    session.commit()
    return annotation


@dataclass(frozen=True)
class RecentDecision:
    """One of an annotator's live decisions, with the text of the item it is about.

    The page lists these after a reload, when it no longer holds the items it served, and
    its Edit view shows the text and marks the current label from them.
    """

    annotation: Annotation
    item_text: str
    summary: str = ""


def recent_decisions(
    session: Session, *, project_id: int, annotator: User, limit: int = 10
) -> list[RecentDecision]:
    """The annotator's latest live decisions in the project, newest first."""
    rows = session.execute(
        select(Annotation, Item.text)
        .join(Item, Item.id == Annotation.item_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.annotator_id == annotator.id,
            Annotation.undone_at.is_(None),
        )
        .order_by(Annotation.id.desc())
        .limit(limit)
    ).all()
    project = session.get(Project, project_id)
    end_read(session)
    task = None if project is None else task_of(project)
    return [
        RecentDecision(annotation=row[0], item_text=row[1], summary=_summary(task, row[0], row[1]))
        for row in rows
    ]


def _summary(task: Any, annotation: Annotation, text: str) -> str:
    """The decision in a few words for the recent list (the page shows it as is)."""
    if annotation.kind is AnnotationKind.FLAG:
        return f"flagged: {annotation.comment or ''}"
    if annotation.kind is AnnotationKind.SKIP:
        return "skipped"
    if task is None:
        return str(annotation.value)
    return str(task.describe(annotation.value, text=text))
