"""Service tokens of a project: create, list, revoke (project admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from labelwise.server.deps import ProjectAdmin, SessionDep
from labelwise.server.schemas.common import MAX_ID
from labelwise.server.schemas.service_tokens import (
    ServiceTokenCreated,
    ServiceTokenIn,
    ServiceTokenOut,
)
from labelwise.service import service_tokens

router = APIRouter(prefix="/projects/{project_id}/service-tokens", tags=["service tokens"])


@router.post("", response_model=ServiceTokenCreated, status_code=status.HTTP_201_CREATED)
def create_service_token(
    body: ServiceTokenIn, session: SessionDep, access: ProjectAdmin
) -> ServiceTokenCreated:
    """A token a production bot sends as ``Authorization: Bearer <token>`` to the
    ingest, feedback and predict routes of this project, as its scopes allow; it opens
    nothing else. The secret is in this answer only."""
    row, secret = service_tokens.create_service_token(
        session,
        project_id=access.project_id,
        name=body.name,
        scopes=body.scopes,
        created_by_id=access.user.id,
    )
    out = ServiceTokenOut.model_validate(row)
    return ServiceTokenCreated(**out.model_dump(), token=secret)


@router.get("", response_model=list[ServiceTokenOut])
def list_service_tokens(session: SessionDep, access: ProjectAdmin) -> list[ServiceTokenOut]:
    """The project's service tokens, newest first, revoked ones included."""
    rows = service_tokens.list_service_tokens(session, project_id=access.project_id)
    return [ServiceTokenOut.model_validate(row) for row in rows]


@router.delete("/{token_id}", response_model=ServiceTokenOut)
def revoke_service_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_ID, description="A service token id.")],
    session: SessionDep,
    access: ProjectAdmin,
) -> ServiceTokenOut:
    """Revoke a token at once (its requests answer 401 from now on); again is harmless."""
    row = service_tokens.revoke_service_token(
        session, project_id=access.project_id, token_id=token_id, user_id=access.user.id
    )
    return ServiceTokenOut.model_validate(row)
