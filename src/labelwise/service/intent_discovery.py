"""New-intent discovery: cluster the messages the model cannot place, and let an admin
turn a cluster into a new intent.

A discovery job (``Job.kind == "discover_intents"``, one queued per project) reads the
project's newest servable model version and the unlabeled pool and traffic items
(neither audit nor evaluation items, nor near-copies served through another item, nor
ruled out of scope, nor members of a cluster already decided); the items that model
puts in the out-of-scope class or answers with top probability below the project's
``discovery_confidence`` are the candidates. Their MiniLM embeddings are clustered by
:func:`labelwise.discovery.discover_intents` (the function the new-intents simulation
measures), and the clusters replace the project's open ones in one transaction. The
worker queues a discovery after every published retrain of a project with production
traffic; an admin can ask for one at any time.

Decisions on a cluster:

- ``create_intent_from_cluster``: the project's label list gains the name (validated
  as at project creation, and it must be new), and the chosen members (or all) are
  confirmed with it as the admin's human labels. Model versions trained before keep
  their own class list and keep predicting; the next retrain trains with the new class
  (the learner's columns are the project's labels, a class without labels yet gets
  probability 0).
- ``confirm_members``: the admin labels chosen members with any existing label.
- ``mark_out_of_scope``: with an out-of-scope class (``out_of_scope_label`` setting, or
  a label named ``oos`` / ``out_of_scope``), every member is labeled with it; a project
  without one cannot teach its model "none of these", so the cluster is dismissed
  (status ``dismissed``, no labels written).

Members of a decided cluster never return as candidates, so a dismissed cluster does
not come back at the next discovery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from labelwise.discovery import candidates, discover_intents
from labelwise.exceptions import MissingDependencyError, ModelFileError
from labelwise.service import model_versions
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.projects import get_project, task_of
from labelwise.service.training import DISCOVER_KIND, enqueue_retrain_if_due
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    ClusterStatus,
    IntentCluster,
    IntentClusterMember,
    Item,
    Job,
    JobStatus,
    ModelVersion,
    Project,
    TaskType,
    TrafficStat,
    User,
)
from labelwise.store.queries import near_copy, out_of_scope

__all__ = [
    "CLUSTER_STRATEGY",
    "DISCOVER_KIND",
    "ClusterMember",
    "ClusterView",
    "check_intent_name",
    "confirm_members",
    "count_open_clusters",
    "create_intent_from_cluster",
    "discovery_due_after_retrain",
    "enqueue_discovery",
    "get_cluster",
    "list_clusters",
    "mark_out_of_scope",
    "out_of_scope_label",
    "request_discovery",
    "run_discovery",
]

#: Unlabeled items scored per discovery (the newest first): predicting is cheap, but a
#: pool of millions is not what a reviewer's clusters come from.
MAX_SCORED = 50_000
#: Candidates clustered per discovery (the least confident first): HDBSCAN's time grows
#: faster than linearly, and a reviewer reads the largest clusters only.
MAX_CANDIDATES = 10_000
#: Members listed per cluster (the nearest the centroid first).
MAX_LISTED_MEMBERS = 200
#: The longest intent name accepted (``intent_clusters.created_label`` holds 200).
MAX_NAME_CHARS = 100
#: Label names taken as the out-of-scope class when the setting names none.
OUT_OF_SCOPE_NAMES = ("oos", "out_of_scope")
#: ``Annotation.strategy`` of labels confirmed from a cluster (provenance).
CLUSTER_STRATEGY = "intent_cluster"


def _now() -> datetime:
    return datetime.now(UTC)


# -- scheduling


def enqueue_discovery(session: Session, *, project_id: int, trigger: str) -> Job:
    """Queue a discovery job unless one is already waiting (in the caller's write
    transaction); returns the waiting job."""
    waiting = session.scalar(
        select(Job).where(
            Job.project_id == project_id,
            Job.kind == DISCOVER_KIND,
            Job.status == JobStatus.QUEUED,
        )
    )
    if waiting is not None:
        return waiting
    job = Job(project_id=project_id, kind=DISCOVER_KIND, trigger=trigger)
    session.add(job)
    session.flush()
    record(session, "discovery_queued", project_id=project_id, job_id=job.id, trigger=trigger)
    return job


def request_discovery(session: Session, *, project_id: int, user: User) -> Job:
    """Queue a discovery now (an admin asked); returns the queued job."""
    begin_write(session)
    project = get_project(session, project_id=project_id)
    _check_task(project)
    job = enqueue_discovery(session, project_id=project_id, trigger=f"user:{user.id}")
    session.commit()
    return job


#: Tasks whose model gives every message a probability per label: a top probability to
#: call low (multi-label: no label the model is sure of), and a label list to grow.
DISCOVERY_TASKS = frozenset({TaskType.SINGLE_LABEL, TaskType.MULTI_LABEL})


def discovery_due_after_retrain(session: Session, *, project_id: int) -> bool:
    """Whether a published retrain should queue a discovery: a single- or multi-label
    project that receives production traffic (an imported data set has no new intents to
    find)."""
    project = session.get(Project, project_id)
    if project is None or project.task not in DISCOVERY_TASKS:
        return False
    traffic = session.scalar(
        select(TrafficStat.item_id).where(TrafficStat.project_id == project_id).limit(1)
    )
    return traffic is not None


def _check_task(project: Project) -> None:
    if project.task not in DISCOVERY_TASKS:
        kind = project.task.value.replace("_", "-")
        raise ValidationError(
            f"New-intent discovery needs a single- or multi-label project; this one is {kind} "
            "(its model gives no probability per label of a message)."
        )


def out_of_scope_label(project: Project) -> str | None:
    """The project's out-of-scope class: the ``out_of_scope_label`` setting, else a label
    named ``oos`` or ``out_of_scope``; None when it has none."""
    settings = ProjectSettings.model_validate(project.settings)
    if settings.out_of_scope_label is not None:
        return (
            settings.out_of_scope_label if settings.out_of_scope_label in project.labels else None
        )
    return next((name for name in OUT_OF_SCOPE_NAMES if name in project.labels), None)


# -- the job


@dataclass(frozen=True)
class _Candidates:
    version_id: int
    path: str
    ids: list[int]
    texts: list[str]


def _unlabeled(session: Session, project_id: int) -> list[tuple[int, str]]:
    """Unlabeled items that may hold a new intent, newest first (see the module)."""
    decided = aliased(IntentCluster)
    member = aliased(IntentClusterMember)
    labeled = exists().where(
        Annotation.item_id == Item.id,
        Annotation.kind == AnnotationKind.LABEL,
        Annotation.undone_at.is_(None),
    )
    in_decided = exists().where(
        member.item_id == Item.id,
        member.cluster_id == decided.id,
        decided.status != ClusterStatus.OPEN,
    )
    rows = session.execute(
        select(Item.id, Item.text)
        .where(
            Item.project_id == project_id,
            Item.is_audit.is_(False),
            Item.is_evaluation.is_(False),
            ~labeled,
            ~out_of_scope(Item.id),
            ~near_copy(Item.id),
            ~in_decided,
        )
        .order_by(Item.position.desc())
        .limit(MAX_SCORED)
    ).all()
    return [(int(i), str(t)) for i, t in rows]


def run_discovery(
    session: Session,
    *,
    job_id: int,
    embed: Callable[[list[str]], Any],
    load_model: Callable[[str], Any],
) -> dict[str, Any]:
    """Find the project's clusters and replace its open ones (ends in a write transaction
    the caller commits, with the job still running).

    ``embed`` maps texts to sentence-embedding rows; ``load_model`` a version's folder to
    its :class:`~labelwise.textmodel.TextModel`. Returns the job's progress: items
    scored, candidates, clusters, the model version read, seconds spent; with
    ``skipped`` (a plain reason) when there was nothing to do.
    """
    started = time.perf_counter()
    job = session.get_one(Job, job_id)
    project = session.get_one(Project, job.project_id)
    settings = ProjectSettings.model_validate(project.settings)
    oos = out_of_scope_label(project)
    version = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.project_id == project.id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    if project.task not in DISCOVERY_TASKS:
        end_read(session)
        return {"skipped": "New-intent discovery needs a single- or multi-label project."}
    if version is None or not model_versions.servable(version) or version.artifact_path is None:
        end_read(session)
        return {"skipped": "No model to find candidates with yet: the first retrain makes one."}
    found = _Candidates(version.id, version.artifact_path, [], [])
    for item_id, text in _unlabeled(session, project.id):
        found.ids.append(item_id)
        found.texts.append(text)
    project_id = project.id
    end_read(session)

    ids = np.asarray(found.ids, dtype=np.int64)
    texts = found.texts
    chosen = np.zeros(0, dtype=np.intp)
    if texts:
        try:
            model = load_model(found.path)
            proba = np.asarray(model.predict_proba(texts))
        except (ModelFileError, MissingDependencyError) as exc:
            raise model_versions.unreadable(version.version, exc) from None
        classes = [str(c) for c in model.classes]
        chosen = candidates(
            proba, classes, out_of_scope=oos, threshold=settings.discovery_confidence
        )
        if chosen.size > MAX_CANDIDATES:
            confidence = proba[chosen].max(axis=1)
            chosen = np.sort(chosen[np.argsort(confidence, kind="stable")[:MAX_CANDIDATES]])
    clusters = []
    if chosen.size:
        chosen_texts = [texts[i] for i in chosen]
        vectors = embed(chosen_texts)
        if hasattr(vectors, "toarray"):  # TF-IDF rows when MiniLM is not installed
            vectors = vectors.toarray()
        clusters = discover_intents(
            vectors,
            chosen_texts,
            min_cluster_size=settings.discovery_min_cluster_size,
        )

    begin_write(session)
    replaced = _replace_open(session, project_id)
    for cluster in clusters:
        members = ids[chosen[cluster.members]]
        row = IntentCluster(
            project_id=project_id,
            job_id=job_id,
            model_version_id=found.version_id,
            status=ClusterStatus.OPEN,
            size=cluster.size,
            suggested_name=cluster.name[:MAX_NAME_CHARS],
            terms=list(cluster.terms),
            representatives=[int(i) for i in members[: cluster.n_representatives]],
        )
        session.add(row)
        session.flush()
        session.execute(
            insert(IntentClusterMember),
            [
                {"cluster_id": row.id, "item_id": int(item), "rank": rank, "similarity": float(s)}
                for rank, (item, s) in enumerate(zip(members, cluster.similarity, strict=True))
            ],
        )
    progress: dict[str, Any] = {
        "scored": len(texts),
        "candidates": int(chosen.size),
        "clusters": len(clusters),
        "clustered": int(sum(c.size for c in clusters)),
        "replaced": replaced,
        "model_version_id": found.version_id,
        "seconds": round(time.perf_counter() - started, 4),
    }
    record(session, "intents_discovered", project_id=project_id, job_id=job_id, **progress)
    return progress


def _replace_open(session: Session, project_id: int) -> int:
    """Delete the project's open clusters (members first: no reliance on FK cascades)."""
    open_ids = list(
        session.scalars(
            select(IntentCluster.id).where(
                IntentCluster.project_id == project_id,
                IntentCluster.status == ClusterStatus.OPEN,
            )
        )
    )
    if open_ids:
        session.execute(
            delete(IntentClusterMember).where(IntentClusterMember.cluster_id.in_(open_ids))
        )
        session.execute(delete(IntentCluster).where(IntentCluster.id.in_(open_ids)))
    return len(open_ids)


