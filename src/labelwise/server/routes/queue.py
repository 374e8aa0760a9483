"""The labeling queue: lease the next item to label."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from labelwise.server.deps import ProjectMember, SessionDep
from labelwise.server.schemas.queue import ServedItemOut
from labelwise.service import queue

router = APIRouter(prefix="/projects/{project_id}/queue", tags=["queue"])


@router.post(
    "/next",
    response_model=ServedItemOut,
    responses={status.HTTP_204_NO_CONTENT: {"description": "Nothing is left for you to label."}},
)
def lease_next(session: SessionDep, access: ProjectMember) -> ServedItemOut | Response:
    """Lease the most informative item for the caller, with the reason it was chosen.

    Asking again before deciding returns the same item (the open lease).
    """
    served = queue.lease_next(session, project_id=access.project_id, annotator=access.user)
    if served is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ServedItemOut.from_served(served)
