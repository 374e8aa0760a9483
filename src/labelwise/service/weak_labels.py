"""Weak labels kept up to date: a project's labeling functions applied to its items.

A labeling function's votes live in ``weak_labels``, never in ``annotations``: they do not
complete an item, count toward a retrain or export as a person's label. Applying is
incremental: a function whose stored votes come from an older version is applied to every
item again; one that is current only to the items added since (``applied_through_item_id``).
A regex that runs past its time limit on an item stops with an error kept on the function,
which is disabled until someone edits it: nothing hangs and nothing fails silently. So does
a similarity function (``label_name``, ``exemplar``, ``zero_shot``) that can no longer be
applied: its votes compare sentence embeddings (``labelwise.service.sentence_vectors``),
which need the embeddings extra and a project whose features include MiniLM.

The library does the work (:func:`labelwise.weak.function_from_spec`,
:func:`labelwise.weak.analyze`); this module reads and writes the rows around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from scipy import sparse
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from labelwise.exceptions import InputError
from labelwise.recipes.classification import SENTENCE_FEATURES
from labelwise.service.errors import ValidationError
from labelwise.service.projects import get_project, parse_settings, task_of
from labelwise.service.sentence_vectors import EMBEDDING_KINDS, SentenceVectors
from labelwise.service.snapshot import label_rows
from labelwise.service.transactions import begin_write
from labelwise.store import Item, LabelingFunctionRecord, Project, WeakLabel
from labelwise.weak import (
    FunctionStats,
    LabelingFunction,
    LabelingFunctionError,
    LabelMatrix,
    MatrixStats,
    analyze,
    function_from_spec,
)
from labelwise.weak.functions import DEFAULT_REGEX_TIMEOUT, SimilarityFunction, ZeroShotFunction
from labelwise.weak.specs import Embed
from labelwise.weak.suggestions import ALL_LABELS

#: Each kind's own keys besides ``name``, ``kind`` and ``label`` (which a ``zero_shot``
#: function, voting over ``labels``, has not): a stored spec keeps only these, so switching
#: an edited function's kind leaves no stale keys behind.
KIND_KEYS: Final = {
    "keyword": ("keywords", "case_sensitive"),
    "regex": ("pattern", "flags"),
    "label_name": ("threshold", "text"),
    "exemplar": ("exemplars", "threshold"),
    "zero_shot": ("labels", "threshold"),
}
#: Texts a new pattern must get through within its time limit before it is saved: runs of
#: one character ended by another, where nested repetition (``(a+)+$``) backtracks.
PROBE_TEXTS: Final = tuple(c * 48 + "!" for c in ("a", "0", " ", "x")) + ("ab" * 24 + "!",)
#: The longest function name (the column's width).
MAX_NAME = 200
_INSERT_CHUNK = 5_000


class LabelingFunctionSpecError(ValidationError, InputError):
    """A labeling function spec the server cannot use; ``field`` names the key at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        InputError.__init__(self, message, field=field)


def check_project(project: Project) -> None:
    """Labeling functions vote one label per item: projects whose task takes them
    (single-label, for now)."""
    if not task_of(project).labeling_functions:
        raise ValidationError(
            f"Labeling functions label single-label projects; project {project.id} is "
            f"{project.task.value}."
        )


def supported_project(session: Session, *, project_id: int) -> Project:
    """The project, if its task takes labeling functions (NotFoundError, ValidationError)."""
    project = get_project(session, project_id=project_id)
    check_project(project)
    return project


def checked_spec(
    project: Project, spec: Mapping[str, Any], *, sentences: SentenceVectors | None = None
) -> dict[str, Any]:
    """``spec`` as stored (its kind's keys, the name stripped), once the library built it.

    Raises
    ------
    LabelingFunctionSpecError
        Naming the field at fault.
    """
    cleaned = normalized_spec(spec)
    name = cleaned.get("name")
    if isinstance(name, str):
        cleaned["name"] = name.strip()
        if len(cleaned["name"]) > MAX_NAME:
            raise LabelingFunctionSpecError(
                f"A name has at most {MAX_NAME} characters.", field="name"
            )
    build_function(project, cleaned, sentences=sentences)
    return cleaned