# -- reading


@dataclass(frozen=True)
class ClusterMember:
    item_id: int
    text: str
    rank: int
    similarity: float


@dataclass(frozen=True)
class ClusterView:
    """One cluster as the review page shows it.

    ``representatives`` are the members nearest the centroid (what a reviewer reads
    first); ``members`` lists up to :data:`MAX_LISTED_MEMBERS`, nearest first.
    """

    id: int
    status: ClusterStatus
    size: int
    suggested_name: str
    terms: list[str]
    representatives: list[ClusterMember]
    members: list[ClusterMember]
    created_label: str | None
    created_at: datetime
    decided_at: datetime | None
    job_id: int | None
    model_version_id: int | None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _views(session: Session, clusters: Sequence[IntentCluster]) -> list[ClusterView]:
    if not clusters:
        return []
    rows = session.execute(
        select(
            IntentClusterMember.cluster_id,
            IntentClusterMember.item_id,
            IntentClusterMember.rank,
            IntentClusterMember.similarity,
            Item.text,
        )
        .join(Item, Item.id == IntentClusterMember.item_id)
        .where(
            IntentClusterMember.cluster_id.in_([c.id for c in clusters]),
            IntentClusterMember.rank < MAX_LISTED_MEMBERS,
        )
        .order_by(IntentClusterMember.cluster_id, IntentClusterMember.rank)
    ).all()
    members: dict[int, list[ClusterMember]] = {}
    for cid, item_id, rank, similarity, text in rows:
        members.setdefault(cid, []).append(ClusterMember(item_id, text, rank, float(similarity)))
    views = []
    for c in clusters:
        listed = members.get(c.id, [])
        shown = set(c.representatives)
        views.append(
            ClusterView(
                id=c.id,
                status=ClusterStatus(c.status),
                size=c.size,
                suggested_name=c.suggested_name,
                terms=list(c.terms or []),
                representatives=[m for m in listed if m.item_id in shown],
                members=listed,
                created_label=c.created_label,
                created_at=_aware(c.created_at) or c.created_at,
                decided_at=_aware(c.decided_at),
                job_id=c.job_id,
                model_version_id=c.model_version_id,
            )
        )
    return views


