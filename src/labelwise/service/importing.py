"""Import items (and optional labels) from a JSONL, CSV or Parquet file into a project.

One file is one transaction: either every good row is stored (with ``on_error="skip"``)
or, when a row is bad and ``on_error="abort"``, nothing is, and the error lists every bad
row by file, line and field. Blank lines are skipped silently (they hold no record);
duplicates (by :func:`content_hash`) of items already in the project or earlier in the
file are counted, not stored, labels included, so importing a file twice adds nothing.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from labelwise.data.rows import Row, iter_rows
from labelwise.data.schema import LabelSource
from labelwise.exceptions import InputError
from labelwise.service.errors import NotFoundError, ServiceError, ValidationError
from labelwise.service.events import record
from labelwise.store import Annotation, AnnotationKind, Item, Project, TaskType, User

#: Longest text an item may have, in characters (a long e-mail is ~10,000).
MAX_TEXT_CHARS = 100_000
#: Row errors an ImportFailedError carries; the count of all of them is kept.
MAX_REPORTED_ERRORS = 100
_BATCH = 5_000
#: Imports at least this large refresh PostgreSQL's table statistics right away.
ANALYZE_AFTER = 1_000
# Core tables, not ORM classes, for the bulk inserts: the ORM's bulk path re-collects
# every row (about twice the time for 100,000 rows) for features an import does not use.
_ITEMS = cast(Table, Item.__table__)
_ANNOTATIONS = cast(Table, Annotation.__table__)


class ImportFailedError(ServiceError, InputError):
    """Bad rows in an import with ``on_error="abort"``; nothing was stored.

    It is an :class:`InputError` located at the first bad row, so a caller that only
    prints input errors shows where to look; ``errors`` holds the first
    ``MAX_REPORTED_ERRORS`` of them in file order and ``n_errors`` counts them all.
    """

    def __init__(self, file: str | Path, errors: list[InputError], n_errors: int) -> None:
        self.errors = errors
        self.n_errors = n_errors
        first = errors[0]
        super().__init__(
            f"{n_errors:,} bad row{'s' if n_errors != 1 else ''}, nothing was imported; "
            f"first: {first.message}",
            file=file,
            line=first.line,
            field=first.field,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "n_errors": self.n_errors,
            "errors": [e.to_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes
    ----------
    file : str
        The file's name.
    rows : int
        Records read (blank lines not counted).
    added : int
        New items.
    duplicates : int
        Rows whose text was already in the project or earlier in the file.
    labeled : int
        Label annotations created (one per added item with a label; 0 for an
        evaluation set, whose labels are reference labels, not annotations).
    skipped : list of dict
        ``InputError.to_dict()`` of every bad row skipped (``on_error="skip"``).
    evaluation : bool
        The rows were imported as the held-out evaluation set.
    """

    file: str
    rows: int
    added: int
    duplicates: int
    labeled: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    evaluation: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def content_hash(text: str) -> str:
    """SHA-256 hex of the text after NFKC, case folding and whitespace collapsing.

    "Hello  World", "hello world" and "ＨＥＬＬＯ world" (full-width) share one hash:
    the same request typed twice is one item to label, not two.
    """
    normal = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Candidate:
    line: int
    text: str
    hash: str
    label: str | list[str] | None
    meta: dict[str, Any]


