"""Where the next item comes from: sources, each with a share, and what to try when one
has nothing left.

Serving draws one source by its share (a seeded generator, injected by the caller, makes
the draw repeatable), asks it for an item, and falls back through the others in a fixed
order when it has none. The sources are the random audit sample, the ranked queue of
the current model, the random pool, suspected label errors (relabel), traffic admitted by
the stream budget, user-feedback reports and members of open new-intent clusters, each
with its share. Each choice says which source it came from, so "why this item" can name
it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import exists, func, select, true, update
from sqlalchemy.orm import Session

from labelwise.service import feedback, relabel
from labelwise.service.events import record
from labelwise.service.explain import (
    AUDIT,
    CLUSTER,
    FEEDBACK,
    RANDOM_NO_MODEL,
    RANDOM_QUEUE_EMPTY,
    RELABEL,
    STREAM,
)
from labelwise.service.project_settings import ProjectSettings
from labelwise.store import (
    Annotation,
    AnnotationKind,
    ClusterStatus,
    Event,
    FeedbackReport,
    FeedbackStatus,
    IntentCluster,
    IntentClusterMember,
    Item,
    Project,
    QueryRound,
    QueueEntry,
    RelabelSuspect,
    StreamScore,
    TrafficStat,
)

#: Source names, as served items and "why this item" report them.
SourceName = Literal["audit", "ranked", "random", "relabel", "stream", "feedback", "cluster"]
AUDIT_SOURCE: SourceName = "audit"
RANKED_SOURCE: SourceName = "ranked"
RANDOM_SOURCE: SourceName = "random"
RELABEL_SOURCE: SourceName = "relabel"
STREAM_SOURCE: SourceName = "stream"
FEEDBACK_SOURCE: SourceName = "feedback"
CLUSTER_SOURCE: SourceName = "cluster"

#: Pool positions checked per statement by the random pool: eligibility is a few
#: correlated subqueries per row, so each statement stays bounded on a large pool.
WINDOW = 64
#: Random positions the audit sample tries before it counts its eligible items: at the
#: default audit fraction (0.1) all of them miss once in about 850 picks.
AUDIT_TRIES = 64


def _pool_size(ctx: ServingContext) -> int:
    """Items in the project (positions are dense: one past the largest)."""
    return int(
        ctx.session.scalar(
            select(func.coalesce(func.max(Item.position) + 1, 0)).where(
                Item.project_id == ctx.project.id
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Choice:
    """An item a source offers, with how it was chosen."""

    item: Item
    source: SourceName
    strategy: str
    score: float | None = None
    round: QueryRound | None = None
    suggestions: Sequence[Any] = ()


@dataclass(frozen=True)
class ServingContext:
    """What every source needs to pick: the locked project, its settings, the SQL
    condition "this annotator may be served it now", and the injected generator.

    ``annotator_id`` and ``now`` say who asks and when (the relabel source has its own
    eligibility: its items are labeled already)."""

    session: Session
    project: Project
    settings: ProjectSettings
    eligible: Any
    rng: random.Random
    annotator_id: int | None = None
    now: datetime | None = None


class Source(Protocol):
    """One place items come from."""

    name: SourceName

    def prepare(self, ctx: ServingContext) -> None:
        """Set up what picking needs, once, whichever source is drawn (may write)."""

    def pick(self, ctx: ServingContext) -> Choice | None:
        """An eligible item, or None when this source has nothing for the annotator."""


class AuditSample:
    """Items drawn uniformly from the audit sample: never chosen by a model, never
    trained on, so their labels estimate accuracy without the bias of active learning."""

    name = AUDIT_SOURCE

    def prepare(self, ctx: ServingContext) -> None:
        _designate_audit_sample(ctx.session, ctx.project, ctx.settings.audit_fraction, ctx.rng)

    def pick(self, ctx: ServingContext) -> Choice | None:
        # Rejection sampling first: a uniform position is kept when it holds an eligible
        # audit item, so the pick is uniform over them, at one indexed look-up a try
        # (about 1 / audit_fraction tries). Counting them, below, reads the whole audit
        # sample: a tenth of a million-item pool on every request.
        n_items = _pool_size(ctx)
        for _ in range(AUDIT_TRIES if n_items else 0):
            item = ctx.session.scalar(
                select(Item).where(
                    Item.project_id == ctx.project.id,
                    Item.position == ctx.rng.randrange(n_items),
                    Item.is_audit.is_(True),
                    ctx.eligible,
                )
            )
            if item is not None:
                return Choice(item, self.name, AUDIT)
        return self._counted_pick(ctx)

    def _counted_pick(self, ctx: ServingContext) -> Choice | None:
        """Count the eligible audit items and draw one: uniform too, so the pick stays
        uniform whichever way it was made (few of them are left when every try missed)."""
        query = select(Item.id).where(Item.is_audit.is_(True), ctx.eligible)
        count = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if count == 0:
            return None
        item_id = ctx.session.scalar(
            query.order_by(Item.position).offset(ctx.rng.randrange(count)).limit(1)
        )
        return Choice(ctx.session.get_one(Item, item_id), self.name, AUDIT)


class RankedQueue:
    """The best-ranked eligible entry of the current model's query round.

    With table statistics both databases walk the round's entries in rank order and stop
    at the first eligible one (PostgreSQL needs ANALYZE after a large import, which the
    import does).
    """

    name = RANKED_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        if ctx.project.current_round_id is None:
            return None
        round_ = ctx.session.get_one(QueryRound, ctx.project.current_round_id)
        row = ctx.session.execute(
            select(Item, QueueEntry.score, QueueEntry.suggestions)
            .join(QueueEntry, QueueEntry.item_id == Item.id)
            .where(
                QueueEntry.round_id == round_.id,
                Item.is_audit.is_(False),
                ctx.eligible,
                _within_budget(ctx),
            )
            .order_by(QueueEntry.rank)
            .limit(1)
        ).first()
        if row is None:
            return None
        return Choice(row[0], self.name, round_.strategy, float(row[1]), round_, row[2] or [])


class RandomPool:
    """The first eligible item after a random position, scanned in bounded windows:
    near-uniform while most of the pool is unlabeled, which is when a project has no
    model yet (or its ranked queue is used up)."""

    name = RANDOM_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        session, project = ctx.session, ctx.project
        n_items = _pool_size(ctx)
        if not n_items:
            return None
        first = ctx.rng.randrange(n_items)
        for start in [*range(first, n_items, WINDOW), *range(0, first, WINDOW)]:
            stop = min(start + WINDOW, n_items if start >= first else first)
            item = session.scalar(
                select(Item)
                .where(
                    Item.project_id == project.id,
                    Item.position >= start,
                    Item.position < stop,
                    Item.is_audit.is_(False),
                    ctx.eligible,
                    _within_budget(ctx),
                )
                .order_by(Item.position)
                .limit(1)
            )
            if item is not None:
                why = RANDOM_QUEUE_EMPTY if project.current_round_id else RANDOM_NO_MODEL
                return Choice(item, self.name, why)
        return None


class RelabelSuspects:
    """The most suspect open label error (``service.relabel``), for a second opinion.

    Its items are labeled already, so ``eligible`` (which excludes labeled items) does
    not apply: :func:`labelwise.service.relabel.reviewable` does instead, and it never
    offers a suspect to the annotator who gave the suspected label.
    """

    name = RELABEL_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        if ctx.annotator_id is None:
            return None
        now = ctx.now or datetime.now(UTC)
        row = ctx.session.execute(
            select(Item, RelabelSuspect.score)
            .join(RelabelSuspect, RelabelSuspect.item_id == Item.id)
            .where(relabel.reviewable(ctx.project.id, ctx.annotator_id, now))
            .order_by(RelabelSuspect.rank)
            .limit(1)
        ).first()
        if row is None:
            return None
        return Choice(row[0], self.name, RELABEL, float(row[1]))


class StreamAdmissions:
    """Production traffic the stream budget admitted (``service.stream_budget``), in
    admission order and, within one pass, by expected impact."""

    name = STREAM_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        row = ctx.session.execute(
            select(Item, StreamScore.impact)
            .join(StreamScore, StreamScore.item_id == Item.id)
            .where(
                StreamScore.project_id == ctx.project.id,
                StreamScore.admitted_at.is_not(None),
                Item.is_audit.is_(False),
                ctx.eligible,
            )
            .order_by(StreamScore.admitted_at, StreamScore.impact.desc(), Item.position)
            .limit(1)
        ).first()
        if row is None:
            return None
        return Choice(row[0], self.name, STREAM, float(row[1]))


class FeedbackReports:
    """The item of the open user-feedback report with the highest expected impact
    (``service.feedback``), for an annotator who may label it; labeling it reviews the
    item's open reports (:func:`labelwise.service.feedback.resolve_served`)."""

    name = FEEDBACK_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        row = ctx.session.execute(
            select(Item, FeedbackReport.impact)
            .join(FeedbackReport, FeedbackReport.item_id == Item.id)
            .where(
                FeedbackReport.project_id == ctx.project.id,
                FeedbackReport.status == FeedbackStatus.OPEN,
                Item.is_audit.is_(False),
                Item.is_evaluation.is_(False),
                ctx.eligible,
            )
            .order_by(*feedback.open_first())
            .limit(1)
        ).first()
        if row is None:
            return None
        return Choice(row[0], self.name, FEEDBACK, None if row[1] is None else float(row[1]))


