"""Import jobs: the upload on disk, the queued job, the worker's run, and clean-up at start.

An uploaded file is streamed to ``data_dir/imports/<token>.partial/<name>`` with the size
limit counted as it is written, and the folder is renamed to ``<token>`` once complete,
so a crash mid-upload leaves only a ``.partial`` folder, which :func:`remove_partial_uploads`
deletes when the server or worker starts. The job (``kind="import"``) names the file in
its payload; the worker runs it (see :func:`labelwise.service.importing.run_import`) and
deletes the file when the job ends, done or failed.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from labelwise.data import LabelSource
from labelwise.exceptions import InputError
from labelwise.service.errors import NotFoundError, UploadTooLargeError
from labelwise.service.importing import (
    IMPORT_KIND,
    MAX_TEXT_CHARS,
    ImportOptions,
    PublishInterruptedError,
    create_import_job,
    discard_staged_rows,
    fail_import_job,
    run_import,
)
from labelwise.service.transactions import end_read
from labelwise.store import ImportRow, Job, JobStatus, User

log = logging.getLogger(__name__)

#: Folder under ``data_dir`` that holds uploaded files until their job ends.
IMPORTS_DIR = "imports"
PARTIAL_SUFFIX = ".partial"
_CHUNK = 1024 * 1024


def store_upload(stream: BinaryIO, *, data_dir: Path, filename: str, max_bytes: int | None) -> Path:
    """Copy ``stream`` to a new file named ``filename`` under ``data_dir/imports``.

    The copy stops as soon as it passes ``max_bytes`` (None: no limit), and the partial
    file is removed.

    Raises
    ------
    UploadTooLargeError
        The file is larger than ``max_bytes``.
    """
    root = Path(data_dir) / IMPORTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    partial = root / f"{token}{PARTIAL_SUFFIX}"
    partial.mkdir()
    try:
        written = 0
        with (partial / filename).open("wb") as out:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if max_bytes is not None and written > max_bytes:
                    raise UploadTooLargeError(
                        f"{filename} is larger than the upload limit of {_size(max_bytes)}; "
                        "split the file, or raise LABELWISE_MAX_UPLOAD_BYTES."
                    )
                out.write(chunk)
        final = root / token
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final / filename


def remove_upload(path: Path) -> None:
    """Delete an uploaded file's folder (a file outside ``imports/`` is left alone)."""
    folder = Path(path).parent
    if folder.parent.name == IMPORTS_DIR:
        shutil.rmtree(folder, ignore_errors=True)


def remove_partial_uploads(data_dir: Path) -> int:
    """Delete uploads a crash left half-written; returns how many."""
    removed = 0
    # Before import jobs, uploads were parsed from scratch folders here, removed after
    # use; a crash left them behind.
    legacy = Path(data_dir) / "uploads"
    if legacy.is_dir():
        removed += sum(1 for _ in legacy.iterdir())
        shutil.rmtree(legacy, ignore_errors=True)
    root = Path(data_dir) / IMPORTS_DIR
    if not root.is_dir():
        return removed
    for folder in root.glob(f"*{PARTIAL_SUFFIX}"):
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        log.info("removed %d partial upload(s) under %s", removed, root)
    return removed


def queue_import(
    session: Session,
    *,
    project_id: int,
    path: Path,
    user: User | None = None,
    text_field: str = "text",
    label_field: str = "label",
    on_error: Literal["abort", "skip"] = "abort",
    source: LabelSource = LabelSource.HUMAN,
    evaluation: bool = False,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> Job:
    """Queue an import of ``path`` (an upload from :func:`store_upload`) for the worker.

    The options are those of :func:`labelwise.service.importing.import_items`; the file
    is deleted when the job ends. A refused request (no such project, a bad option)
    deletes it at once.
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
    try:
        job_id = create_import_job(
            session, project_id=project_id, path=path, options=options, trigger="upload"
        )
    except BaseException:
        remove_upload(path)
        raise
    job = session.get_one(Job, job_id)
    end_read(session)
    return job


def get_import_job(session: Session, *, project_id: int, job_id: int) -> Job:
    """The import job ``job_id`` of the project, with its progress."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.project_id != project_id or job.kind != IMPORT_KIND:
        raise NotFoundError(f"Project {project_id} has no import job {job_id}.")
    end_read(session)
    return job


def run_import_job(session_factory: sessionmaker[Session], job_id: int) -> None:
    """Run a claimed import job to its end; failures are recorded on the job, not raised."""
    path: Path | None = None
    with session_factory() as session:
        try:
            payload: dict[str, Any] = dict(
                session.scalar(select(Job.payload).where(Job.id == job_id)) or {}
            )
            end_read(session)
            path = Path(payload["file"]) if payload.get("file") else None
            run_import(session, job_id=job_id)
        except PublishInterruptedError:
            # Every row is still staged; the job is queued again to finish the publish.
            log.warning(
                "import job %s stopped while publishing; queued to resume", job_id, exc_info=True
            )
        except InputError as exc:  # bad rows or an unreadable file: the job says where
            session.rollback()
            fail_import_job(session, job_id=job_id, error=exc)
        except Exception as exc:  # any other failure must end as a failed job too
            log.exception("import job %s failed", job_id)
            session.rollback()
            fail_import_job(session, job_id=job_id, error=exc)
        finally:
            if path is not None:
                remove_upload(path)


def recover_imports(session_factory: sessionmaker[Session], data_dir: Path) -> None:
    """At worker start: drop partial uploads, staged rows and files of ended jobs.

    One worker per database is assumed (as for retrains): jobs left running were marked
    failed before this runs, except imports stopped while publishing, which are queued
    again to finish (see :func:`resumable`): their staged rows and files are kept.
    """
    remove_partial_uploads(data_dir)
    with session_factory() as session:
        ended = session.scalars(
            select(ImportRow.job_id)
            .distinct()
            .join(Job, Job.id == ImportRow.job_id)
            .where(Job.status.not_in([JobStatus.QUEUED, JobStatus.RUNNING]))
        ).all()
        end_read(session)
        discard_staged_rows(session, job_ids=ended)
        waiting = {
            Path(payload["file"]).parent.name
            for payload in session.scalars(
                select(Job.payload).where(Job.kind == IMPORT_KIND, Job.status == JobStatus.QUEUED)
            )
            if payload.get("file")
        }
        end_read(session)
    root = Path(data_dir) / IMPORTS_DIR
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and folder.name not in waiting:
                shutil.rmtree(folder, ignore_errors=True)


def resumable(job: Job) -> bool:
    """An import job stopped while publishing: all of its rows are valid and staged.

    A worker that finds one left running queues it again instead of failing it; the
    run picks the publish up at the first staged row left.
    """
    return job.kind == IMPORT_KIND and (job.progress or {}).get("phase") == "publishing"


def _size(n_bytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n_bytes:,} bytes"
