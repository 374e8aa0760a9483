"""Import items (and optional labels) from a JSONL, CSV or Parquet file into a project.

An import is a job (``Job.kind == "import"``): the server's worker runs it in the
background, the CLI runs the same job inline (:func:`import_items`). The file is parsed
outside any transaction and its good rows are staged (``import_rows``) in short
transactions, so labeling goes on meanwhile; then one transaction publishes them.

One file is all or nothing: either every good row is stored (with ``on_error="skip"``)
or, when a row is bad and ``on_error="abort"``, nothing is, and the error lists every bad
row by file, line and field. Blank lines are skipped silently (they hold no record);
duplicates (by :func:`content_hash`) of items already in the project or earlier in the
file are counted, not stored as items; their labels are attached to the existing item as
new annotations, unless that item already has the same label from the same source (so
importing a file twice adds nothing) or is a held-out evaluation item; the report's
``notes`` say what was left out and why.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, Literal, cast

from sqlalchemy import (
    Integer,
    Table,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from labelwise.data.rows import Row, iter_rows
from labelwise.data.schema import LabelSource
from labelwise.exceptions import InputError
from labelwise.service.errors import NotFoundError, ServiceError, ValidationError
from labelwise.service.events import record
from labelwise.service.job_errors import DETAIL, failure_detail, failure_message
from labelwise.service.projects import task_of
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    ImportRow,
    Item,
    Job,
    JobStatus,
    Project,
    User,
)
from labelwise.tasks import Task

#: Longest text an item may have, in characters (a long e-mail is ~10,000).
MAX_TEXT_CHARS = 100_000
#: Row errors an ImportFailedError carries; the count of all of them is kept.
MAX_REPORTED_ERRORS = 100
_BATCH = 5_000
#: Rows staged per transaction: about 10-30 ms of write lock on SQLite.
STAGE_BATCH = 2_000
#: Staged rows published per write transaction: ~0.1 s of SQLite's write lock (0.4 s p99)
#: (items, their labels and the staged rows' deletion; see docs/architecture.md).
PUBLISH_BATCH = 500
#: Tries of a publish that stopped for a reason other than its rows (the database, a
#: killed worker) before the job is failed with what it had published.
PUBLISH_ATTEMPTS = 3
#: ``Job.kind`` of an import.
IMPORT_KIND = "import"
_IN_CHUNK = 500
_DISCARD_BATCH = 10_000
#: Imports at least this large refresh PostgreSQL's table statistics right away.
ANALYZE_AFTER = 1_000
# Core tables, not ORM classes, for the bulk inserts: the ORM's bulk path re-collects
# every row (about twice the time for 100,000 rows) for features an import does not use.
_ITEMS = cast(Table, Item.__table__)
_ANNOTATIONS = cast(Table, Annotation.__table__)
_IMPORT_ROWS = cast(Table, ImportRow.__table__)


class PublishInterruptedError(ServiceError):
    """The publish stopped part-way for a reason other than the rows; the job is queued again.

    Every row was valid and is still staged, so the worker finishes the publish (from
    the first staged row left) when it next runs: the import still ends with all rows.
    """


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
    attached : int
        Labels of duplicate rows attached to the item already holding that text.
    notes : list of str
        What was left out beyond bad rows, and why (one sentence each).
    """

    file: str
    rows: int
    added: int
    duplicates: int
    labeled: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    evaluation: bool = False
    attached: int = 0
    notes: list[str] = field(default_factory=list)

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


@dataclass(frozen=True)
class ImportOptions:
    """What an import job was asked to do: the file's columns, error mode, label source.

    Stored as the job's ``payload`` (plain JSON), so a queued job survives a restart.
    """

    text_field: str = "text"
    label_field: str = "label"
    on_error: Literal["abort", "skip"] = "abort"
    source: LabelSource = LabelSource.HUMAN
    max_text_chars: int = MAX_TEXT_CHARS
    evaluation: bool = False
    user_id: int | None = None

    def check(self) -> None:
        if self.on_error not in ("abort", "skip"):
            raise ValidationError(f"on_error must be 'abort' or 'skip', got {self.on_error!r}.")
        if self.max_text_chars < 1:
            raise ValidationError(f"max_text_chars must be at least 1, got {self.max_text_chars}.")

    def to_payload(self, path: Path) -> dict[str, Any]:
        return {**asdict(self), "source": str(self.source), "file": str(path)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ImportOptions:
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in payload.items() if k in names}
        values["source"] = LabelSource(values.get("source", LabelSource.HUMAN))
        return cls(**values)