def import_items(
    session: Session,
    *,
    project_id: int,
    path: Path,
    user: User | None = None,
    text_field: str = "text",
    label_field: str = "label",
    on_error: Literal["abort", "skip"] = "abort",
    source: LabelSource = LabelSource.HUMAN,
    max_text_chars: int = MAX_TEXT_CHARS,
    evaluation: bool = False,
) -> ImportReport:
    """Add the file's rows as items of the project, with their labels if present.

    Parameters
    ----------
    path : Path
        ``.jsonl``, ``.csv`` or ``.parquet``. Every field other than the text and label
        becomes item metadata.
    user : User or None
        Recorded as the annotator of imported labels and in the event log.
    text_field, label_field : str
        Column / key names. Labels must be among the project's; in multi-label projects
        a label is a list of names, or a ``|``-separated string (CSV).
    on_error : {"abort", "skip"}
        On bad rows, store nothing and raise ImportFailedError, or store the good rows
        and list the bad ones in ``ImportReport.skipped``.
    source : LabelSource
        Provenance of the imported labels (human, model or rule).
    max_text_chars : int
        Longer texts are bad rows.
    evaluation : bool
        Import a held-out evaluation set instead: every row needs a label, kept as the
        item's reference label (not an annotation). These items are never served and
        never trained on; each model version is scored on them. A row whose text is
        already in the project (in either role) is left out as a duplicate, so an
        evaluation item can never leak into training.

    Raises
    ------
    NotFoundError
        No such project.
    InputError
        The file as a whole cannot be read (type, encoding, header, no records).
    ImportFailedError
        Bad rows with ``on_error="abort"``.
    """
    if on_error not in ("abort", "skip"):
        raise ValidationError(f"on_error must be 'abort' or 'skip', got {on_error!r}.")
    if max_text_chars < 1:
        raise ValidationError(f"max_text_chars must be at least 1, got {max_text_chars}.")
    path = Path(path)
    user_id = user.id if user is not None else None
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    task = project.task
    # End the read before parsing: on SQLite every transaction holds the write lock
    # (BEGIN IMMEDIATE), and annotators should not wait while a large file is parsed.
    session.rollback()

    errors: list[InputError] = []
    candidates: list[_Candidate] = []
    n_rows = 0
    for row in iter_rows(path, text_field=text_field):
        n_rows += 1
        parsed = (
            row
            if isinstance(row, InputError)
            else _parse(row, path, task, text_field, label_field, max_text_chars)
        )
        if evaluation and isinstance(parsed, _Candidate) and parsed.label is None:
            parsed = InputError(
                "an evaluation set needs a label on every row",
                file=path,
                line=parsed.line,
                field=label_field,
            )
        if isinstance(parsed, InputError):
            errors.append(parsed)
        else:
            candidates.append(parsed)
    if n_rows == 0:
        raise InputError("no records found", file=path)

    try:
        report = _store(
            session,
            project_id=project_id,
            path=path,
            user_id=user_id,
            candidates=candidates,
            errors=errors,
            n_rows=n_rows,
            on_error=on_error,
            source=source,
            label_field=label_field,
            evaluation=evaluation,
        )
    except BaseException:
        session.rollback()
        raise
    session.commit()
    if report.added >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the planner drives the queue query from the ranked
        # entries instead of testing every new item (milliseconds instead of ~0.3 s on
        # 100,000 items until autovacuum would have analyzed the table).
        session.execute(text("ANALYZE items"))
        session.commit()
    return report


def _store(
    session: Session,
    *,
    project_id: int,
    path: Path,
    user_id: int | None,
    candidates: list[_Candidate],
    errors: list[InputError],
    n_rows: int,
    on_error: str,
    source: LabelSource,
    label_field: str,
    evaluation: bool,
) -> ImportReport:
    # The row lock serializes imports into one project (PostgreSQL; SQLite's write lock
    # already does), so two of them cannot hand out the same positions.
    project = session.get(Project, project_id, with_for_update=True, populate_existing=True)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    known = set(project.labels)
    valid: list[_Candidate] = []
    for candidate in candidates:
        problem = _unknown_label(candidate, known, project.labels, path, label_field)
        if problem is None:
            valid.append(candidate)
        else:
            errors.append(problem)
    errors.sort(key=lambda e: e.line or 0)
    if errors and on_error == "abort":
        raise ImportFailedError(path, errors[:MAX_REPORTED_ERRORS], len(errors))

    existing = _existing_hashes(session, project_id, {c.hash for c in valid})
    fresh: list[_Candidate] = []
    for candidate in valid:
        if candidate.hash not in existing:
            existing.add(candidate.hash)
            fresh.append(candidate)
    start = (
        session.scalar(select(func.max(Item.position)).where(Item.project_id == project_id))
        if fresh
        else None
    )
    start = -1 if start is None else start
    start += 1
    now = datetime.now(UTC)
    item_rows = [
        {
            "project_id": project_id,
            "position": start + offset,
            "text": candidate.text,
            "meta": candidate.meta,
            "source": path.name[-500:],
            "content_hash": candidate.hash,
            "is_audit": False,
            "is_evaluation": evaluation,
            "reference_label": candidate.label if evaluation else None,
            "created_at": now,
        }
        for offset, candidate in enumerate(fresh)
    ]
    for batch in _batches(item_rows):
        session.execute(insert(_ITEMS), batch)

    labeled = [
        (start + i, c.label) for i, c in enumerate(fresh) if c.label is not None and not evaluation
    ]
    if labeled:
        ids = dict(
            session.execute(
                select(Item.position, Item.id).where(
                    Item.project_id == project_id, Item.position >= start
                )
            ).all()
        )
        annotation_rows = [
            {
                "project_id": project_id,
                "item_id": ids[position],
                "annotator_id": user_id,
                "kind": AnnotationKind.LABEL,
                "value": label,
                "source": source,
                "created_at": now,
            }
            for position, label in labeled
        ]
        for batch in _batches(annotation_rows):
            session.execute(insert(_ANNOTATIONS), batch)

    report = ImportReport(
        file=path.name,
        rows=n_rows,
        added=len(fresh),
        duplicates=len(valid) - len(fresh),
        labeled=len(labeled),
        skipped=[e.to_dict() for e in errors],
        evaluation=evaluation,
    )
    record(
        session,
        "import",
        project_id=project_id,
        user_id=user_id,
        file=report.file,
        rows=report.rows,
        added=report.added,
        duplicates=report.duplicates,
        labeled=report.labeled,
        skipped=len(report.skipped),
        evaluation=evaluation,
        source=str(source),
        first_position=start if fresh else None,
    )
    return report


