"""The relabel queue: human labels the model suspects are wrong.

Suspects are reviewed through the ordinary queue (``next`` serves them, source
``relabel``, to an annotator other than the one who gave the label); this route lists
the open ones for project admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelwise.server.deps import ProjectAdmin, SessionDep
from labelwise.server.schemas.relabel import SuspectOut
from labelwise.service import relabel

router = APIRouter(prefix="/projects/{project_id}", tags=["relabel"])


@router.get("/relabel", response_model=list[SuspectOut])
def list_suspects(
    session: SessionDep,
    access: ProjectAdmin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SuspectOut]:
    """Open suspected label errors, most suspect first (project admins only: it names
    who gave each label)."""
    rows = relabel.list_suspects(session, project_id=access.project_id, limit=limit)
    return [SuspectOut.model_validate(row) for row in rows]