def normalized_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` with only its kind's keys (unknown kinds are left for the check to name)."""
    kind = str(spec.get("kind"))
    own = () if kind == "zero_shot" else ("label",)
    keys = ("name", "kind", *own, *KIND_KEYS.get(kind, ()))
    return {key: spec[key] for key in keys if key in spec}


def stored_label(spec: Mapping[str, Any]) -> str:
    """The ``label`` column of a checked spec: its label, or ``*`` for a function that
    votes over every label of ``labels`` (zero-shot)."""
    return str(spec.get("label", ALL_LABELS))


def project_embedder(project: Project, sentences: SentenceVectors | None, kind: str) -> Embed:
    """The embedding ``kind`` compares, where ``project`` has one.

    Raises
    ------
    LabelingFunctionSpecError
        With field ``kind``: this server has no sentence embedder (the embeddings extra is
        not installed), or the project's features have no sentence embeddings.
    """
    if sentences is None:
        raise LabelingFunctionSpecError(
            f"A {kind} function compares sentence embeddings, which this server cannot "
            "compute: the embeddings extra is not installed (pip install "
            "'labelwise[embeddings]').",
            field="kind",
        )
    features = parse_settings(project.settings).features
    if features not in SENTENCE_FEATURES:
        raise LabelingFunctionSpecError(
            f"A {kind} function compares sentence embeddings, and project {project.id}'s "
            f"features ({features!r}) have none: switch its features to "
            f"{' or '.join(sorted(SENTENCE_FEATURES))} first.",
            field="kind",
        )
    return sentences.embed


def embedder_or_none(project: Project, sentences: SentenceVectors | None) -> Embed | None:
    """The project's sentence embedder, or None where it has none (see project_embedder)."""
    try:
        return project_embedder(project, sentences, "similarity")
    except LabelingFunctionSpecError:
        return None


def similarity_refused(project: Project, sentences: SentenceVectors | None) -> str | None:
    """Why the similarity kinds are refused in ``project``, or None where they are not."""
    try:
        project_embedder(project, sentences, "similarity")
    except LabelingFunctionSpecError as exc:
        return str(exc)
    return None


def build_function(
    project: Project, spec: Mapping[str, Any], *, sentences: SentenceVectors | None = None
) -> LabelingFunction:
    """The library function ``spec`` describes, checked against the project's labels.

    ``sentences`` embeds the anchors of the similarity kinds (a label's name, exemplars,
    every label's name), which the project must have sentence features for.

    Raises
    ------
    LabelingFunctionSpecError
        Naming the field at fault: a bad key, a similarity kind without embeddings
        (``kind``), a label the project does not have (``label``, or ``labels`` of a
        zero-shot function), or a pattern that does not compile.
    """
    kind = spec.get("kind")
    embed = None
    if isinstance(kind, str) and kind in EMBEDDING_KINDS:
        embed = project_embedder(project, sentences, kind)
    try:
        lf = function_from_spec(spec, embed=embed, regex_timeout=DEFAULT_REGEX_TIMEOUT)
    except InputError as exc:  # a keyword list of blanks, too, names no field: its keys
        raise LabelingFunctionSpecError(exc.message, field=exc.field or _kind_field(spec)) from None
    unknown = sorted(lf.labels - set(project.labels))
    if unknown:
        raise LabelingFunctionSpecError(
            f"{unknown[0]!r} is not a label of project {project.id}.",
            field="labels" if kind == "zero_shot" else "label",
        )
    return lf


def _kind_field(spec: Mapping[str, Any]) -> str | None:
    keys = KIND_KEYS.get(str(spec.get("kind")))
    return keys[0] if keys else None


class ItemTexts:
    """Texts to apply labeling functions to, with their sentence vectors embedded once, on
    the first function that compares them, and only from the first text one needs.

    Parameters
    ----------
    texts : list of str
    sentences : SentenceVectors, optional
        The embedder of the similarity functions (they were built with it).
    """

    def __init__(self, texts: Sequence[str], sentences: SentenceVectors | None) -> None:
        self.texts = list(texts)
        self.sentences = sentences
        self._vectors: Any = None
        self._from = len(self.texts)

    def vectors(self, start: int = 0) -> Any:
        """Unit-length rows of ``texts[start:]``, shape (len(texts) - start, d)."""
        if self._vectors is None or start < self._from:
            if self.sentences is None:  # build_function refused such functions already
                raise LabelingFunctionSpecError(
                    "Sentence embeddings are unavailable here.", field="kind"
                )
            self._vectors = self.sentences.embed(self.texts[start:])
            self._from = start
        return self._vectors[start - self._from :]

    def votes(self, lf: LabelingFunction, start: int = 0) -> list[str | None]:
        """``lf``'s votes on ``texts[start:]`` (LabelingFunctionError past a time limit)."""
        texts = self.texts[start:]
        if not texts:
            return []
        if isinstance(lf, SimilarityFunction | ZeroShotFunction):
            return lf.apply(texts, vectors=self.vectors(start))
        return lf.apply(texts)


def checked_votes(lf: LabelingFunction, texts: ItemTexts) -> list[str | None]:
    """``lf``'s votes on the probe texts (thrown away, for patterns) and on ``texts``.

    Raises
    ------
    LabelingFunctionSpecError
        With field ``pattern`` when the pattern ran past its time limit on one of them.
    """
    try:
        if not isinstance(lf, SimilarityFunction | ZeroShotFunction):
            lf.apply(PROBE_TEXTS)
        return texts.votes(lf)
    except LabelingFunctionError as exc:
        raise LabelingFunctionSpecError(str(exc), field="pattern") from None


def store_votes(
    session: Session,
    record: LabelingFunctionRecord,
    item_ids: Sequence[int],
    votes: Sequence[str | None],
    *,
    through_item_id: int,
    replace: bool,
) -> None:
    """Write ``record``'s votes on ``item_ids`` (all of its votes when ``replace``)."""
    if replace:
        session.execute(delete(WeakLabel).where(WeakLabel.function_id == record.id))
    rows = [
        {"function_id": record.id, "item_id": item_id, "version": record.version, "label": vote}
        for item_id, vote in zip(item_ids, votes, strict=True)
        if vote is not None
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        session.execute(insert(WeakLabel), rows[start : start + _INSERT_CHUNK])
    record.applied_version = record.version
    record.applied_through_item_id = through_item_id


def refresh_weak_labels(
    session: Session, *, project: Project, sentences: SentenceVectors | None = None
) -> int:
    """Apply the project's functions to what they have not seen; returns functions applied.

    Edited functions are applied to every item, current ones to new items only; the items'
    sentence vectors are embedded once for every similarity function (``sentences``:
    without it such functions wait for a caller that has it; once the project's features
    have no sentence embeddings, such a function stops with that reason). Commits when anything changed (a write transaction); otherwise
    only reads.
    """
    pending = _pending(session, project.id)
    if not pending:
        return 0
    begin_write(session)
    # Again under the write lock (PostgreSQL: the rows locked), so two refreshes never
    # insert the same votes.
    pending = _pending(session, project.id, lock=True)
    last_item_id = _last_item_id(session, project.id)
    start = min((r.applied_through_item_id for r, _ in pending), default=0)
    rows = session.execute(
        select(Item.id, Item.text)
        # Items imported meanwhile (PostgreSQL) wait for the next refresh: ``through``
        # must not claim them.
        .where(Item.project_id == project.id, Item.id > start, Item.id <= last_item_id)
        .order_by(Item.id)
    ).all()
    texts = ItemTexts([text for _, text in rows], sentences)
    for record, stale in pending:
        if sentences is None and record.kind in EMBEDDING_KINDS:
            # A caller without an embedder (the CLI, a script) leaves these to one that has
            # it, instead of stopping a function that works.
            continue
        seen = 0 if stale else record.applied_through_item_id
        first = next((k for k, (item_id, _) in enumerate(rows) if item_id > seen), len(rows))
        try:
            lf = build_function(project, record.spec, sentences=sentences)
            votes = texts.votes(lf, first)
        except (LabelingFunctionError, LabelingFunctionSpecError) as exc:
            _fail(session, record, str(exc))
            continue
        ids = [item_id for item_id, _ in rows[first:]]
        store_votes(session, record, ids, votes, through_item_id=last_item_id, replace=stale)
    session.commit()
    return len(pending)


def _pending(
    session: Session, project_id: int, *, lock: bool = False
) -> list[tuple[LabelingFunctionRecord, bool]]:
    """Functions with work to do, each with whether its stored votes are stale."""
    query = select(LabelingFunctionRecord).where(
        LabelingFunctionRecord.project_id == project_id, LabelingFunctionRecord.error.is_(None)
    )
    if lock:
        query = query.with_for_update()
    records = session.scalars(query.order_by(LabelingFunctionRecord.id)).all()
    last_item_id = _last_item_id(session, project_id)
    return [
        (r, r.applied_version != r.version)
        for r in records
        if r.applied_version != r.version or r.applied_through_item_id < last_item_id
    ]


def _last_item_id(session: Session, project_id: int) -> int:
    return session.scalar(select(func.max(Item.id)).where(Item.project_id == project_id)) or 0


def _fail(session: Session, record: LabelingFunctionRecord, error: str) -> None:
    # Its votes would be partial: drop them, and keep the function out of every count.
    session.execute(delete(WeakLabel).where(WeakLabel.function_id == record.id))
    record.error = error
    record.enabled = False
    record.applied_version = None
    record.applied_through_item_id = 0


@dataclass(frozen=True)
class ProjectVotes:
    """Every function's stored votes on the project's items, and the human labels.

    Attributes
    ----------
    matrix : LabelMatrix of shape (n_items, n_functions)
        Rows are item positions; columns ``records`` in order.
    records : list of LabelingFunctionRecord
    gold : dict of position → label
        Every item's human label (the annotators' consensus).
    audit_gold : dict of position → label
        The random audit sample's items only (empty without one).
    """

    matrix: LabelMatrix
    records: list[LabelingFunctionRecord]
    gold: dict[int, str]
    audit_gold: dict[int, str]

    def enabled(self) -> list[int]:
        """Columns of the enabled functions."""
        return [j for j, r in enumerate(self.records) if r.enabled]

    def columns(self, columns: Sequence[int]) -> LabelMatrix:
        """The matrix of ``columns`` only, in that order."""
        votes = self.matrix.votes.tocsc()[:, list(columns)].tocsr()
        return LabelMatrix(votes, self.matrix.classes, tuple(self.matrix.names[j] for j in columns))


def load_votes(session: Session, *, project: Project) -> ProjectVotes:
    """The stored votes and human labels of ``project`` (read only)."""
    records = list(
        session.scalars(
            select(LabelingFunctionRecord)
            .where(LabelingFunctionRecord.project_id == project.id)
            .order_by(LabelingFunctionRecord.id)
        )
    )
    n_items = session.scalar(select(func.count()).where(Item.project_id == project.id)) or 0
    classes = tuple(project.labels)
    index = {label: k for k, label in enumerate(classes)}
    column = {r.id: j for j, r in enumerate(records)}
    rows = session.execute(
        select(WeakLabel.function_id, Item.position, WeakLabel.label)
        .join(Item, Item.id == WeakLabel.item_id)
        .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
        .where(LabelingFunctionRecord.project_id == project.id)
    ).all()
    # A label since removed from the project votes for nothing.
    kept = [(column[f], p, index[label] + 1) for f, p, label in rows if label in index]
    votes = sparse.csr_matrix(
        (
            np.asarray([v for _, _, v in kept], dtype=np.int32),
            (
                np.asarray([p for _, p, _ in kept], dtype=np.intp),
                np.asarray([j for j, _, _ in kept], dtype=np.intp),
            ),
        ),
        shape=(n_items, len(records)),
        dtype=np.int32,
    )
    return ProjectVotes(
        matrix=LabelMatrix(votes, classes, tuple(r.name for r in records)),
        records=records,
        gold=human_labels(session, project=project, audit=None),
        audit_gold=human_labels(session, project=project, audit=True),
    )


def human_labels(session: Session, *, project: Project, audit: bool | None) -> dict[int, str]:
    """Each labeled item's human label by position: audit items, the others, or both."""
    task = task_of(project)
    wanted = (False, True) if audit is None else (audit,)
    values: dict[int, list[Any]] = {}
    for flag in wanted:
        for position, value, _ in session.execute(label_rows(project.id, audit=flag)):
            values.setdefault(position, []).append(value)
    known = set(project.labels)
    merged = {p: task.consensus(v) for p, v in values.items()}
    return {p: label for p, label in merged.items() if isinstance(label, str) and label in known}


def labeled_positions(session: Session, *, project_id: int) -> set[int]:
    """Positions of the items a person labeled (audit items included), any task."""
    return {
        position
        for audit in (False, True)
        for position, _, _ in session.execute(label_rows(project_id, audit=audit))
    }


@dataclass(frozen=True)
class FunctionsAnalysis:
    """Live numbers: the enabled functions together, and each function on its own.

    ``by_id`` holds every function's stats on all human labels; ``audit_by_id`` on the
    audit sample's (empty without one). A disabled function's overlap and conflict are
    what they would be were it enabled.
    """

    overall: MatrixStats
    by_id: dict[int, FunctionStats]
    audit_by_id: dict[int, FunctionStats]
    audit_items: int


def analyze_functions(votes: ProjectVotes) -> FunctionsAnalysis:
    """Coverage, overlap, conflict and accuracy (with its interval) of every function."""
    enabled = votes.enabled()
    overall = analyze(votes.columns(enabled), votes.gold)
    by_id: dict[int, FunctionStats] = {}
    audit_by_id: dict[int, FunctionStats] = {}
    audit = analyze(votes.columns(enabled), votes.audit_gold) if votes.audit_gold else None
    for k, j in enumerate(enabled):
        by_id[votes.records[j].id] = overall.functions[k]
        if audit is not None:
            audit_by_id[votes.records[j].id] = audit.functions[k]
    for j, record in enumerate(votes.records):
        if record.enabled:
            continue
        with_it = votes.columns([*enabled, j])
        by_id[record.id] = analyze(with_it, votes.gold).functions[-1]
        if votes.audit_gold:
            audit_by_id[record.id] = analyze(with_it, votes.audit_gold).functions[-1]
    return FunctionsAnalysis(overall, by_id, audit_by_id, len(votes.audit_gold))
