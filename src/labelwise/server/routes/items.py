"""Items: a page at a time in position order, or one by id."""

from __future__ import annotations

from fastapi import APIRouter

from labelwise.server.deps import PageDep, ProjectMember, SessionDep
from labelwise.server.schemas.common import ItemIdPath
from labelwise.server.schemas.items import ItemOut, ItemsPage
from labelwise.service import items

router = APIRouter(prefix="/projects/{project_id}/items", tags=["items"])


@router.get("", response_model=ItemsPage)
def list_items(session: SessionDep, access: ProjectMember, page: PageDep) -> ItemsPage:
    found = items.list_items(
        session, project_id=access.project_id, offset=page.offset, limit=page.limit
    )
    return ItemsPage.model_validate(found, from_attributes=True)


@router.get("/{item_id}", response_model=ItemOut)
def read_item(item_id: ItemIdPath, session: SessionDep, access: ProjectMember) -> ItemOut:
    item = items.get_item(session, project_id=access.project_id, item_id=item_id)
    return ItemOut.model_validate(item)
