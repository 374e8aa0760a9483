"""Reading a project's items: by id, or a page in position order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.projects import get_project
from labelwise.store import Item

MAX_PAGE = 1000


@dataclass(frozen=True)
class ItemsPage:
    """``items`` from ``offset`` on, in position order, out of ``total``."""

    total: int
    offset: int
    limit: int
    items: list[Item]


def list_items(
    session: Session, *, project_id: int, offset: int = 0, limit: int = 100
) -> ItemsPage:
    """A page of the project's items; ``limit`` is at most ``MAX_PAGE``."""
    if offset < 0:
        raise ValidationError(f"offset must be >= 0. Got {offset} instead.")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be in [1, {MAX_PAGE}]. Got {limit} instead.")
    get_project(session, project_id=project_id)
    total = session.scalar(select(func.count()).where(Item.project_id == project_id)) or 0
    page = session.scalars(
        select(Item)
        .where(Item.project_id == project_id)
        .order_by(Item.position)
        .offset(offset)
        .limit(limit)
    )
    return ItemsPage(total=total, offset=offset, limit=limit, items=list(page))


def get_item(session: Session, *, project_id: int, item_id: int) -> Item:
    """The item, if it belongs to the project; NotFoundError otherwise."""
    item = session.get(Item, item_id)
    if item is None or item.project_id != project_id:
        raise NotFoundError(f"Item {item_id} does not exist in project {project_id}.")
    return item
