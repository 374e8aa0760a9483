"""New-intent discovery (project admins): the clusters, a refresh, and the decisions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from labelwise.server.deps import PageDep, ProjectAdmin, SessionDep
from labelwise.server.schemas.clusters import ClusterOut, CreateIntentIn
from labelwise.server.schemas.common import MAX_ID
from labelwise.server.schemas.training import JobOut
from labelwise.service import intent_discovery

router = APIRouter(prefix="/projects/{project_id}/clusters", tags=["clusters"])

ClusterIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An intent cluster's id.")]


@router.get("", response_model=list[ClusterOut])
def list_clusters(
    session: SessionDep,
    access: ProjectAdmin,
    page: PageDep,
    status: Annotated[
        Literal["open", "decided", "all"], Query(description="Open, decided, or all clusters.")
    ] = "open",
) -> list[ClusterOut]:
    """The project's clusters of messages its model cannot place, largest first."""
    views = intent_discovery.list_clusters(
        session, project_id=access.project_id, status=status, offset=page.offset, limit=page.limit
    )
    return [ClusterOut.from_view(v) for v in views]


@router.post("/refresh", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def refresh_clusters(session: SessionDep, access: ProjectAdmin) -> JobOut:
    """Queue a discovery (or get the one already waiting); the worker runs it and the
    open clusters are replaced by what it finds."""
    job = intent_discovery.request_discovery(
        session, project_id=access.project_id, user=access.user
    )
    return JobOut.model_validate(job)


@router.post("/{cluster_id}/create-intent", response_model=ClusterOut)
def create_intent(
    cluster_id: ClusterIdPath, body: CreateIntentIn, session: SessionDep, access: ProjectAdmin
) -> ClusterOut:
    """Add a new intent to the project's labels and confirm members with it (your labels)."""
    view = intent_discovery.create_intent_from_cluster(
        session,
        project_id=access.project_id,
        cluster_id=cluster_id,
        name=body.name,
        admin=access.user,
        confirm=body.confirm,
    )
    return ClusterOut.from_view(view)


@router.post("/{cluster_id}/out-of-scope", response_model=ClusterOut)
def out_of_scope(
    cluster_id: ClusterIdPath, session: SessionDep, access: ProjectAdmin
) -> ClusterOut:
    """Rule a cluster out of scope: its members get the out-of-scope class when the
    project has one; otherwise the cluster is dismissed."""
    view = intent_discovery.mark_out_of_scope(
        session, project_id=access.project_id, cluster_id=cluster_id, admin=access.user
    )
    return ClusterOut.from_view(view)