def _existing_hashes(session: Session, project_id: int, hashes: set[str]) -> set[str]:
    """The subset of ``hashes`` already in the project.

    One streamed pass over the project's hashes keeps only those in the file, so memory
    follows the file, not the project. (Chunked ``IN`` lists were tried: right after a
    large import PostgreSQL has no statistics yet and scans the table once per chunk.)
    """
    query = select(Item.content_hash).where(Item.project_id == project_id)
    stream = session.scalars(query.execution_options(yield_per=20_000))
    return {value for value in stream if value in hashes}


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for begin in range(0, len(rows), _BATCH):
        yield rows[begin : begin + _BATCH]


def _parse(
    row: Row,
    path: Path,
    task: TaskType,
    text_field: str,
    label_field: str,
    max_text_chars: int,
) -> _Candidate | InputError:
    values = row.values

    def error(message: str, name: str) -> InputError:
        return InputError(message, file=path, line=row.line, field=name)

    if text_field not in values:
        return error(f"missing {text_field!r}", text_field)
    text = values[text_field]
    if text is None or (isinstance(text, str) and not text.strip()):
        return error("empty text", text_field)
    if not isinstance(text, str):
        return error(f"text must be a string, got {type(text).__name__}", text_field)
    if len(text) > max_text_chars:
        return error(
            f"text has {len(text):,} characters; the limit is {max_text_chars:,}", text_field
        )
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and no real text needs one.
        return error("text contains a NUL character", text_field)
    try:
        label = _label_of(values.get(label_field), task)
    except _LabelProblem as exc:
        return error(str(exc), label_field)
    meta = {k: _json_safe(v) for k, v in values.items() if k not in (text_field, label_field)}
    return _Candidate(row.line, text, content_hash(text), label, meta)


class _LabelProblem(Exception):
    """A label value of the wrong shape; the message says which shape is expected."""


def _label_of(value: Any, task: TaskType) -> str | list[str] | None:
    """The label in the project's shape (None: the row is unlabeled).

    In a multi-label project an empty list is a decision ("none of the labels apply")
    and is stored; an empty string or a missing value means "not labeled".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if task is TaskType.SPANS:
        raise _LabelProblem("span labels cannot be imported yet; leave the label column out")
    if task is TaskType.MULTI_LABEL:
        if isinstance(value, str):
            names = [part.strip() for part in value.split("|")]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            names = [v.strip() for v in value]
        else:
            raise _LabelProblem(
                "a multi-label label must be a list of label names or a "
                f"'|'-separated string, got {type(value).__name__}"
            )
        # Order kept, repeats dropped: ["a", "a"] is the same decision as ["a"].
        return list(dict.fromkeys(name for name in names if name))
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _LabelProblem(f"label must be a string, got {type(value).__name__}")


def _unknown_label(
    candidate: _Candidate, known: set[str], labels: list[str], path: Path, label_field: str
) -> InputError | None:
    label = candidate.label
    names = [] if label is None else [label] if isinstance(label, str) else label
    unknown = [name for name in names if name not in known]
    if not unknown:
        return None
    shown = ", ".join(repr(name) for name in labels[:10]) + (", ..." if len(labels) > 10 else "")
    noun = "labels" if len(unknown) > 1 else "label"
    return InputError(
        f"unknown {noun} {', '.join(repr(n) for n in unknown)}; the project's labels are {shown}",
        file=path,
        line=candidate.line,
        field=label_field,
    )


def _json_safe(value: Any) -> Any:
    """``value`` as JSON the database accepts: NaN and infinities become null."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
