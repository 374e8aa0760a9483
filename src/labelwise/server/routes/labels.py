"""The project's live labels, a page at a time (admins)."""

from __future__ import annotations

from fastapi import APIRouter

from labelwise.server.deps import PageDep, ProjectAdmin, SessionDep
from labelwise.server.schemas.labels import LabelOut, LabelsPage
from labelwise.service import exports

router = APIRouter(prefix="/projects/{project_id}/labels", tags=["labels"])


@router.get("", response_model=LabelsPage)
def list_labels(session: SessionDep, access: ProjectAdmin, page: PageDep) -> LabelsPage:
    """Labels by item position, then annotation id: the rows an export writes."""
    rows = exports.list_labels(
        session, project_id=access.project_id, offset=page.offset, limit=page.limit
    )
    return LabelsPage(
        offset=page.offset, limit=page.limit, items=[LabelOut.model_validate(r) for r in rows]
    )
