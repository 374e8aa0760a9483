"""Downloading a project's labels as a JSONL, CSV or Parquet file (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from labelwise.server.deps import ProjectAdmin, SessionDep, SettingsDep
from labelwise.server.files import remove_dir, scratch_dir
from labelwise.service import exports

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])

MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}


@router.get(
    "/export",
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def export_labels(
    session: SessionDep,
    settings: SettingsDep,
    access: ProjectAdmin,
    file_format: Annotated[Literal["jsonl", "csv", "parquet"], Query(alias="format")] = "jsonl",
    include: Annotated[
        str,
        Query(
            max_length=40,
            pattern=r"^(skips|flags)?(,(skips|flags))*$",
            description="Also skip and/or flag decisions as rows (with kind and comment): "
            "skips, flags or skips,flags.",
        ),
    ] = "",
) -> FileResponse:
    """Every live label with its item and provenance, as a file download."""
    folder = scratch_dir(settings, "exports")
    path = folder / f"project-{access.project_id}-labels.{file_format}"
    try:
        # A fresh scratch folder per download: nothing there to keep.
        exports.export_labels(
            session,
            project_id=access.project_id,
            path=path,
            include=(include,),
            overwrite=True,
        )
    except BaseException:
        remove_dir(folder)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[file_format],
        filename=path.name,
        background=BackgroundTask(remove_dir, folder),
    )
