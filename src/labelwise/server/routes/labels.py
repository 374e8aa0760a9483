"""The project's live labels, a page at a time (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelwise.server.deps import ProjectAdmin, SessionDep
from labelwise.server.schemas.labels import LabelOut, LabelsPage
from labelwise.service import exports
from labelwise.service.exports import MAX_PAGE

router = APIRouter(prefix="/projects/{project_id}/labels", tags=["labels"])


@router.get("", response_model=LabelsPage)
def list_labels(
    session: SessionDep,
    access: ProjectAdmin,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> LabelsPage:
    """Labels by item position, then annotation id: the rows an export writes."""
    rows = exports.list_labels(session, project_id=access.project_id, offset=offset, limit=limit)
    return LabelsPage(
        offset=offset, limit=limit, items=[LabelOut.model_validate(row) for row in rows]
    )
