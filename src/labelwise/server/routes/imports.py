"""Importing items (and labels) from an uploaded JSONL, CSV or Parquet file, as a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, UploadFile

from labelwise.server.deps import ProjectAdmin, SessionDep, SettingsDep
from labelwise.server.files import safe_name
from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.schemas.errors import public_file_name
from labelwise.server.schemas.imports import ImportJobOut, ImportProgressOut, ImportReportOut
from labelwise.service import import_jobs
from labelwise.service.job_errors import job_detail
from labelwise.store import Job

router = APIRouter(prefix="/projects/{project_id}", tags=["import"])

JobIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An import job id.")]


@router.post("/import", response_model=ImportJobOut, status_code=202)
def import_items(
    file: UploadFile,
    session: SessionDep,
    settings: SettingsDep,
    access: ProjectAdmin,
    text_field: Annotated[Text, Query(min_length=1, max_length=200)] = "text",
    label_field: Annotated[Text, Query(min_length=1, max_length=200)] = "label",
    skip_bad_rows: bool = False,
    evaluation: Annotated[
        bool,
        Query(
            description="Import a held-out evaluation set: every row labeled; never served "
            "or trained on; each model version is scored on it."
        ),
    ] = False,
) -> ImportJobOut:
    """Queue an import of the file's rows as items, with their labels if it has a label column.

    The answer (202) is the import job; ``GET .../imports/{job_id}`` follows its progress
    until it is ``done`` (with the report) or ``failed``. The format follows the file
    name's suffix (.jsonl, .csv, .parquet). A bad row fails the whole import (its
    ``errors`` name file, line and field) unless ``skip_bad_rows`` is set; then good rows
    are stored and the bad ones listed in the report's ``skipped``. A file larger than
    the server's upload limit is refused (413).
    """
    path = import_jobs.store_upload(
        file.file,
        data_dir=settings.data_dir,
        filename=safe_name(file.filename),
        max_bytes=settings.max_upload_bytes,
    )
    job = import_jobs.queue_import(
        session,
        project_id=access.project_id,
        path=path,
        user=access.user,
        text_field=text_field,
        label_field=label_field,
        on_error="skip" if skip_bad_rows else "abort",
        evaluation=evaluation,
    )
    return import_job_out(job)


@router.get("/imports/{job_id}", response_model=ImportJobOut)
def get_import(job_id: JobIdPath, session: SessionDep, access: ProjectAdmin) -> ImportJobOut:
    """An import job's status and progress (rows read of the file's bytes), then its result."""
    job = import_jobs.get_import_job(session, project_id=access.project_id, job_id=job_id)
    return import_job_out(job)


def import_job_out(job: Job) -> ImportJobOut:
    """The job as the API shows it: file names only, never server folders."""
    progress = dict(job.progress or {})
    report = progress.get("report")
    if report is not None:
        report = {
            **report,
            "skipped": [
                {**row, "file": public_file_name(row.get("file"))} for row in report["skipped"]
            ],
        }
    return ImportJobOut(
        id=job.id,
        project_id=job.project_id,
        status=job.status,
        progress=ImportProgressOut.model_validate(progress),
        report=None if report is None else ImportReportOut.model_validate(report),
        errors=[
            {**row, "file": public_file_name(row.get("file"))} for row in progress.get("errors", [])
        ],
        # Admins only here: the failure's detail rather than the members' one line.
        error=job_detail(job) or job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
