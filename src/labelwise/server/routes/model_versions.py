"""Model versions: the list, comparing two on held-out items, promoting one to production."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from labelwise.server.deps import ProjectAdmin, ProjectMember, SessionDep
from labelwise.server.schemas.common import MAX_ID
from labelwise.server.schemas.predictions import ComparisonOut
from labelwise.server.schemas.training import ModelVersionOut
from labelwise.service import model_versions

router = APIRouter(prefix="/projects/{project_id}/model-versions", tags=["model versions"])

_VERSION = f"A model version number (1 to {MAX_ID:,})."
VersionPath = Annotated[int, Path(ge=1, le=MAX_ID, description=_VERSION)]
VersionQuery = Annotated[int, Query(ge=1, le=MAX_ID, description=_VERSION)]


@router.get("", response_model=list[ModelVersionOut])
def list_model_versions(session: SessionDep, access: ProjectMember) -> list[ModelVersionOut]:
    """Published models, oldest first (the order of a learning curve); ``production``
    marks the one predictions are served from."""
    versions = model_versions.list_versions(session, project_id=access.project_id)
    return [ModelVersionOut.model_validate(v) for v in versions]


@router.get("/compare", response_model=ComparisonOut)
def compare_model_versions(
    a: VersionQuery, b: VersionQuery, session: SessionDep, access: ProjectMember
) -> ComparisonOut:
    """Two versions' held-out scores (evaluation set and audit sample; accuracy, span F1
    for span projects) with their 95% intervals, and the difference ``b - a``."""
    result = model_versions.compare(session, project_id=access.project_id, a=a, b=b)
    return ComparisonOut.from_result(result)


@router.post("/{version}/promote", response_model=ModelVersionOut)
def promote_model_version(
    version: VersionPath, session: SessionDep, access: ProjectAdmin
) -> ModelVersionOut:
    """Serve predictions from this version from now on (project admins; a person's token,
    never a service token). 409 for a version whose model cannot serve."""
    promoted = model_versions.promote(
        session, project_id=access.project_id, version=version, user_id=access.user.id
    )
    return ModelVersionOut.model_validate(promoted)
