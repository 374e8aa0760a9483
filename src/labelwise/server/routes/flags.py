"""Flag review (project admins): list flagged items, resolve each flag."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from labelwise.server.deps import PageDep, ProjectAdmin, SessionDep
from labelwise.server.schemas.annotations import plain_value
from labelwise.server.schemas.flags import FlagOut, FlagResolveIn
from labelwise.service import flags
from labelwise.service.flags import FlagStatus

router = APIRouter(prefix="/projects/{project_id}/flags", tags=["flags"])

FlagIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="A flag's annotation id.")]


@router.get("", response_model=list[FlagOut])
def list_flags(
    session: SessionDep,
    access: ProjectAdmin,
    page: PageDep,
    status: Annotated[FlagStatus, Query(description="Open, resolved, or all flags.")] = (
        FlagStatus.OPEN
    ),
) -> list[FlagOut]:
    """The project's flags with each item's text, who flagged it and why, oldest first."""
    reviews = flags.list_flags(
        session,
        project_id=access.project_id,
        status=status,
        offset=page.offset,
        limit=page.limit,
    )
    return [FlagOut.from_review(r) for r in reviews]


@router.post("/{flag_id}/resolve", response_model=FlagOut)
def resolve_flag(
    flag_id: FlagIdPath, body: FlagResolveIn, session: SessionDep, access: ProjectAdmin
) -> FlagOut:
    """Resolve an open flag: label the item, mark it out of scope, or send it back to the queue."""
    review = flags.resolve_flag(
        session,
        project_id=access.project_id,
        flag_id=flag_id,
        reviewer=access.user,
        resolution=body.resolution,
        label=plain_value(body.label),
    )
    return FlagOut.from_review(review)
