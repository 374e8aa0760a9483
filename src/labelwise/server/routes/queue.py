"""The labeling queue: lease the next item to label."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from labelwise.server.deps import ProjectMember, ServingRng, SessionDep
from labelwise.server.schemas.queue import ServedItemOut
from labelwise.service import queue

router = APIRouter(prefix="/projects/{project_id}/queue", tags=["queue"])


@router.post(
    "/next",
    response_model=ServedItemOut,
    responses={status.HTTP_204_NO_CONTENT: {"description": "Nothing is left for you to label."}},
)
def lease_next(
    session: SessionDep,
    access: ProjectMember,
    rng: ServingRng,
    ahead: Annotated[
        bool,
        Query(
            description=(
                "Lease the item after the current one, so a client can show it the moment "
                "the current item is decided. Without it: the current item (the oldest "
                "open lease). A caller holds at most two leases; asking again returns them."
            )
        ),
    ] = False,
) -> ServedItemOut | Response:
    """Lease the most informative item for the caller, with the reason it was chosen.

    Asking again before deciding returns the same item (the open lease). With
    ``ahead=true`` the caller gets a second, different item to prefetch; once the current
    item is decided, that one is what a plain ``next`` returns.
    """
    served = queue.lease_next(
        session, project_id=access.project_id, annotator=access.user, ahead=ahead, rng=rng
    )
    if served is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ServedItemOut.from_served(served)