class ClusterMembers:
    """Unlabeled members of open new-intent clusters (``service.intent_discovery``):
    the most central member of every cluster, biggest cluster first, then the next
    most central of each, so the labels spread over the clusters."""

    name = CLUSTER_SOURCE

    def prepare(self, ctx: ServingContext) -> None:  # noqa: ARG002 - nothing to set up
        return None

    def pick(self, ctx: ServingContext) -> Choice | None:
        row = ctx.session.execute(
            select(Item, IntentClusterMember.similarity)
            .join(IntentClusterMember, IntentClusterMember.item_id == Item.id)
            .join(IntentCluster, IntentCluster.id == IntentClusterMember.cluster_id)
            .where(
                IntentCluster.project_id == ctx.project.id,
                IntentCluster.status == ClusterStatus.OPEN,
                Item.is_audit.is_(False),
                Item.is_evaluation.is_(False),
                ctx.eligible,
                _within_budget(ctx),
            )
            .order_by(
                IntentClusterMember.rank,
                IntentCluster.size.desc(),
                IntentCluster.id,
                Item.position,
            )
            .limit(1)
        ).first()
        if row is None:
            return None
        return Choice(row[0], self.name, CLUSTER, float(row[1]))


def _within_budget(ctx: ServingContext) -> Any:
    """With a label budget, traffic items reach the ranked queue and the random pool
    never: only the stream source serves them, once admitted."""
    if ctx.settings.label_budget <= 0:
        return true()
    return ~exists().where(TrafficStat.item_id == Item.id)


