"""Export a project's labels: one row per live label annotation, to a file or a page.

Columns: ``annotation_id``, ``item_id``, ``position``, ``text``, ``label`` (a name, or a
list of names in multi-label projects; ``|``-joined in CSV), ``source``, ``annotator``
(the username) and ``annotator_id`` (the user's own id, stable across renames),
``created_at`` (ISO 8601, UTC), ``seconds_spent``, ``model_version``, ``strategy``,
``chosen_by`` (the learner and features of the model version whose ranking served the
item: actively chosen labels suit the model that chose them, and may help another model
less; empty for items no model ranked), ``query_score``, ``is_audit`` (the item belongs to the audit sample: its labels measure
the model and are never trained on) and ``meta`` (the item's metadata: an object in
JSONL, a JSON string in CSV and Parquet, where one column type must fit every item).
With ``include_undone`` an ``undone_at`` column is added. With ``include={"skips",
"flags"}`` (either or both) skip and flag decisions are rows too, with ``kind``
(``label``, ``skip`` or ``flag``) and ``comment`` columns; their ``label`` is empty.

With ``"rules"`` in ``include`` every stored weak label is a row too: one per labeling
function vote, ``kind`` and ``source`` ``rule``, the item's columns, the voted ``label``
and three more columns, empty on the other rows: ``labeling_function`` (the function's
name), ``labeling_function_version`` (the version that cast the vote) and
``labeling_function_enabled``. A disabled function's votes are exported too, marked
``false`` there: disabling keeps them stored, and they say what the function voted (a
function stopped by an error has none: they are dropped with it). A vote is no
annotation, so its ``annotation_id``, ``created_at``, annotator and model columns are
empty. The functions are applied to items they have not seen first (similarity kinds
only by a caller with the project's sentence vectors; the CLI exports those as last
applied). Rows come by item position, an item's annotations before its votes (by
function). Only projects whose task takes labeling functions (single-label, today) have
votes.

Parquet columns are typed: ids and counts int64 (null where absent), times
``timestamp[us, tz=UTC]``, ``is_audit`` and ``labeling_function_enabled`` boolean.
``annotation_id`` and ``created_at`` are nullable only in an export with rules.
"""

from __future__ import annotations

import csv
import heapq
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from labelwise.data.rows import FORMATS
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.projects import task_of
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.weak_labels import refresh_weak_labels
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    LabelingFunctionRecord,
    ModelVersion,
    Project,
    User,
    WeakLabel,
)
from labelwise.tasks import Task

COLUMNS = (
    "annotation_id",
    "item_id",
    "position",
    "text",
    "label",
    "source",
    "annotator",
    "annotator_id",
    "created_at",
    "seconds_spent",
    "model_version",
    "strategy",
    "chosen_by",
    "query_score",
    "is_audit",
    "meta",
)
#: Columns added when skips and flags are exported too.
DECISION_COLUMNS = ("kind", "comment")
#: Columns added when weak labels are exported too (beside the decision columns).
RULE_COLUMNS = ("labeling_function", "labeling_function_version", "labeling_function_enabled")
#: The decisions ``include`` may add besides labels, and the annotation kind each stands for.
DECISIONS = {"skips": AnnotationKind.SKIP, "flags": AnnotationKind.FLAG}
#: What ``include`` may name: decisions, and ``rules`` (the labeling functions' votes).
INCLUDE = (*DECISIONS, "rules")
#: The ``kind`` (and ``source``) of a weak label's row.
RULE = "rule"
MAX_PAGE = 1_000
_CHUNK = 5_000


