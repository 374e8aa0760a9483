"""What labeling functions would do and do cover: previews of unsaved ones, the items
labeled by a person, by a rule, by both or by neither (the dashboard's weak against gold),
and the weak labels themselves with their provenance.

A preview applies the spec to every item (a regex past its time limit is refused, naming
``pattern``) and measures it beside the enabled functions; it stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy import sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.service.projects import get_project
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.transactions import end_read
from labelwise.service.weak_labels import (
    ItemTexts,
    build_function,
    checked_spec,
    checked_votes,
    labeled_positions,
    load_votes,
    refresh_weak_labels,
    supported_project,
)
from labelwise.store import Item, LabelingFunctionRecord, WeakLabel
from labelwise.weak import FunctionStats, analyze
from labelwise.weak.matrix import LabelMatrix

#: Items shown as a preview's sample hits.
SAMPLE_HITS = 10


@dataclass(frozen=True)
class PreviewHit:
    """An item an unsaved function fires on, with its human label if it has one."""

    item_id: int
    text: str
    gold: str | None


@dataclass(frozen=True)
class Preview:
    """What an unsaved function would do (nothing is stored).

    ``conflicts`` maps each enabled function that votes another label on some of the same
    items to how many.
    """

    stats: FunctionStats
    audit: FunctionStats | None
    sample: list[PreviewHit]
    conflicts: dict[str, int]


def preview_labeling_function(
    session: Session,
    *,
    project_id: int,
    spec: Mapping[str, Any],
    sentences: SentenceVectors | None = None,
) -> Preview:
    """Hits, sample hits, conflicts with the enabled functions and accuracy of an unsaved
    spec; stores nothing. A saved function of the same name is left out of the comparison
    (previewing an edit of it). ``sentences`` embeds for the similarity kinds."""
    project = supported_project(session, project_id=project_id)
    cleaned = checked_spec(project, spec, sentences=sentences)
    lf = build_function(project, cleaned, sentences=sentences)
    refresh_weak_labels(session, project=project, sentences=sentences)
    rows = session.execute(
        select(Item.id, Item.position, Item.text)
        .where(Item.project_id == project_id)
        .order_by(Item.position)
    ).all()
    fired = checked_votes(lf, ItemTexts([text for _, _, text in rows], sentences))
    votes = load_votes(session, project=project)
    others = [j for j in votes.enabled() if votes.records[j].name != cleaned["name"]]
    existing = votes.columns(others)
    index = {label: k + 1 for k, label in enumerate(existing.classes)}
    column = [index[v] if v is not None else 0 for v in fired]
    candidate = sparse.csr_matrix(column, dtype="int32").T
    matrix = LabelMatrix(
        sparse.hstack([existing.votes, candidate]).tocsr(),
        existing.classes,
        (*existing.names, "\0preview"),
    )
    stats = analyze(matrix, votes.gold).functions[-1]
    audit = analyze(matrix, votes.audit_gold).functions[-1] if votes.audit_gold else None
    sample = [
        PreviewHit(item_id, text, votes.gold.get(position))
        for (item_id, position, text), vote in zip(rows, fired, strict=True)
        if vote is not None
    ][:SAMPLE_HITS]
    end_read(session)
    return Preview(stats, audit, sample, _conflicts(existing, column))


def _conflicts(existing: LabelMatrix, candidate: list[int]) -> dict[str, int]:
    """Per existing function, items where it and the candidate vote different labels."""
    dense = existing.votes.tocsc()
    out: dict[str, int] = {}
    for j, name in enumerate(existing.names):
        start, stop = dense.indptr[j], dense.indptr[j + 1]
        n = sum(
            1
            for row, value in zip(dense.indices[start:stop], dense.data[start:stop], strict=True)
            if candidate[row] and candidate[row] != value
        )
        if n:
            out[name] = n
    return out


@dataclass(frozen=True)
class WeakCoverage:
    """Items by what labels them: a person, a rule (an enabled function's vote), both, neither."""

    n_items: int
    human: int
    weak: int
    both: int
    neither: int
    functions: int
    enabled: int


def weak_coverage(
    session: Session, *, project_id: int, sentences: SentenceVectors | None = None
) -> WeakCoverage:
    """Weak against gold coverage for the dashboard (brings weak labels up to date first)."""
    project = get_project(session, project_id=project_id)
    records = session.scalars(
        select(LabelingFunctionRecord).where(LabelingFunctionRecord.project_id == project_id)
    ).all()
    n_items = session.scalar(select(func.count()).where(Item.project_id == project_id)) or 0
    if records:  # only single-label projects have any
        refresh_weak_labels(session, project=project, sentences=sentences)
    human = labeled_positions(session, project_id=project_id)
    weak = set(
        session.scalars(
            select(Item.position)
            .join(WeakLabel, WeakLabel.item_id == Item.id)
            .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
            .where(
                LabelingFunctionRecord.project_id == project_id,
                LabelingFunctionRecord.enabled.is_(True),
            )
            .distinct()
        )
    )
    end_read(session)
    return WeakCoverage(
        n_items=n_items,
        human=len(human),
        weak=len(weak),
        both=len(human & weak),
        neither=n_items - len(human | weak),
        functions=len(records),
        enabled=sum(r.enabled for r in records),
    )


@dataclass(frozen=True)
class RuleVote:
    """One labeling function's vote: which function, which version of it, which label."""

    function: str
    version: int
    label: str


@dataclass(frozen=True)
class WeakLabeledItem:
    """An item's weak labels, apart from any human label: ``source`` is always ``rule``."""

    item_id: int
    position: int
    text: str
    votes: list[RuleVote]
    source: str = "rule"


def list_weak_labels(
    session: Session,
    *,
    project_id: int,
    offset: int = 0,
    limit: int = 100,
    sentences: SentenceVectors | None = None,
) -> list[WeakLabeledItem]:
    """A page of the items enabled functions vote on, by position, each with its votes.

    The export of weak labels with their provenance (function and version); the label
    exports (``labelwise.service.exports``) add them only with ``include=rules``, as rows
    of kind and source ``rule``, so a rule's vote never reads as a person's label.
    """
    project = supported_project(session, project_id=project_id)
    refresh_weak_labels(session, project=project, sentences=sentences)
    enabled = (LabelingFunctionRecord.project_id == project_id) & LabelingFunctionRecord.enabled
    page = (
        select(Item.id)
        .where(
            Item.id.in_(
                select(WeakLabel.item_id)
                .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
                .where(enabled)
            )
        )
        .order_by(Item.position)
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(
        select(Item.id, Item.position, Item.text, LabelingFunctionRecord.name, WeakLabel.version)
        .add_columns(WeakLabel.label)
        .join(WeakLabel, WeakLabel.item_id == Item.id)
        .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
        .where(enabled, Item.id.in_(page))
        .order_by(Item.position, LabelingFunctionRecord.id)
    ).all()
    end_read(session)
    items: dict[int, WeakLabeledItem] = {}
    for item_id, position, text, name, version, label in rows:
        item = items.setdefault(item_id, WeakLabeledItem(item_id, position, text, []))
        item.votes.append(RuleVote(name, version, label))
    return list(items.values())