ClusterFilter = Literal["open", "decided", "all"]


def list_clusters(
    session: Session,
    *,
    project_id: int,
    status: ClusterFilter = "open",
    offset: int = 0,
    limit: int = 100,
) -> list[ClusterView]:
    """The project's clusters, largest first (open ones: the review order)."""
    get_project(session, project_id=project_id)
    query = select(IntentCluster).where(IntentCluster.project_id == project_id)
    if status == "open":
        query = query.where(IntentCluster.status == ClusterStatus.OPEN)
    elif status == "decided":
        query = query.where(IntentCluster.status != ClusterStatus.OPEN)
    clusters = list(
        session.scalars(
            query.order_by(IntentCluster.size.desc(), IntentCluster.id).offset(offset).limit(limit)
        )
    )
    views = _views(session, clusters)
    end_read(session)
    return views


def get_cluster(session: Session, *, project_id: int, cluster_id: int) -> ClusterView:
    cluster = _cluster(session, project_id, cluster_id)
    [view] = _views(session, [cluster])
    end_read(session)
    return view


def has_open_cluster(session: Session, *, project_id: int) -> bool:
    """Whether a cluster awaits review (serving mixes the cluster source in only then)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    IntentCluster.project_id == project_id,
                    IntentCluster.status == ClusterStatus.OPEN,
                )
            )
        )
    )


def served_reason(session: Session, *, project_id: int, item_id: int) -> str:
    """Why the cluster source served an item: the cluster it belongs to, and what to do
    when no label fits."""
    cluster = session.scalar(
        select(IntentCluster)
        .join(IntentClusterMember, IntentClusterMember.cluster_id == IntentCluster.id)
        .where(
            IntentCluster.project_id == project_id,
            IntentClusterMember.item_id == item_id,
        )
        .order_by(IntentCluster.status != ClusterStatus.OPEN, IntentCluster.id.desc())
        .limit(1)
    )
    where = (
        f"one of {cluster.size:,} messages the model cannot place that group together "
        f"(a possible new intent: “{cluster.suggested_name}”)"
        if cluster is not None
        else "a message the model cannot place, grouped with others like it"
    )
    return (
        f"It is {where}. Label it if a label fits; if none does, skip it: an admin decides "
        "on the cluster."
    )


def count_open_clusters(session: Session, *, project_id: int) -> int:
    """How many clusters of the project await review (the dashboard's figure)."""
    count = session.scalar(
        select(func.count())
        .select_from(IntentCluster)
        .where(
            IntentCluster.project_id == project_id,
            IntentCluster.status == ClusterStatus.OPEN,
        )
    )
    end_read(session)
    return count or 0


def _cluster(session: Session, project_id: int, cluster_id: int) -> IntentCluster:
    cluster = session.scalar(
        select(IntentCluster).where(
            IntentCluster.id == cluster_id, IntentCluster.project_id == project_id
        )
    )
    if cluster is None:
        session.rollback()
        raise NotFoundError(f"Project {project_id} has no intent cluster {cluster_id}.")
    return cluster


# -- decisions


def check_intent_name(project: Project, name: Any) -> str:
    """A new intent name for ``project``, stripped; ValidationError or ConflictError
    says what is wrong (the rules of project creation, plus: new, and not too long)."""
    if not isinstance(name, str):
        raise ValidationError(f"name must be a string; got {type(name).__name__}.")
    clean = name.strip()
    if not clean:
        raise ValidationError("name: an intent name may not be empty.")
    if len(clean) > MAX_NAME_CHARS:
        raise ValidationError(
            f"name: an intent name has at most {MAX_NAME_CHARS} characters; got {len(clean)}."
        )
    if clean in project.labels:
        raise ConflictError(
            f"The project already has a label {clean!r}; choose another name, or confirm "
            "the members with that label."
        )
    return clean


def _open_cluster(session: Session, project_id: int, cluster_id: int) -> IntentCluster:
    cluster = _cluster(session, project_id, cluster_id)
    if cluster.status is not ClusterStatus.OPEN:
        session.rollback()
        raise ConflictError(
            f"Intent cluster {cluster_id} was already decided ({cluster.status.value}); "
            "reload the list."
        )
    return cluster


def _members(
    session: Session, cluster: IntentCluster, item_ids: Sequence[int] | Literal["all"]
) -> list[int]:
    """The item ids to confirm: all the cluster's members, or the given ones (each must
    be a member; ValidationError names those that are not)."""
    all_ids = list(
        session.scalars(
            select(IntentClusterMember.item_id)
            .where(IntentClusterMember.cluster_id == cluster.id)
            .order_by(IntentClusterMember.rank)
        )
    )
    if item_ids == "all":
        return all_ids
    wanted = list(dict.fromkeys(int(i) for i in item_ids))
    stray = sorted(set(wanted) - set(all_ids))
    if stray:
        session.rollback()
        raise ValidationError(
            f"confirm: items {stray[:10]} are not members of intent cluster {cluster.id}."
        )
    return wanted


def _label_items(
    session: Session,
    project: Project,
    cluster: IntentCluster,
    item_ids: list[int],
    label: str,
    admin: User,
    now: datetime,
) -> int:
    """The admin's human label ``label`` on each item, replacing their own earlier live
    decisions there (as an edit does); provenance: the cluster."""
    if not item_ids:
        return 0
    value = task_of(project).parse(label)  # multi-label: the set of that one label
    session.execute(
        update(Annotation)
        .where(
            Annotation.item_id.in_(item_ids),
            Annotation.annotator_id == admin.id,
            Annotation.undone_at.is_(None),
        )
        .values(undone_at=now)
    )
    session.execute(
        insert(Annotation),
        [
            {
                "project_id": project.id,
                "item_id": item_id,
                "annotator_id": admin.id,
                "kind": AnnotationKind.LABEL,
                "value": value,
                "comment": f"confirmed from intent cluster {cluster.id}",
                "strategy": CLUSTER_STRATEGY,
                "model_version_id": cluster.model_version_id,
                "created_at": now,
            }
            for item_id in item_ids
        ],
    )
    session.flush()
    return len(item_ids)


def _decide(
    cluster: IntentCluster, status: ClusterStatus, label: str | None, admin: User, now: datetime
) -> None:
    cluster.status = status
    cluster.created_label = label
    cluster.decided_by_id = admin.id
    cluster.decided_at = now


def create_intent_from_cluster(
    session: Session,
    *,
    project_id: int,
    cluster_id: int,
    name: Any,
    admin: User,
    confirm: Sequence[int] | Literal["all"] = "all",
) -> ClusterView:
    """Add the intent ``name`` to the project's labels and confirm members with it.

    Parameters
    ----------
    name : str
        The new label (usually the suggested name, edited); must not exist yet.
    admin : User
        The project admin deciding (authorization is the caller's); the confirmed
        labels are theirs.
    confirm : list of int or "all"
        Member item ids to label with ``name``; an empty list adds the label only.

    Raises
    ------
    NotFoundError
        No such cluster in the project.
    ConflictError
        The cluster is already decided, or the label exists.
    ValidationError
        A bad name, a project that is neither single- nor multi-label, or an item that
        is no member.
    """
    begin_write(session)
    project = session.get(Project, project_id, populate_existing=True)
    if project is None:
        session.rollback()
        raise NotFoundError(f"Project {project_id} does not exist.")
    cluster = _open_cluster(session, project_id, cluster_id)
    try:
        _check_task(project)
        label = check_intent_name(project, name)
    except (ValidationError, ConflictError):
        session.rollback()
        raise
    items = _members(session, cluster, confirm)
    now = _now()
    # A new list, so the JSON column sees the change.
    project.labels = [*project.labels, label]
    confirmed = _label_items(session, project, cluster, items, label, admin, now)
    _decide(cluster, ClusterStatus.CREATED, label, admin, now)
    _commit_decision(session, project, cluster, admin, "intent_created", label, confirmed)
    return get_cluster(session, project_id=project_id, cluster_id=cluster_id)


def confirm_members(
    session: Session,
    *,
    project_id: int,
    cluster_id: int,
    item_ids: Sequence[int] | Literal["all"],
    label: Any,
    admin: User,
) -> int:
    """Label members of a cluster with an existing label as the admin's human labels;
    returns how many were labeled. The cluster stays as it is (a decision on it is
    separate), so an admin can split a mixed cluster between labels."""
    begin_write(session)
    project = session.get(Project, project_id, populate_existing=True)
    if project is None:
        session.rollback()
        raise NotFoundError(f"Project {project_id} does not exist.")
    cluster = _cluster(session, project_id, cluster_id)
    if not isinstance(label, str) or label not in project.labels:
        session.rollback()
        raise ValidationError(f"label: {label!r} is not one of the project's labels.")
    items = _members(session, cluster, item_ids)
    confirmed = _label_items(session, project, cluster, items, label, admin, _now())
    _commit_decision(
        session, project, cluster, admin, "cluster_members_confirmed", label, confirmed
    )
    return confirmed


def _commit_decision(
    session: Session,
    project: Project,
    cluster: IntentCluster,
    admin: User,
    event: str,
    label: str | None,
    confirmed: int,
) -> None:
    """Log an admin's decision on a cluster, queue a retrain if its labels make one due,
    and commit."""
    record(
        session,
        event,
        project_id=project.id,
        user_id=admin.id,
        cluster_id=cluster.id,
        label=label,
        confirmed=confirmed,
    )
    if confirmed:
        enqueue_retrain_if_due(session, project=project, trigger="labels")
    session.commit()


def mark_out_of_scope(
    session: Session, *, project_id: int, cluster_id: int, admin: User
) -> ClusterView:
    """Decide a cluster is out of scope: with an out-of-scope class, all its members are
    labeled with it (status ``out_of_scope``); without one, it is dismissed (status
    ``dismissed``, nothing labeled). Either way its members are no candidates again."""
    begin_write(session)
    project = session.get(Project, project_id, populate_existing=True)
    if project is None:
        session.rollback()
        raise NotFoundError(f"Project {project_id} does not exist.")
    cluster = _open_cluster(session, project_id, cluster_id)
    oos = out_of_scope_label(project)
    now = _now()
    confirmed = 0
    if oos is None:
        _decide(cluster, ClusterStatus.DISMISSED, None, admin, now)
    else:
        items = _members(session, cluster, "all")
        confirmed = _label_items(session, project, cluster, items, oos, admin, now)
        _decide(cluster, ClusterStatus.OUT_OF_SCOPE, oos, admin, now)
    _commit_decision(
        session, project, cluster, admin, "intent_cluster_out_of_scope", oos, confirmed
    )
    return get_cluster(session, project_id=project_id, cluster_id=cluster_id)