@dataclass(frozen=True)
class LabeledRow:
    """One label annotation (or labeling function vote) with its item and provenance.

    ``label`` is a name, or a list of names in a multi-label project (None for a skip or
    a flag); ``created_at`` and ``undone_at`` are timezone-aware UTC times (None for a
    vote, which is no annotation); ``seconds_spent`` is in seconds. The
    ``labeling_function`` fields are set on a vote's row only.
    """

    annotation_id: int | None
    item_id: int
    position: int
    text: str
    label: Any  # the task's export value: a name, a list of names, ...; None for a decision
    source: str
    annotator: str | None
    annotator_id: int | None
    created_at: datetime | None
    seconds_spent: float | None
    model_version: int | None
    strategy: str | None
    chosen_by: str | None
    query_score: float | None
    is_audit: bool
    meta: dict[str, Any]
    undone_at: datetime | None = None
    kind: str = AnnotationKind.LABEL.value
    comment: str = ""
    labeling_function: str | None = None
    labeling_function_version: int | None = None
    labeling_function_enabled: bool | None = None

    def to_record(
        self,
        *,
        include_undone: bool = False,
        include_decisions: bool = False,
        include_rules: bool = False,
    ) -> dict[str, Any]:
        """The row as plain JSON values (ISO 8601 times), in column order."""
        out = self.to_typed(
            include_undone=include_undone,
            include_decisions=include_decisions,
            include_rules=include_rules,
        )
        out["created_at"] = _iso(self.created_at)
        if include_undone:
            out["undone_at"] = _iso(self.undone_at)
        return out

    def to_typed(
        self,
        *,
        include_undone: bool = False,
        include_decisions: bool = False,
        include_rules: bool = False,
    ) -> dict[str, Any]:
        """The row in column order with its values as they are (datetimes stay datetimes)."""
        names = columns(include_undone, include_decisions, include_rules)
        return {name: getattr(self, name) for name in names}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def columns(
    include_undone: bool = False, include_decisions: bool = False, include_rules: bool = False
) -> list[str]:
    """The export's columns, in order, for these options (rules come with ``kind``)."""
    out = list(COLUMNS)
    if include_undone:
        out.append("undone_at")
    if include_decisions or include_rules:
        out.extend(DECISION_COLUMNS)
    if include_rules:
        out.extend(RULE_COLUMNS)
    return out


def parse_include(values: Iterable[str]) -> frozenset[str]:
    """``include`` names (``skips``, ``flags``, ``rules``; commas allowed) checked, as a set."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(INCLUDE))
    if unknown:
        *others, last = sorted(INCLUDE)
        raise ValidationError(
            f"include may name {', '.join(others)} or {last}, got {', '.join(unknown)}."
        )
    return frozenset(names)


def list_labels(
    session: Session, *, project_id: int, offset: int = 0, limit: int = 100
) -> list[LabeledRow]:
    """A page of the project's live labels, by item position then annotation id."""
    if offset < 0:
        raise ValidationError(f"offset must be at least 0, got {offset}.")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be in [1, {MAX_PAGE}], got {limit}.")
    project = _project(session, project_id)
    query = _labels_query(project_id, include_undone=False, kinds=()).offset(offset).limit(limit)
    task = task_of(project)
    learners = _learners(session, project_id)
    return [_row(tuple(values), task, learners) for values in session.execute(query)]


