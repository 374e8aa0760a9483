"""Projects: list, create (site admins), read, change settings, add members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, status

from labelwise.server.deps import CurrentUser, ProjectAdmin, ProjectMember, SessionDep, SiteAdmin
from labelwise.server.schemas.projects import (
    GuidelinesIn,
    MemberIn,
    MemberOut,
    MemberRow,
    ProjectIn,
    ProjectOut,
)
from labelwise.service import projects, users

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=list[ProjectOut])
def list_projects(session: SessionDep, user: CurrentUser) -> list[ProjectOut]:
    """The caller's projects (every project for a site admin)."""
    return [ProjectOut.model_validate(p) for p in projects.list_projects(session, user=user)]


@router.post("", response_model=ProjectOut, status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectIn, session: SessionDep, admin: SiteAdmin) -> ProjectOut:
    """A new project with the caller as its admin (site admins only)."""
    project = projects.create_project(
        session,
        name=body.name,
        labels=body.labels,
        owner=admin,
        task=body.task,
        entity_types=body.entity_types,
        settings=body.settings,
        guidelines=body.guidelines,
    )
    return ProjectOut.model_validate(project)


@router.get("/{project_id}", response_model=ProjectOut)
def read_project(session: SessionDep, access: ProjectMember) -> ProjectOut:
    return ProjectOut.model_validate(projects.get_project(session, project_id=access.project_id))


@router.patch("/{project_id}/settings", response_model=ProjectOut)
def update_settings(
    session: SessionDep,
    access: ProjectAdmin,
    changes: Annotated[
        dict[str, Any], Body(examples=[{"strategy": "entropy", "retrain_every": 25}])
    ],
) -> ProjectOut:
    """Merge ``changes`` into the settings; the result is validated as a whole (422)."""
    project = projects.update_settings(session, project_id=access.project_id, changes=changes)
    return ProjectOut.model_validate(project)


@router.put("/{project_id}/guidelines", response_model=ProjectOut)
def update_guidelines(body: GuidelinesIn, session: SessionDep, access: ProjectAdmin) -> ProjectOut:
    """Replace the guidelines annotators read beside each item."""
    project = projects.update_guidelines(
        session, project_id=access.project_id, guidelines=body.guidelines
    )
    return ProjectOut.model_validate(project)


@router.get("/{project_id}/members", response_model=list[MemberRow])
def list_members(session: SessionDep, access: ProjectAdmin) -> list[MemberRow]:
    """The project's members and their roles."""
    return [
        MemberRow.model_validate(m)
        for m in projects.list_members(session, project_id=access.project_id)
    ]


@router.post("/{project_id}/members", response_model=MemberOut)
def add_member(body: MemberIn, session: SessionDep, access: ProjectAdmin) -> MemberOut:
    """Give a user a role in the project, or change the role they have."""
    # get_user() resolves the name in the body; add_member() is the one write.
    user = users.get_user(session, username=body.username)
    membership = projects.add_member(
        session, project_id=access.project_id, user=user, role=body.role
    )
    return MemberOut.model_validate(membership)
