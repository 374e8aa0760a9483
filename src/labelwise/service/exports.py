"""Export a project's labels: one row per live label annotation, to a file or a page.

Columns: ``annotation_id``, ``item_id``, ``position``, ``text``, ``label`` (a name, or a
list of names in multi-label projects; ``|``-joined in CSV), ``source``, ``annotator``,
``created_at`` (ISO 8601, UTC), ``seconds_spent``, ``model_version``, ``strategy``,
``query_score`` and ``meta`` (the item's metadata: an object in JSONL, a JSON string in
CSV and Parquet, where one column type must fit every item). With ``include_undone``
an ``undone_at`` column is added.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from labelwise.data.rows import FORMATS
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.store import Annotation, AnnotationKind, Item, ModelVersion, Project, TaskType, User

COLUMNS = (
    "annotation_id",
    "item_id",
    "position",
    "text",
    "label",
    "source",
    "annotator",
    "created_at",
    "seconds_spent",
    "model_version",
    "strategy",
    "query_score",
    "meta",
)
MAX_PAGE = 1_000
_CHUNK = 5_000


@dataclass(frozen=True)
class LabeledRow:
    """One label annotation with its item and provenance.

    ``label`` is a name, or a list of names in a multi-label project; ``created_at`` and
    ``undone_at`` are timezone-aware UTC times; ``seconds_spent`` is in seconds.
    """

    annotation_id: int
    item_id: int
    position: int
    text: str
    label: str | list[str]
    source: str
    annotator: str | None
    created_at: datetime
    seconds_spent: float | None
    model_version: int | None
    strategy: str | None
    query_score: float | None
    meta: dict[str, Any]
    undone_at: datetime | None = None

    def to_record(self, *, include_undone: bool = False) -> dict[str, Any]:
        """The row as plain JSON values (ISO 8601 times), in column order."""
        out = {name: getattr(self, name) for name in COLUMNS}
        out["created_at"] = self.created_at.isoformat()
        if include_undone:
            out["undone_at"] = None if self.undone_at is None else self.undone_at.isoformat()
        return out


def list_labels(
    session: Session, *, project_id: int, offset: int = 0, limit: int = 100
) -> list[LabeledRow]:
    """A page of the project's live labels, by item position then annotation id."""
    if offset < 0:
        raise ValidationError(f"offset must be at least 0, got {offset}.")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be in [1, {MAX_PAGE}], got {limit}.")
    project = _project(session, project_id)
    query = _labels_query(project_id, include_undone=False).offset(offset).limit(limit)
    multi = project.task is TaskType.MULTI_LABEL
    return [_row(tuple(values), multi) for values in session.execute(query)]


def export_labels(
    session: Session, *, project_id: int, path: Path, include_undone: bool = False
) -> int:
    """Write the project's labels to ``path`` (``.jsonl``, ``.csv`` or ``.parquet``).

    The file is written beside its destination and renamed into place, so a reader
    never sees half a file and a failed export leaves an older file as it was.

    Returns
    -------
    int
        The number of rows written.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"Cannot export to {path.suffix!r} files; use one of {sorted(FORMATS)}."
        )
    project = _project(session, project_id)
    multi = project.task is TaskType.MULTI_LABEL
    query = _labels_query(project_id, include_undone=include_undone)
    result = session.execute(query.execution_options(yield_per=_CHUNK))
    rows = (_row(tuple(values), multi) for values in result)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        if fmt == "parquet":
            count = _write_parquet(temp, rows, multi=multi, include_undone=include_undone)
        else:
            count = _write_text(temp, rows, fmt=fmt, include_undone=include_undone)
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            temp.unlink()
        raise
    finally:
        # A streamed result holds a server-side cursor (PostgreSQL) until closed.
        result.close()
    return count


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def _labels_query(project_id: int, *, include_undone: bool) -> Select[tuple[Any, ...]]:
    query = (
        select(
            Annotation.id,
            Annotation.item_id,
            Item.position,
            Item.text,
            Annotation.value,
            Annotation.source,
            User.username,
            Annotation.created_at,
            Annotation.seconds_spent,
            ModelVersion.version,
            Annotation.strategy,
            Annotation.query_score,
            Item.meta,
            Annotation.undone_at,
        )
        .join(Item, Item.id == Annotation.item_id)
        .outerjoin(User, User.id == Annotation.annotator_id)
        .outerjoin(ModelVersion, ModelVersion.id == Annotation.model_version_id)
        .where(Annotation.project_id == project_id, Annotation.kind == AnnotationKind.LABEL)
        .order_by(Item.position, Annotation.id)
    )
    if not include_undone:
        query = query.where(Annotation.undone_at.is_(None))
    return query


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time the store writes is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _row(values: tuple[Any, ...], multi: bool) -> LabeledRow:
    (
        annotation_id,
        item_id,
        position,
        text,
        value,
        source,
        annotator,
        created_at,
        seconds_spent,
        model_version,
        strategy,
        query_score,
        meta,
        undone_at,
    ) = values
    if multi:
        label: str | list[str] = [str(v) for v in value] if isinstance(value, list) else [value]
    else:
        label = "|".join(value) if isinstance(value, list) else str(value)
    return LabeledRow(
        annotation_id=annotation_id,
        item_id=item_id,
        position=position,
        text=text,
        label=label,
        source=str(source),
        annotator=annotator,
        created_at=_utc(created_at),
        seconds_spent=seconds_spent,
        model_version=model_version,
        strategy=strategy,
        query_score=query_score,
        meta=meta or {},
        undone_at=None if undone_at is None else _utc(undone_at),
    )


def _write_text(path: Path, rows: Iterator[LabeledRow], *, fmt: str, include_undone: bool) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        if fmt == "csv":
            columns = [*COLUMNS, "undone_at"] if include_undone else list(COLUMNS)
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
        for row in rows:
            record = row.to_record(include_undone=include_undone)
            if writer is None:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if isinstance(record["label"], list):
                    record["label"] = "|".join(record["label"])
                record["meta"] = json.dumps(record["meta"], ensure_ascii=False)
                writer.writerow(record)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


def _write_parquet(
    path: Path, rows: Iterator[LabeledRow], *, multi: bool, include_undone: bool
) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        pa.field("annotation_id", pa.int64()),
        pa.field("item_id", pa.int64()),
        pa.field("position", pa.int64()),
        pa.field("text", pa.string()),
        pa.field("label", pa.list_(pa.string()) if multi else pa.string()),
        pa.field("source", pa.string()),
        pa.field("annotator", pa.string()),
        pa.field("created_at", pa.string()),
        pa.field("seconds_spent", pa.float64()),
        pa.field("model_version", pa.int64()),
        pa.field("strategy", pa.string()),
        pa.field("query_score", pa.float64()),
        pa.field("meta", pa.string()),
    ]
    if include_undone:
        fields.append(pa.field("undone_at", pa.string()))
    schema = pa.schema(fields)
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            record = row.to_record(include_undone=include_undone)
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
