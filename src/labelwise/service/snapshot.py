"""The snapshot a retrain reads, and the outcome it hands to publishing.

The label policy lives here: which annotations train (live labels on items that are
neither audit nor evaluation items nor ruled out of scope), which labeling functions'
votes may train beside them (``weak_label_weight`` above 0: the enabled functions' votes on
the same items), how annotators' values merge (the project's task), and which pool items
are never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from labelwise.data import LabelSource
from labelwise.service import traffic_groups
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.projects import task_of
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    LabelingFunctionRecord,
    Project,
    WeakLabel,
)
from labelwise.store.queries import out_of_scope
from labelwise.tasks import Task
from labelwise.weak.matrix import LabelMatrix

#: Votes fetched at once: only one chunk is ever held as row tuples, the rest as arrays.
_VOTE_CHUNK = 50_000


def trainable_labels(project_id: int) -> Select[tuple[int, Any, LabelSource]]:
    """The label annotations a retrain trains on, as ``(position, value, source)`` rows.

    Live (not undone) label annotations on items that are neither audit nor evaluation
    items, oldest first. The retrain trigger counts exactly these rows and the snapshot
    trains on exactly these, so a job's ``label_count`` is the count its version reports.
    """
    return label_rows(project_id, audit=False)


def label_rows(project_id: int, *, audit: bool) -> Select[tuple[int, Any, LabelSource]]:
    # Audit items measure the model and evaluation items score it: neither is trained on.
    return (
        select(Item.position, Annotation.value, Annotation.source)
        .join(Item, Item.id == Annotation.item_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
            Item.is_audit.is_(audit),
            Item.is_evaluation.is_(False),
            # A reviewer ruled it outside the project: its labels teach nothing (flags.py).
            ~out_of_scope(Item.id),
        )
        .order_by(Annotation.id)
    )


@dataclass(frozen=True)
class WeakVotes:
    """The enabled labeling functions' votes on the items a retrain may train on.

    Attributes
    ----------
    positions : ndarray of shape (n_votes,)
        Pool positions of the voted items.
    functions : ndarray of shape (n_votes,)
        Column of the function that voted, an index into ``names``.
    classes : ndarray of shape (n_votes,)
        The voted label, an index into the project's labels.
    names : tuple of str
        The functions' names, in column order.
    """

    positions: NDArray[np.intp]
    functions: NDArray[np.intp]
    classes: NDArray[np.intp]
    names: tuple[str, ...]

    @property
    def n_votes(self) -> int:
        return int(self.positions.size)

    def matrix(
        self, n_items: int, classes: tuple[str, ...], *, leave_out: NDArray[np.intp]
    ) -> LabelMatrix:
        """The votes as a label matrix over a pool of ``n_items``, without the votes on
        the items at ``leave_out`` (rows stay pool positions)."""
        keep = (self.positions < n_items) & ~np.isin(self.positions, leave_out)
        votes = sparse.csr_matrix(
            (
                self.classes[keep].astype(np.int32) + 1,
                (self.positions[keep], self.functions[keep]),
            ),
            shape=(n_items, len(self.names)),
            dtype=np.int32,
        )
        return LabelMatrix(votes, classes, self.names)


@dataclass(frozen=True)
class Snapshot:
    """What a retrain trains and scores on, read in one short transaction."""

    project_id: int
    labels: list[str]
    task: Task
    settings: ProjectSettings
    positions: NDArray[np.intp]
    values: list[Any]
    sources: list[str]
    audit: NDArray[np.intp]
    audit_values: list[Any]
    #: The held-out evaluation set (imported with reference labels), in position order.
    evaluation: NDArray[np.intp]
    evaluation_values: list[Any]
    excluded: NDArray[np.intp]
    label_count: int
    #: The labeling functions' votes, when the project trains on weak labels (None when
    #: ``weak_label_weight`` is 0 or its task takes no labeling functions).
    weak_votes: WeakVotes | None = None


@dataclass(frozen=True)
class Outcome:
    """What a retrain produced, for the publish step (no database handles).

    ``suggestions`` holds one JSON value per ranked position (classification:
    ``[[label, p], ...]``; span tasks: the contract's dict). ``model`` is the fitted
    classifier (intents+entities: the intent classifier) and ``tagger`` the fitted CRF of
    span tasks; publishing saves both as the version's model.
    """

    positions: NDArray[np.intp]
    scores: NDArray[np.float64]
    suggestions: list[Any]
    strategy: str
    metrics: dict[str, Any]
    skipped: str | None = None
    model: Any = None
    tagger: Any = None


def take_snapshot(session: Session, project_id: int) -> Snapshot:
    """The labels, audit and evaluation items and exclusions of one project, now."""
    project = session.get_one(Project, project_id)
    settings = ProjectSettings.model_validate(project.settings)
    rows = session.execute(trainable_labels(project_id)).all()
    audit_rows = session.execute(label_rows(project_id, audit=True)).all()
    flagged = set(
        session.scalars(
            select(Item.position)
            .join(Annotation, Annotation.item_id == Item.id)
            .where(
                Annotation.project_id == project_id,
                Annotation.kind == AnnotationKind.FLAG,
                Annotation.undone_at.is_(None),
            )
        )
    )
    evaluation = session.execute(
        select(Item.position, Item.reference_label)
        .where(Item.project_id == project_id, Item.is_evaluation.is_(True))
        .order_by(Item.position)
    ).all()
    task = task_of(project)
    votes: dict[int, list[tuple[Any, str]]] = {}
    audit_votes: dict[int, list[tuple[Any, str]]] = {}
    for position, value, source in rows:
        votes.setdefault(position, []).append((value, str(source)))
    for position, value, source in audit_rows:
        audit_votes.setdefault(position, []).append((value, str(source)))
    # Only projects with an audit share have audit items; skipping the scan keeps the
    # snapshot (which holds SQLite's write lock) short on large pools.
    audit_only = (
        set(
            session.scalars(
                select(Item.position).where(Item.project_id == project_id, Item.is_audit.is_(True))
            )
        )
        if settings.audit_fraction > 0
        else set()
    )
    labeled = sorted(votes)
    audited = sorted(audit_votes)
    # Production messages grouped under another item's text: the queue serves their
    # group once, through its leader.
    near_copies = set(traffic_groups.grouped_members(session, project_id=project_id))
    weak = (
        weak_votes(session, project_id=project_id, labels=project.labels)
        if settings.weak_label_weight > 0 and task.labeling_functions
        else None
    )
    return Snapshot(
        project_id=project_id,
        labels=list(project.labels),
        task=task,
        settings=settings,
        positions=np.asarray(labeled, dtype=np.intp),
        values=[task.consensus([v for v, _ in votes[p]]) for p in labeled],
        sources=[_source(votes[p]) for p in labeled],
        audit=np.asarray(audited, dtype=np.intp),
        audit_values=[task.consensus([v for v, _ in audit_votes[p]]) for p in audited],
        evaluation=np.asarray([p for p, _ in evaluation], dtype=np.intp),
        evaluation_values=[value for _, value in evaluation],
        excluded=np.asarray(
            sorted(
                (flagged | audit_only | near_copies | {p for p, _ in evaluation}) - set(labeled)
            ),
            dtype=np.intp,
        ),
        label_count=sum(len(v) for v in votes.values()),
        weak_votes=weak,
    )


def weak_votes(session: Session, *, project_id: int, labels: list[str]) -> WeakVotes:
    """The enabled functions' current votes on items that may train, in one query.

    Audit and evaluation items and items ruled out of scope are left out here, as their
    human labels are (:func:`label_rows`); so are votes from an older version of a
    function and votes for a label the project no longer has.
    """
    records = session.execute(
        select(LabelingFunctionRecord.id, LabelingFunctionRecord.name)
        .where(
            LabelingFunctionRecord.project_id == project_id,
            LabelingFunctionRecord.enabled.is_(True),
            LabelingFunctionRecord.error.is_(None),
        )
        .order_by(LabelingFunctionRecord.id)
    ).all()
    column = {function_id: j for j, (function_id, _) in enumerate(records)}
    index = {label: k for k, label in enumerate(labels)}
    result = session.execute(
        select(Item.position, WeakLabel.function_id, WeakLabel.label)
        .join(Item, Item.id == WeakLabel.item_id)
        .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
        .where(
            LabelingFunctionRecord.project_id == project_id,
            LabelingFunctionRecord.enabled.is_(True),
            LabelingFunctionRecord.error.is_(None),
            WeakLabel.version == LabelingFunctionRecord.version,
            Item.is_audit.is_(False),
            Item.is_evaluation.is_(False),
            ~out_of_scope(Item.id),
        )
        .execution_options(yield_per=_VOTE_CHUNK)
    )
    parts: list[NDArray[np.intp]] = []
    for chunk in result.partitions():
        kept = [
            (p, column[f], index[label])
            for p, f, label in chunk
            # A function enabled since the look-up above waits for the next retrain.
            if label in index and f in column
        ]
        parts.append(np.asarray(kept, dtype=np.intp).reshape(-1, 3))
    votes = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.intp)
    return WeakVotes(
        positions=votes[:, 0].copy(),
        functions=votes[:, 1].copy(),
        classes=votes[:, 2].copy(),
        names=tuple(name for _, name in records),
    )


def _source(votes: list[tuple[Any, str]]) -> str:
    """Human if any person labeled the item, else the latest weak source."""
    sources = [source for _, source in votes]
    return LabelSource.HUMAN.value if LabelSource.HUMAN.value in sources else sources[-1]
