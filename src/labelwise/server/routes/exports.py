"""Downloading a project's labels as a JSONL, CSV or Parquet file (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from labelwise.server.deps import ProjectAdmin, SentencesDep, SessionDep, SettingsDep
from labelwise.server.files import remove_dir, scratch_dir
from labelwise.service import exports, span_exports

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])

MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "spans": "application/x-ndjson",
    "conll": "text/plain",
    "rasa": "application/yaml",
}
#: File names of the span projects' training-data formats.
EXAMPLE_FILES = {"spans": "spans.jsonl", "conll": "spans.conll", "rasa": "nlu.yml"}


@router.get(
    "/export",
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def export_labels(
    session: SessionDep,
    settings: SettingsDep,
    access: ProjectAdmin,
    sentences: SentencesDep,
    file_format: Annotated[
        Literal["jsonl", "csv", "parquet", "spans", "conll", "rasa"],
        Query(
            alias="format",
            description="jsonl, csv, parquet: one row per label with its provenance. Span "
            "projects' training data, one example per labeled item: spans (JSONL with "
            "character spans), conll (token<TAB>tag lines), rasa (Rasa NLU YAML; intents "
            "and entities projects).",
        ),
    ] = "jsonl",
    include: Annotated[
        str,
        Query(
            max_length=40,
            pattern=r"^(skips|flags|rules)?(,(skips|flags|rules))*$",
            description="More rows, comma-separated (kind and comment columns come with "
            "them): skips and flags (decisions), rules (each labeling function vote, "
            "source rule, with labeling_function, labeling_function_version and "
            "labeling_function_enabled), e.g. skips,rules. jsonl, csv and parquet only.",
        ),
    ] = "",
) -> FileResponse:
    """Every live label with its item and provenance, as a file download."""
    folder = scratch_dir(settings, "exports")
    name = EXAMPLE_FILES.get(file_format, f"labels.{file_format}")
    path = folder / f"project-{access.project_id}-{name}"
    try:
        # A fresh scratch folder per download: nothing there to keep.
        if file_format in EXAMPLE_FILES:
            span_exports.export_examples(
                session,
                project_id=access.project_id,
                path=path,
                fmt=file_format,  # type: ignore[arg-type]
                overwrite=True,
            )
        else:
            exports.export_labels(
                session,
                project_id=access.project_id,
                path=path,
                include=(include,),
                overwrite=True,
                sentences=sentences,
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