#: A progress callback: the job's progress dict, after each staged batch.
ProgressCallback = Callable[[dict[str, Any]], None]


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
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Add the file's rows as items of the project, with their labels if present.

    The same import job the server's worker runs (staged in short transactions, then
    published at once), run here and now: for the CLI and for small files.

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
    on_progress : callable, optional
        Called with the job's progress (rows read, bytes) after each staged batch.

    Raises
    ------
    NotFoundError
        No such project.
    InputError
        The file as a whole cannot be read (type, encoding, header, no records).
    ImportFailedError
        Bad rows with ``on_error="abort"``.
    """
    options = ImportOptions(
        text_field=text_field,
        label_field=label_field,
        on_error=on_error,
        source=source,
        max_text_chars=max_text_chars,
        evaluation=evaluation,
        user_id=user.id if user is not None else None,
    )
    job_id = create_import_job(
        session, project_id=project_id, path=Path(path), options=options, trigger="inline"
    )
    try:
        report = run_import(session, job_id=job_id, on_progress=on_progress)
    except PublishInterruptedError:
        raise  # the job is queued again: the worker finishes the publish
    except BaseException as exc:
        session.rollback()
        fail_import_job(session, job_id=job_id, error=exc)
        raise
    return report


def create_import_job(
    session: Session, *, project_id: int, path: Path, options: ImportOptions, trigger: str
) -> int:
    """Queue an import job for ``path`` (already on disk); returns its id."""
    options.check()
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    size = path.stat().st_size if path.is_file() else 0
    begin_write(session)
    # An inline job (the CLI's) is running from the start: queued, a server's worker
    # would claim it too and both would stage and publish the same file.
    inline = trigger == "inline"
    job = Job(
        project_id=project_id,
        kind=IMPORT_KIND,
        trigger=trigger,
        status=JobStatus.RUNNING if inline else JobStatus.QUEUED,
        started_at=datetime.now(UTC) if inline else None,
        payload=options.to_payload(path),
        progress={"phase": "queued", "rows_read": 0, "bytes_total": size, "file": path.name},
    )
    session.add(job)
    session.flush()
    job_id = job.id
    session.commit()
    return job_id


def run_import(
    session: Session, *, job_id: int, on_progress: ProgressCallback | None = None
) -> ImportReport:
    """Parse, stage and publish one import job's file; the job ends ``done``.

    Parsing happens outside any transaction; rows are staged in batches of
    ``STAGE_BATCH``, each its own short write transaction (the writer lock is released
    between them, so annotators' writes interleave), and the job's progress is updated
    with each. A bad row (``on_error="abort"``) or an unreadable file fails the job
    before anything is published: the staged rows are removed and the error raised; the
    caller marks the job failed.

    Once every row is staged the publish cannot fail on data; it moves the staged rows
    into the project ``PUBLISH_BATCH`` at a time, each batch one short write transaction
    that also deletes the rows it moved and records how far it got in the job's
    progress. A publish that stops part-way (a database error, a killed worker) is
    resumed from the rows still staged: a job found in phase ``publishing`` skips
    straight to it, so the import still ends with all of its rows.

    Raises
    ------
    PublishInterruptedError
        The publish stopped part-way; the job is queued again to finish it.
    """
    job = session.get_one(Job, job_id, populate_existing=True)
    options = ImportOptions.from_payload(job.payload)
    path = Path(job.payload["file"])
    saved = dict(job.progress or {})
    project = session.get(Project, job.project_id)
    if project is None:
        raise NotFoundError(f"Project {job.project_id} does not exist.")
    project_id, task = project.id, task_of(project)
    end_read(session)
    if saved.get("phase") == "publishing":
        progress = saved
    else:
        progress = {
            "phase": "reading",
            "file": path.name,
            "rows_read": 0,
            "rows_staged": 0,
            "bytes_total": path.stat().st_size if path.is_file() else 0,
            "n_errors": 0,
        }
        try:
            n_rows, errors = _stage(session, job_id, path, options, task, progress, on_progress)
            if n_rows == 0:
                raise InputError("no records found", file=path)
            if errors and options.on_error == "abort":
                raise ImportFailedError(path, errors[:MAX_REPORTED_ERRORS], len(errors))
        except BaseException:
            session.rollback()
            _discard_staged(session, job_id)
            raise
        progress.update(
            phase="publishing",
            skipped=[_public(e.to_dict()) for e in errors],
            published=dict.fromkeys(_TALLIES, 0),
            first_position=None,
        )
        _set_progress(session, job_id, progress, on_progress)
    try:
        report = _publish(session, job_id, project_id, path, options, progress, on_progress)
    except BaseException as exc:
        session.rollback()
        _publish_stopped(session, job_id, progress, exc)
        raise
    first_position = progress["first_position"] if report.added else None
    progress = {k: v for k, v in progress.items() if k not in ("skipped", "published")}
    progress.update(phase="done", report=report.to_dict())
    progress["report"]["skipped"] = [_public(row) for row in progress["report"]["skipped"]]
    # The event and the job's end in one transaction: a resumed publish that finds no
    # staged row left records the import once.
    begin_write(session)
    record(
        session,
        "import",
        project_id=project_id,
        user_id=options.user_id,
        job_id=job_id,
        file=report.file,
        rows=report.rows,
        added=report.added,
        duplicates=report.duplicates,
        labeled=report.labeled,
        attached=report.attached,
        skipped=len(report.skipped),
        evaluation=options.evaluation,
        source=str(options.source),
        first_position=first_position,
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=JobStatus.DONE, progress=progress, finished_at=datetime.now(UTC))
    )
    session.commit()
    if on_progress is not None:
        on_progress(progress)
    if report.added >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the planner drives the queue query from the ranked
        # entries instead of testing every new item (milliseconds instead of ~0.3 s on
        # 100,000 items until autovacuum would have analyzed the table).
        session.execute(text("ANALYZE items"))
        session.commit()
    return report


def _publish_stopped(
    session: Session, job_id: int, progress: dict[str, Any], exc: BaseException
) -> None:
    """A publish stopped part-way: queue the job to finish it, or give up after a few tries.

    Raises PublishInterruptedError (from ``exc``) when the job was queued again; returns
    when the tries are used up (the caller fails the job; the staged rest is removed).
    """
    attempts = int(progress.get("publish_attempts", 0)) + 1
    published = progress.get("published") or {}
    if attempts >= PUBLISH_ATTEMPTS:
        _discard_staged(session, job_id)
        progress["note"] = (
            f"publishing stopped {attempts} times; {published.get('added', 0):,} new items "
            "of the file are in the project, the rest was not imported"
        )
        begin_write(session)
        session.execute(update(Job).where(Job.id == job_id).values(progress=dict(progress)))
        session.commit()
        return
    progress["publish_attempts"] = attempts
    begin_write(session)
    session.execute(
        update(Job).where(Job.id == job_id).values(status=JobStatus.QUEUED, progress=dict(progress))
    )
    session.commit()
    raise PublishInterruptedError(
        f"Publishing {progress.get('file', 'the file')} stopped part-way "
        f"({published.get('added', 0):,} items in so far); every row is still staged and "
        "the worker finishes the import when it next runs."
    ) from exc


def fail_import_job(session: Session, *, job_id: int, error: BaseException) -> None:
    """Mark the job failed; located input errors go to its progress (file names only)."""
    progress: dict[str, Any] = dict(
        session.scalar(select(Job.progress).where(Job.id == job_id)) or {}
    )
    progress["phase"] = "failed"
    if isinstance(error, InputError):
        located = getattr(error, "errors", None) or [error]
        progress["errors"] = [_public(e.to_dict()) for e in located]
        progress["n_errors"] = getattr(error, "n_errors", len(located))
        message = str(error) if not isinstance(error, ImportFailedError) else error.message
        where = _public(error.to_dict())
        parts = [where["file"] or "", f"line {where['line']}" if where["line"] else ""]
        message = ", ".join(p for p in parts if p) + (": " if any(parts) else "") + message
    else:
        # Not the input's fault, and the message may name server folders: members (who
        # see every job in the list) get one line, admins the detail (job_errors.py).
        message = failure_message("The import")
        progress[DETAIL] = failure_detail(error)
    begin_write(session)
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=JobStatus.FAILED,
            progress=progress,
            error=message,
            finished_at=datetime.now(UTC),
        )
    )
    session.commit()


def discard_staged_rows(session: Session, *, job_ids: Iterable[int] | None = None) -> int:
    """Remove staged rows of the given jobs (all jobs: None); returns how many."""
    if job_ids is None:
        job_ids = list(session.scalars(select(ImportRow.job_id).distinct()))
        end_read(session)
    return sum(_discard_staged(session, job_id) for job_id in job_ids)


def _public(error: dict[str, Any]) -> dict[str, Any]:
    file = error.get("file")
    return {**error, "file": PurePath(file).name if file else file}


def _set_progress(
    session: Session,
    job_id: int,
    progress: dict[str, Any],
    on_progress: ProgressCallback | None,
) -> None:
    begin_write(session)
    session.execute(update(Job).where(Job.id == job_id).values(progress=dict(progress)))
    session.commit()
    if on_progress is not None:
        on_progress(dict(progress))


def _stage(
    session: Session,
    job_id: int,
    path: Path,
    options: ImportOptions,
    task: Task,
    progress: dict[str, Any],
    on_progress: ProgressCallback | None,
) -> tuple[int, list[InputError]]:
    """Parse the file and stage its good rows; returns the row count and the bad rows."""
    errors: list[InputError] = []
    seen: set[str] = set()
    batch: list[dict[str, Any]] = []
    n_rows = 0
    label_field = options.label_field
    # Once a row is bad in abort mode nothing will be published: parsing goes on (to
    # report every bad row) but nothing more is staged.
    staging = True

    def flush() -> None:
        if batch:
            begin_write(session)
            session.execute(insert(_IMPORT_ROWS), batch)
            session.commit()
            progress["rows_staged"] += len(batch)
            batch.clear()
        progress["rows_read"] = n_rows
        progress["n_errors"] = len(errors)
        _set_progress(session, job_id, progress, on_progress)

    for row in iter_rows(path, text_field=options.text_field):
        n_rows += 1
        parsed = (
            row
            if isinstance(row, InputError)
            else _parse(row, path, task, options.text_field, label_field, options.max_text_chars)
        )
        if options.evaluation and isinstance(parsed, _Candidate) and parsed.label is None:
            parsed = InputError(
                "an evaluation set needs a label on every row",
                file=path,
                line=parsed.line,
                field=label_field,
            )
        if isinstance(parsed, InputError):
            errors.append(parsed)
            staging = staging and options.on_error == "skip"
            if not staging:
                batch.clear()
        elif staging:
            first = parsed.hash not in seen
            seen.add(parsed.hash)
            batch.append(
                {
                    "job_id": job_id,
                    "line": parsed.line,
                    "text": parsed.text,
                    "content_hash": parsed.hash,
                    "label": parsed.label,
                    "meta": parsed.meta,
                    "first": first,
                }
            )
        if n_rows % STAGE_BATCH == 0:
            flush()
    flush()
    return n_rows, errors


def _discard_staged(session: Session, job_id: int) -> int:
    """Delete a job's staged rows; on SQLite in id ranges (short write transactions)."""
    low, high = session.execute(
        select(func.min(ImportRow.id), func.max(ImportRow.id)).where(ImportRow.job_id == job_id)
    ).one()
    end_read(session)
    if low is None:
        return 0
    # PostgreSQL needs no batches (nothing waits on its writers); an id range, unlike a
    # "LIMIT n" select, does not walk the dead rows of the batches before it.
    step = high - low + 1 if session.get_bind().dialect.name == "postgresql" else _DISCARD_BATCH
    removed = 0
    for begin in range(low, high + 1, step):
        begin_write(session)
        removed += cast(
            CursorResult[Any],
            session.execute(
                delete(ImportRow).where(
                    ImportRow.job_id == job_id, ImportRow.id.between(begin, begin + step - 1)
                )
            ),
        ).rowcount
        session.commit()
    return removed


#: What each publish batch adds up, kept in the job's progress so a resumed publish
#: reports the whole file.
_TALLIES = ("n_valid", "added", "labeled", "attached", "same", "held_out", "kept_out")


def _publish(
    session: Session,
    job_id: int,
    project_id: int,
    path: Path,
    options: ImportOptions,
    progress: dict[str, Any],
    on_progress: ProgressCallback | None,
) -> ImportReport:
    """Move the job's staged rows into the project, ``PUBLISH_BATCH`` rows per transaction.

    Each batch takes the positions after the project's last one under the project's
    lock, so positions stay dense even if two imports publish into one project at once,
    and deletes the staged rows it moved, so a resumed publish starts where it stopped.
    """
    tallies: dict[str, int] = progress["published"]
    now = datetime.now(UTC)
    # Batches are id ranges of the rows still staged (a resumed publish starts at the
    # first one left); a range may hold fewer rows when another import staged meanwhile.
    first, last = session.execute(
        select(func.min(ImportRow.id), func.max(ImportRow.id)).where(ImportRow.job_id == job_id)
    ).one()
    end_read(session)
    for low in range(first or 0, 0 if last is None else last + 1, PUBLISH_BATCH):
        high = low + PUBLISH_BATCH - 1
        begin_write(session)
        batch = _publish_batch(session, job_id, project_id, path, options, now, low, high)
        for name, value in batch.items():
            if name == "first_position":
                if progress["first_position"] is None and value is not None:
                    progress["first_position"] = value
            else:
                tallies[name] += value
        progress["rows_published"] = tallies["n_valid"]
        session.execute(update(Job).where(Job.id == job_id).values(progress=dict(progress)))
        session.commit()
        if on_progress is not None:
            on_progress(dict(progress))

    notes: list[str] = []
    if tallies["kept_out"]:
        notes.append(
            f"{_count(tallies['kept_out'], 'row')} left out: the text is already in the "
            "project, and an evaluation item must be new (its label was not kept)"
        )
    if tallies["attached"]:
        notes.append(
            f"{_count(tallies['attached'], 'label')} attached to items already in the "
            f"project (as new {options.source} annotations)"
        )
    if tallies["same"]:
        notes.append(
            f"{_count(tallies['same'], 'label')} left out: the item already had that label "
            f"from the same source ({options.source})"
        )
    if tallies["held_out"]:
        notes.append(
            f"{_count(tallies['held_out'], 'label')} left out: the text is a held-out "
            "evaluation item, which is never trained on"
        )
    report = ImportReport(
        file=path.name,
        rows=int(progress["rows_read"]),
        added=tallies["added"],
        duplicates=tallies["n_valid"] - tallies["added"],
        labeled=tallies["labeled"],
        # Stored with file names only (members read the progress); the caller gets the path.
        skipped=[{**row, "file": str(path)} for row in progress.get("skipped") or []],
        evaluation=options.evaluation,
        attached=tallies["attached"],
        notes=notes,
    )
    return report


def _publish_batch(
    session: Session,
    job_id: int,
    project_id: int,
    path: Path,
    options: ImportOptions,
    now: datetime,
    low: int,
    high: int,
) -> dict[str, Any]:
    """Publish the staged rows with ids ``low..high`` (set-based SQL) and delete them.

    Runs inside the caller's write transaction; returns the batch's tallies.
    """
    # The row lock serializes publishing batches into one project (PostgreSQL; SQLite's
    # write lock already does), so two of them cannot hand out the same positions.
    project = session.get(Project, project_id, with_for_update=True, populate_existing=True)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    last = session.scalar(select(func.max(Item.position)).where(Item.project_id == project_id))
    start = 0 if last is None else last + 1
    staged = ImportRow
    in_batch = and_(staged.job_id == job_id, staged.id.between(low, high))
    already = (
        select(Item.id)
        .where(Item.project_id == project_id, Item.content_hash == staged.content_hash)
        .exists()
    )
    new_items = select(
        literal(project_id),
        (literal(start - 1) + func.row_number().over(order_by=staged.id)),
        staged.text,
        staged.meta,
        literal(path.name[-500:]),
        staged.content_hash,
        false(),
        literal(options.evaluation),
        staged.label if options.evaluation else null(),
        literal(now, type_=_ITEMS.c.created_at.type),
    ).where(in_batch, staged.first, ~already)
    columns = [
        "project_id",
        "position",
        "text",
        "meta",
        "source",
        "content_hash",
        "is_audit",
        "is_evaluation",
        "reference_label",
        "created_at",
    ]
    # Counted, not taken from rowcount: psycopg reports -1 for INSERT ... SELECT.
    session.execute(insert(_ITEMS).from_select(columns, new_items))
    top = session.scalar(select(func.max(Item.position)).where(Item.project_id == project_id))
    added = 0 if top is None else top - start + 1
    n_valid = session.scalar(select(func.count()).where(in_batch)) or 0
    tallies: dict[str, Any] = dict.fromkeys(_TALLIES, 0)
    tallies.update(n_valid=n_valid, added=added, first_position=start if added else None)

    # Each staged row finds its item through the (project_id, content_hash) index: a
    # plain join lets SQLite drive from items and scan the staged rows once per item.
    matched = _matched(project_id, job_id, low, high)
    is_new = and_(matched.c.first, Item.position >= start)
    if options.evaluation:
        if n_valid > added:  # only a row that made no item was left out
            tallies["kept_out"] = (
                session.scalar(
                    select(func.count())
                    .select_from(matched)
                    .join(Item, Item.id == matched.c.item_id)
                    .where(~is_new)
                )
                or 0
            )
    else:
        source = literal(options.source, type_=_ANNOTATIONS.c.source.type)
        new_labels = (
            select(
                literal(project_id),
                Item.id,
                literal(options.user_id, type_=Integer),
                literal(AnnotationKind.LABEL, type_=_ANNOTATIONS.c.kind.type),
                matched.c.label,
                source,
                literal(now, type_=_ANNOTATIONS.c.created_at.type),
            )
            .select_from(matched)
            .join(Item, Item.id == matched.c.item_id)
            .where(is_new, matched.c.label.is_not(None))
        )
        session.execute(
            insert(_ANNOTATIONS).from_select(
                ["project_id", "item_id", "annotator_id", "kind", "value", "source", "created_at"],
                new_labels,
            )
        )
        if added:
            tallies["labeled"] = (
                session.scalar(
                    select(func.count())
                    .select_from(Annotation)
                    .join(Item, Item.id == Annotation.item_id)
                    .where(Item.project_id == project_id, Item.position >= start)
                )
                or 0
            )
        if n_valid > added:  # only a row that made no item can attach its label
            tallies.update(
                _attach_labels(session, job_id, project_id, start, options, now, low, high)
            )
    # Core, not ORM: the ORM's delete would fetch the deleted ids back (RETURNING).
    session.execute(
        delete(_IMPORT_ROWS).where(
            _IMPORT_ROWS.c.job_id == job_id, _IMPORT_ROWS.c.id.between(low, high)
        )
    )
    return tallies


def _attach_labels(
    session: Session,
    job_id: int,
    project_id: int,
    start: int,
    options: ImportOptions,
    now: datetime,
    low: int,
    high: int,
) -> dict[str, int]:
    """Labels of staged rows ``low..high`` whose text was already an item: new annotations.

    A label is left out, and counted (``held_out``, ``same``), when the item is held out
    for evaluation (it would leak into training) or when the item already has the same
    label from the same source (importing a file twice adds nothing). Returns the counts.
    """
    matched = _matched(project_id, job_id, low, high)
    rows = session.execute(
        select(Item.id, Item.is_evaluation, matched.c.label)
        .select_from(matched)
        .join(Item, Item.id == matched.c.item_id)
        .where(
            matched.c.label.is_not(None),
            ~and_(matched.c.first, Item.position >= start),
        )
        .order_by(matched.c.id)
    ).all()
    if not rows:
        return {}
    held_out = sum(1 for _, is_evaluation, _ in rows if is_evaluation)
    candidates = [(item_id, label) for item_id, is_evaluation, label in rows if not is_evaluation]
    present: set[tuple[int, str]] = set()
    item_ids = sorted({item_id for item_id, _ in candidates})
    for begin in range(0, len(item_ids), _IN_CHUNK):
        chunk = item_ids[begin : begin + _IN_CHUNK]
        present.update(
            (item_id, _canonical(value))
            for item_id, value in session.execute(
                select(Annotation.item_id, Annotation.value).where(
                    Annotation.item_id.in_(chunk),
                    Annotation.kind == AnnotationKind.LABEL,
                    Annotation.source == options.source,
                    Annotation.undone_at.is_(None),
                )
            )
        )
    new_rows: list[dict[str, Any]] = []
    for item_id, label in candidates:
        key = (item_id, _canonical(label))
        if key in present:
            continue
        present.add(key)
        new_rows.append(
            {
                "project_id": project_id,
                "item_id": item_id,
                "annotator_id": options.user_id,
                "kind": AnnotationKind.LABEL,
                "value": label,
                "source": options.source,
                "created_at": now,
            }
        )
    for begin in range(0, len(new_rows), _BATCH):
        session.execute(insert(_ANNOTATIONS), new_rows[begin : begin + _BATCH])
    return {
        "attached": len(new_rows),
        "same": len(candidates) - len(new_rows),
        "held_out": held_out,
    }


def _matched(project_id: int, job_id: int, low: int, high: int) -> Subquery:
    """The job's staged rows ``low..high`` with the id of the item holding their text."""
    staged = ImportRow
    item_id = (
        select(Item.id)
        .where(Item.project_id == project_id, Item.content_hash == staged.content_hash)
        .scalar_subquery()
    )
    return (
        select(staged.id, staged.first, staged.label, item_id.label("item_id"))
        .where(staged.job_id == job_id, staged.id.between(low, high))
        .subquery()
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _count(n: int, noun: str) -> str:
    """``1 label``, ``2 labels``, ``1,000 rows``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _parse(
    row: Row,
    path: Path,
    task: Task,
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
    problem = text_problem(text, max_text_chars)
    if problem is not None:
        return error(problem, text_field)
    try:
        label = task.parse_row(values, text=text, label_field=label_field, file=path, line=row.line)
    except InputError as exc:
        return exc
    # Fields the label was read from (a span task's spans, tokens and tags) are not metadata.
    read = {text_field, *task.row_fields(label_field)}
    meta = {k: json_safe(v) for k, v in values.items() if k not in read}
    return _Candidate(row.line, text, content_hash(text), label, meta)


def text_problem(text: Any, max_text_chars: int = MAX_TEXT_CHARS) -> str | None:
    """What makes ``text`` unfit to be an item's text, in a few words; None when it is fit."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return "empty text"
    if not isinstance(text, str):
        return f"text must be a string, got {type(text).__name__}"
    if len(text) > max_text_chars:
        return f"text has {len(text):,} characters; the limit is {max_text_chars:,}"
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and no real text needs one.
        return "text contains a NUL character"
    return None


def json_safe(value: Any) -> Any:
    """``value`` as JSON the database accepts: NaN and infinities become null."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