@dataclass(frozen=True)
class SourceMix:
    """Draw a source by its share; fall back through ``fallbacks`` in order.

    Parameters
    ----------
    shares : sequence of (Source, float)
        Sources that may be drawn, with non-negative shares (normalised here).
    fallbacks : sequence of Source
        Tried in this order (the drawn source first) until one offers an item.
    """

    shares: Sequence[tuple[Source, float]]
    fallbacks: Sequence[Source]

    def pick(self, ctx: ServingContext) -> Choice | None:
        active = [(source, share) for source, share in self.shares if share > 0]
        for source, _ in active:
            source.prepare(ctx)
        order: list[Source] = []
        if len(active) == 1:
            order.append(active[0][0])
        elif active:
            # One draw per request, and only when there is a choice to make.
            drawn = ctx.rng.choices([s for s, _ in active], weights=[w for _, w in active])[0]
            order.append(drawn)
        order.extend(s for s in self.fallbacks if s not in order)
        for source in order:
            choice = source.pick(ctx)
            if choice is not None:
                return choice
        return None


_AUDIT, _RANKED, _RANDOM = AuditSample(), RankedQueue(), RandomPool()
_RELABEL, _STREAM, _FEEDBACK = RelabelSuspects(), StreamAdmissions(), FeedbackReports()
_CLUSTER = ClusterMembers()


