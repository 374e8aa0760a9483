"""Request dependencies: settings, a session per request, the caller and their project role.

Everything comes from ``app.state`` (set by ``create_app``), so tests build an app over
their own settings instead of overriding globals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from labelwise.server.schemas.common import OffsetQuery, ProjectIdPath
from labelwise.server.security import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, session_csrf_ok
from labelwise.service import policies, users
from labelwise.service.errors import AuthenticationError, PermissionDeniedError
from labelwise.service.items import MAX_PAGE
from labelwise.settings import Settings
from labelwise.store import Role, User


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed (and any open transaction rolled back) after it."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

# auto_error=False: a missing header becomes our AuthenticationError (401, one body shape).
_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/auth/token.")


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise AuthenticationError("Missing bearer token (Authorization: Bearer <token>).")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


def get_current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The owner of the bearer token or, for the web UI, of the session cookie.

    A request authenticated by the cookie alone must prove, unless it only reads, that it
    comes from our own pages: it carries the session's CSRF token in ``X-CSRF-Token``.
    """
    if credentials is not None:
        return users.user_for_token(session, token=credentials.credentials)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise AuthenticationError("Missing bearer token (Authorization: Bearer <token>).")
    if request.method not in SAFE_METHODS and not session_csrf_ok(
        request, cookie, request.headers.get(CSRF_HEADER)
    ):
        raise PermissionDeniedError(f"Missing or wrong CSRF token ({CSRF_HEADER} header).")
    return users.user_for_token(session, token=cookie)


CurrentUser = Annotated[User, Depends(get_current_user)]


@dataclass(frozen=True)
class ProjectAccess:
    """The caller, the project of the path and the caller's role in it, once authorized."""

    project_id: int
    user: User
    role: Role


def project_member(
    project_id: ProjectIdPath, session: SessionDep, user: CurrentUser
) -> ProjectAccess:
    role = policies.require_member(session, project_id=project_id, user=user)
    return ProjectAccess(project_id=project_id, user=user, role=role)


def project_admin(
    project_id: ProjectIdPath, session: SessionDep, user: CurrentUser
) -> ProjectAccess:
    policies.require_project_admin(session, project_id=project_id, user=user)
    return ProjectAccess(project_id=project_id, user=user, role=Role.ADMIN)


def site_admin(user: CurrentUser) -> User:
    policies.require_site_admin(user)
    return user


ProjectMember = Annotated[ProjectAccess, Depends(project_member)]
ProjectAdmin = Annotated[ProjectAccess, Depends(project_admin)]
SiteAdmin = Annotated[User, Depends(site_admin)]


@dataclass(frozen=True)
class Page:
    """Which slice of a list: ``limit`` rows from ``offset`` on."""

    offset: int
    limit: int


def page(
    offset: OffsetQuery = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page)]
