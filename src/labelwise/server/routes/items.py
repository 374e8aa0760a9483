"""Items: a page at a time in position order, or one by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelwise.server.deps import ProjectMember, SessionDep
from labelwise.server.schemas.items import ItemOut, ItemsPage
from labelwise.service import items
from labelwise.service.items import MAX_PAGE

router = APIRouter(prefix="/projects/{project_id}/items", tags=["items"])


@router.get("", response_model=ItemsPage)
def list_items(
    session: SessionDep,
    access: ProjectMember,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ItemsPage:
    page = items.list_items(session, project_id=access.project_id, offset=offset, limit=limit)
    return ItemsPage.model_validate(page, from_attributes=True)


@router.get("/{item_id}", response_model=ItemOut)
def read_item(item_id: int, session: SessionDep, access: ProjectMember) -> ItemOut:
    item = items.get_item(session, project_id=access.project_id, item_id=item_id)
    return ItemOut.model_validate(item)