def export_labels(
    session: Session,
    *,
    project_id: int,
    path: Path,
    include_undone: bool = False,
    include: Iterable[str] = (),
    overwrite: bool = False,
    sentences: SentenceVectors | None = None,
) -> int:
    """Write the project's labels to ``path`` (``.jsonl``, ``.csv`` or ``.parquet``).

    The file is written beside its destination and moved into place, so a reader
    never sees half a file and a failed export leaves an older file as it was.

    Parameters
    ----------
    include : iterable of str
        ``"skips"``, ``"flags"`` and/or ``"rules"`` (or ``"skips,flags"``...): those
        decisions, or the labeling functions' votes, become rows too, with ``kind`` and
        ``comment`` columns (and the ``labeling_function`` ones for votes).
    overwrite : bool
        Replace an existing file at ``path``; without it an existing file is refused
        (``ConflictError``) and left as it was.
    sentences : SentenceVectors, optional
        The project's sentence vectors, to bring similarity functions' votes up to date
        before ``rules`` are exported; without them those are exported as last applied.

    Returns
    -------
    int
        The number of rows written.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt == "conll":
        # Not a table of labels: a span project's training data (service.span_exports).
        fmt = None
    if fmt is None:
        raise ValidationError(
            f"Cannot export labels to {path.suffix!r} files; use one of "
            f"{sorted(set(FORMATS) - {'.conll'})} (span projects' training data: "
            "labelwise export --format spans|conll|rasa)."
        )
    included = parse_include(include)
    kinds = tuple(kind for name, kind in sorted(DECISIONS.items()) if name in included)
    rules = "rules" in included
    if not overwrite and path.exists():
        raise _exists(path)
    project = _project(session, project_id)
    if rules:
        # Votes on items imported since the functions last ran are owed first (commits).
        refresh_weak_labels(session, project=project, sentences=sentences)
    task = task_of(project)
    query = _labels_query(project_id, include_undone=include_undone, kinds=kinds)
    learners = _learners(session, project_id)
    results = [session.execute(query.execution_options(yield_per=_CHUNK))]
    rows: Iterator[LabeledRow] = (_row(tuple(values), task, learners) for values in results[0])
    if rules:
        results.append(
            session.execute(_rules_query(project_id).execution_options(yield_per=_CHUNK))
        )
        votes = (_rule_row(tuple(values), task) for values in results[1])
        # Both streams come by position: merged, an item's annotations before its votes.
        rows = heapq.merge(rows, votes, key=lambda row: (row.position, row.kind == RULE))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        names = columns(include_undone, bool(kinds), rules)
        if fmt == "parquet":
            count = _write_parquet(temp, rows, task=task, names=names)
        else:
            count = _write_text(temp, rows, fmt=fmt, names=names, task=task)
        _move_into_place(temp, path, overwrite=overwrite)
    except BaseException:
        with suppress(FileNotFoundError):
            temp.unlink()
        raise
    finally:
        # A streamed result holds a server-side cursor (PostgreSQL) until closed.
        for result in results:
            result.close()
    return count


def _exists(path: Path) -> ConflictError:
    return ConflictError(f"{path.resolve()} already exists; not overwritten (--force replaces it).")


def _move_into_place(temp: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, path)
        return
    try:
        # A hard link fails if the name exists, so a file that appeared during the
        # export is not clobbered either (os.replace would silently replace it).
        os.link(temp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError:  # a file system without hard links: the check above must do
        if path.exists():
            raise _exists(path) from None
        os.replace(temp, path)
    else:
        temp.unlink()


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def _labels_query(
    project_id: int, *, include_undone: bool, kinds: tuple[AnnotationKind, ...]
) -> Select[tuple[Any, ...]]:
    query = (
        select(
            Annotation.id,
            Annotation.item_id,
            Item.position,
            Item.text,
            Annotation.value,
            Annotation.source,
            User.username,
            Annotation.annotator_id,
            Annotation.created_at,
            Annotation.seconds_spent,
            ModelVersion.version,
            Annotation.strategy,
            Annotation.model_version_id,
            Annotation.query_score,
            Item.is_audit,
            Item.meta,
            Annotation.undone_at,
            Annotation.kind,
            Annotation.comment,
        )
        .join(Item, Item.id == Annotation.item_id)
        .outerjoin(User, User.id == Annotation.annotator_id)
        .outerjoin(ModelVersion, ModelVersion.id == Annotation.model_version_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind.in_((AnnotationKind.LABEL, *kinds)),
        )
        .order_by(Item.position, Annotation.id)
    )
    if not include_undone:
        query = query.where(Annotation.undone_at.is_(None))
    return query


def _rules_query(project_id: int) -> Select[tuple[Any, ...]]:
    """Every stored vote of the project's functions, by item position then function."""
    return (
        select(
            Item.id,
            Item.position,
            Item.text,
            WeakLabel.label,
            Item.is_audit,
            Item.meta,
            LabelingFunctionRecord.name,
            WeakLabel.version,
            LabelingFunctionRecord.enabled,
        )
        .join(WeakLabel, WeakLabel.item_id == Item.id)
        .join(LabelingFunctionRecord, LabelingFunctionRecord.id == WeakLabel.function_id)
        .where(LabelingFunctionRecord.project_id == project_id)
        .order_by(Item.position, LabelingFunctionRecord.id)
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time the store writes is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _learners(session: Session, project_id: int) -> dict[int, str]:
    """What chose each model version's queue, by version id (versions trained before the
    worker recorded it have none). Read once per export: a JSON field per row would
    carry every version's metrics along."""
    return {
        version_id: str(metrics["learner"])
        for version_id, metrics in session.execute(
            select(ModelVersion.id, ModelVersion.metrics).where(
                ModelVersion.project_id == project_id
            )
        )
        if isinstance(metrics, dict) and metrics.get("learner")
    }


def _row(values: tuple[Any, ...], task: Task, learners: dict[int, str]) -> LabeledRow:
    (
        annotation_id,
        item_id,
        position,
        text,
        value,
        source,
        annotator,
        annotator_id,
        created_at,
        seconds_spent,
        model_version,
        strategy,
        model_version_id,
        query_score,
        is_audit,
        meta,
        undone_at,
        kind,
        comment,
    ) = values
    label = task.export_value(value) if kind is AnnotationKind.LABEL else None
    return LabeledRow(
        annotation_id=annotation_id,
        item_id=item_id,
        position=position,
        text=text,
        label=label,
        source=str(source),
        annotator=annotator,
        annotator_id=annotator_id,
        created_at=_utc(created_at),
        seconds_spent=seconds_spent,
        model_version=model_version,
        strategy=strategy,
        # The strategy names the ranking that served the item; random audit items
        # were served at random whatever the model.
        chosen_by=None if is_audit or strategy is None else learners.get(model_version_id),
        query_score=query_score,
        is_audit=bool(is_audit),
        meta=meta or {},
        undone_at=None if undone_at is None else _utc(undone_at),
        kind=str(kind),
        comment=comment or "",
    )


def _rule_row(values: tuple[Any, ...], task: Task) -> LabeledRow:
    item_id, position, text, label, is_audit, meta, function, version, enabled = values
    return LabeledRow(
        annotation_id=None,
        item_id=item_id,
        position=position,
        text=text,
        label=task.export_value(label),
        source=RULE,
        annotator=None,
        annotator_id=None,
        created_at=None,
        seconds_spent=None,
        model_version=None,
        strategy=None,
        chosen_by=None,
        query_score=None,
        is_audit=bool(is_audit),
        meta=meta or {},
        kind=RULE,
        labeling_function=function,
        labeling_function_version=version,
        labeling_function_enabled=bool(enabled),
    )


#: Boolean columns, written ``true``/``false`` in CSV (empty where absent).
_BOOLEANS = ("is_audit", "labeling_function_enabled")


def _options(names: list[str]) -> dict[str, bool]:
    """The ``to_record``/``to_typed`` options that give the columns ``names``."""
    return {
        "include_undone": "undone_at" in names,
        "include_decisions": "kind" in names,
        "include_rules": "labeling_function" in names,
    }


def _write_text(
    path: Path, rows: Iterator[LabeledRow], *, fmt: str, names: list[str], task: Task
) -> int:
    count = 0
    options = _options(names)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
        for row in rows:
            record = row.to_record(**options)
            if writer is None:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if record["label"] is not None:
                    record["label"] = task.export_text(record["label"])
                record["meta"] = json.dumps(record["meta"], ensure_ascii=False)
                for name in _BOOLEANS:
                    if record.get(name) is not None:
                        # As JSON spells it (and pandas/R read it), not Python's True.
                        record[name] = "true" if record[name] else "false"
                writer.writerow(record)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def _parquet_schema(names: list[str], *, task: Task) -> Any:
    import pyarrow as pa

    time = pa.timestamp("us", tz="UTC")
    types = {
        "annotation_id": pa.int64(),
        "item_id": pa.int64(),
        "position": pa.int64(),
        "text": pa.string(),
        "label": task.export_arrow_type(),
        "source": pa.string(),
        "annotator": pa.string(),
        "annotator_id": pa.int64(),
        "created_at": time,
        "seconds_spent": pa.float64(),
        "model_version": pa.int64(),
        "strategy": pa.string(),
        "chosen_by": pa.string(),
        "query_score": pa.float64(),
        "is_audit": pa.bool_(),
        "meta": pa.string(),
        "undone_at": time,
        "kind": pa.string(),
        "comment": pa.string(),
        "labeling_function": pa.string(),
        "labeling_function_version": pa.int64(),
        "labeling_function_enabled": pa.bool_(),
    }
    required = {"item_id", "position", "text", "is_audit"}
    if "labeling_function" not in names:
        # Every row is an annotation: it has an id and a time (a vote has neither).
        required |= {"annotation_id", "created_at"}
    return pa.schema([pa.field(name, types[name], nullable=name not in required) for name in names])


def _write_parquet(path: Path, rows: Iterator[LabeledRow], *, task: Task, names: list[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(names, task=task)
    options = _options(names)
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            record = row.to_typed(**options)
            record["meta"] = json.dumps(record["meta"], ensure_ascii=False)
            chunk.append(record)
            if len(chunk) == _CHUNK:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count += len(chunk)
                chunk = []
        # Written even when empty, so an export with no labels still has the columns.
        writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
        count += len(chunk)
    return count
