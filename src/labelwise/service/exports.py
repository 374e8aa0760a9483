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

Parquet columns are typed: ids and counts int64 (null where absent), times
``timestamp[us, tz=UTC]``, ``is_audit`` boolean.
"""

from __future__ import annotations

import csv
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
from labelwise.store import Annotation, AnnotationKind, Item, ModelVersion, Project, User
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
#: What ``include`` may add besides labels, and the annotation kind each stands for.
INCLUDE = {"skips": AnnotationKind.SKIP, "flags": AnnotationKind.FLAG}
MAX_PAGE = 1_000
_CHUNK = 5_000


@dataclass(frozen=True)
class LabeledRow:
    """One label annotation with its item and provenance.

    ``label`` is a name, or a list of names in a multi-label project (None for a skip or
    a flag); ``created_at`` and ``undone_at`` are timezone-aware UTC times;
    ``seconds_spent`` is in seconds.
    """

    annotation_id: int
    item_id: int
    position: int
    text: str
    label: Any  # the task's export value: a name, a list of names, ...; None for a decision
    source: str
    annotator: str | None
    annotator_id: int | None
    created_at: datetime
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

    def to_record(
        self, *, include_undone: bool = False, include_decisions: bool = False
    ) -> dict[str, Any]:
        """The row as plain JSON values (ISO 8601 times), in column order."""
        out = self.to_typed(include_undone=include_undone, include_decisions=include_decisions)
        out["created_at"] = self.created_at.isoformat()
        if include_undone:
            out["undone_at"] = None if self.undone_at is None else self.undone_at.isoformat()
        return out

    def to_typed(
        self, *, include_undone: bool = False, include_decisions: bool = False
    ) -> dict[str, Any]:
        """The row in column order with its values as they are (datetimes stay datetimes)."""
        return {name: getattr(self, name) for name in columns(include_undone, include_decisions)}


def columns(include_undone: bool = False, include_decisions: bool = False) -> list[str]:
    """The export's columns, in order, for these options."""
    out = list(COLUMNS)
    if include_undone:
        out.append("undone_at")
    if include_decisions:
        out.extend(DECISION_COLUMNS)
    return out


def parse_include(values: Iterable[str]) -> frozenset[str]:
    """``include`` names (``skips``, ``flags``; commas allowed) checked, as a set."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(names - set(INCLUDE))
    if unknown:
        raise ValidationError(
            f"include may name {' and '.join(sorted(INCLUDE))}, got {', '.join(unknown)}."
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
) -> int:
    """Write the project's labels to ``path`` (``.jsonl``, ``.csv`` or ``.parquet``).

    The file is written beside its destination and moved into place, so a reader
    never sees half a file and a failed export leaves an older file as it was.

    Parameters
    ----------
    include : iterable of str
        ``"skips"`` and/or ``"flags"`` (or ``"skips,flags"``): those decisions become
        rows too, with ``kind`` and ``comment`` columns.
    overwrite : bool
        Replace an existing file at ``path``; without it an existing file is refused
        (``ConflictError``) and left as it was.

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
    kinds = tuple(INCLUDE[name] for name in sorted(parse_include(include)))
    if not overwrite and path.exists():
        raise _exists(path)
    project = _project(session, project_id)
    task = task_of(project)
    decisions = bool(kinds)
    query = _labels_query(project_id, include_undone=include_undone, kinds=kinds)
    learners = _learners(session, project_id)
    result = session.execute(query.execution_options(yield_per=_CHUNK))
    rows = (_row(tuple(values), task, learners) for values in result)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        names = columns(include_undone, decisions)
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


def _write_text(
    path: Path, rows: Iterator[LabeledRow], *, fmt: str, names: list[str], task: Task
) -> int:
    count = 0
    undone, decisions = "undone_at" in names, "kind" in names
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
        for row in rows:
            record = row.to_record(include_undone=undone, include_decisions=decisions)
            if writer is None:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if record["label"] is not None:
                    record["label"] = task.export_text(record["label"])
                record["meta"] = json.dumps(record["meta"], ensure_ascii=False)
                # As JSON spells it (and pandas/R read it), not Python's True.
                record["is_audit"] = "true" if record["is_audit"] else "false"
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
    }
    required = {"annotation_id", "item_id", "position", "text", "created_at", "is_audit"}
    return pa.schema([pa.field(name, types[name], nullable=name not in required) for name in names])


def _write_parquet(path: Path, rows: Iterator[LabeledRow], *, task: Task, names: list[str]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(names, task=task)
    undone, decisions = "undone_at" in names, "kind" in names
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            record = row.to_typed(include_undone=undone, include_decisions=decisions)
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
