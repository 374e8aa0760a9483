"""Importing items (and labels) from an uploaded JSONL, CSV or Parquet file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, UploadFile

from labelwise.server.deps import ProjectAdmin, SessionDep, SettingsDep
from labelwise.server.files import saved_upload
from labelwise.server.schemas.errors import public_file_name
from labelwise.server.schemas.imports import ImportReportOut
from labelwise.service import importing

router = APIRouter(prefix="/projects/{project_id}", tags=["import"])


@router.post("/import", response_model=ImportReportOut)
def import_items(
    file: UploadFile,
    session: SessionDep,
    settings: SettingsDep,
    access: ProjectAdmin,
    text_field: Annotated[str, Query(min_length=1)] = "text",
    label_field: Annotated[str, Query(min_length=1)] = "label",
    skip_bad_rows: bool = False,
    evaluation: Annotated[
        bool,
        Query(
            description="Import a held-out evaluation set: every row labeled; never served "
            "or trained on; each model version is scored on it."
        ),
    ] = False,
) -> ImportReportOut:
    """Add the file's rows as items, with their labels if it has a label column.

    The format follows the file name's suffix (.jsonl, .csv, .parquet). A bad row aborts
    the whole import (422 naming file, line and field) unless ``skip_bad_rows`` is set;
    then good rows are stored and the bad ones listed in ``skipped``.
    """
    with saved_upload(file, settings) as path:
        report = importing.import_items(
            session,
            project_id=access.project_id,
            path=path,
            user=access.user,
            text_field=text_field,
            label_field=label_field,
            on_error="skip" if skip_bad_rows else "abort",
            evaluation=evaluation,
        )
    out = ImportReportOut.model_validate(report)
    out.skipped = [{**row, "file": public_file_name(row.get("file"))} for row in out.skipped]
    return out