def mix_for(
    settings: ProjectSettings,
    *,
    relabel_open: bool = False,
    feedback_open: bool = False,
    cluster_open: bool = False,
) -> SourceMix:
    """The project's sources: the audit sample at ``audit_fraction``, the ranked queue at
    the rest; then the random pool, and the audit sample as a last resort.

    While the project has open relabel suspects (``relabel_open``) and ``relabel_every >
    0``, they take ``relabel_share`` out of the ranked queue's share, and are the last
    fallback (an annotator with nothing left to label reviews instead of waiting). While
    it has open feedback reports (``feedback_open``), they take ``feedback_share`` out of
    the ranked queue's share, and are tried right after it; so are the members of open
    new-intent clusters (``cluster_open``) at ``cluster_share``. With a label budget,
    admitted traffic takes ``stream_share`` (out of what the ranked queue has left) and
    is tried right after the ranked queue."""
    audit = settings.audit_fraction
    fallbacks: list[Source] = [_RANKED, _RANDOM]
    if audit > 0:
        fallbacks.append(_AUDIT)
    relabel_share = settings.relabel_share if relabel_open and settings.relabel_every > 0 else 0.0
    if relabel_share > 0:
        fallbacks.append(_RELABEL)
    # Both shares are at most 0.5 and audit_fraction at most 0.5: the cap only bites
    # when all three are set high.
    left = 1.0 - audit - relabel_share
    cluster_share = min(settings.cluster_share if cluster_open else 0.0, left)
    if cluster_share > 0:
        fallbacks.insert(1, _CLUSTER)
    left -= cluster_share
    feedback_share = min(settings.feedback_share if feedback_open else 0.0, left)
    if feedback_share > 0:
        fallbacks.insert(1, _FEEDBACK)
    left -= feedback_share
    stream_share = 0.0
    if settings.label_budget > 0:
        stream_share = min(settings.stream_share, left)
        fallbacks.insert(1, _STREAM)
    ranked = left - stream_share
    return SourceMix(
        shares=[
            (_AUDIT, audit),
            (_STREAM, stream_share),
            (_FEEDBACK, feedback_share),
            (_CLUSTER, cluster_share),
            (_RANKED, ranked),
            (_RELABEL, relabel_share),
        ],
        fallbacks=fallbacks,
    )


def source_of(strategy: str, *, is_audit: bool = False) -> SourceName:
    """Which source served a lease, from what the lease recorded."""
    if is_audit or strategy == AUDIT:
        return AUDIT_SOURCE
    if strategy == RELABEL:
        return RELABEL_SOURCE
    if strategy in (RANDOM_NO_MODEL, RANDOM_QUEUE_EMPTY):
        return RANDOM_SOURCE
    if strategy == STREAM:
        return STREAM_SOURCE
    if strategy == FEEDBACK:
        return FEEDBACK_SOURCE
    if strategy == CLUSTER:
        return CLUSTER_SOURCE
    return RANKED_SOURCE


def _designate_audit_sample(
    session: Session, project: Project, fraction: float, rng: random.Random
) -> None:
    """Mark a uniform random ``fraction`` of the unlabeled items as the audit sample, once.

    Drawn before any model sees them and independently of every model, so accuracy on
    their labels estimates pool accuracy without the bias of actively chosen items. The
    queue never serves them and the worker never trains on them. Items imported later
    are not added (the sample stays a sample of the pool it was drawn from); production
    traffic joins an audit sample of its own as it arrives (``traffic.in_live_audit``).
    """
    # Once per project, recorded by the event (production traffic adds its own audit
    # items as it arrives, so audit items existing does not mean the pool was sampled).
    if session.scalar(
        select(exists().where(Event.project_id == project.id, Event.kind == "audit_sample"))
    ):
        return
    labeled = exists().where(Annotation.item_id == Item.id, Annotation.kind == AnnotationKind.LABEL)
    ids = list(
        session.scalars(
            select(Item.id).where(
                Item.project_id == project.id, Item.is_evaluation.is_(False), ~labeled
            )
        )
    )
    if not ids:
        return
    chosen = rng.sample(ids, max(1, round(fraction * len(ids))))
    for start in range(0, len(chosen), 5000):  # SQLite caps bound parameters per statement
        batch = chosen[start : start + 5000]
        session.execute(update(Item).where(Item.id.in_(batch)).values(is_audit=True))
    record(session, "audit_sample", project_id=project.id, size=len(chosen))
