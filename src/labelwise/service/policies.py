"""Who may do what: one named check per rule, used by server and CLI alike."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.service.errors import NotFoundError, PermissionDeniedError
from labelwise.store import Membership, Project, Role, User


def project_role(session: Session, *, project_id: int, user: User) -> Role:
    """The user's role in the project (site admins are admins everywhere).

    A project the user does not belong to is reported as not found, so its existence
    does not leak to outsiders.
    """
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    if user.is_admin:
        return Role.ADMIN
    role = session.scalar(
        select(Membership.role).where(
            Membership.project_id == project_id, Membership.user_id == user.id
        )
    )
    if role is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return role


def administered_projects(session: Session, *, user: User, project_ids: list[int]) -> set[int]:
    """Which of ``project_ids`` the user may administer, in one query."""
    if user.is_admin:
        return set(project_ids)
    return set(
        session.scalars(
            select(Membership.project_id).where(
                Membership.user_id == user.id,
                Membership.role == Role.ADMIN,
                Membership.project_id.in_(project_ids),
            )
        )
    )


def require_member(session: Session, *, project_id: int, user: User) -> Role:
    """Any member may read the project and label in it."""
    return project_role(session, project_id=project_id, user=user)


def require_project_admin(session: Session, *, project_id: int, user: User) -> None:
    """Import, export, settings, members and retrains need the admin role."""
    if project_role(session, project_id=project_id, user=user) is not Role.ADMIN:
        raise PermissionDeniedError(f"Only an admin of project {project_id} may do this.")


def require_site_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDeniedError("Only a site admin may do this.")
