"""Request dependencies: settings, a session per request, the caller and their project role.

Everything comes from ``app.state`` (set by ``create_app``), so tests build an app over
their own settings instead of overriding globals.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from labelwise.server.schemas.common import OffsetQuery, ProjectIdPath
from labelwise.server.security import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, session_csrf_ok
from labelwise.service import policies, service_tokens, users
from labelwise.service.errors import AuthenticationError, PermissionDeniedError
from labelwise.service.items import MAX_PAGE
from labelwise.service.sentence_vectors import SentenceVectors
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


def get_serving_rng(request: Request) -> random.Random:
    """The app's seeded generator for serving draws (``Settings.serving_seed``)."""
    rng: random.Random = request.app.state.serving_rng
    return rng


def get_sentence_vectors(request: Request) -> SentenceVectors | None:
    """The app's sentence embedder for labeling functions (None without the extra)."""
    sentences: SentenceVectors | None = request.app.state.sentence_vectors
    return sentences


SettingsDep = Annotated[Settings, Depends(get_settings)]
SentencesDep = Annotated[SentenceVectors | None, Depends(get_sentence_vectors)]
ServingRng = Annotated[random.Random, Depends(get_serving_rng)]
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


@dataclass(frozen=True)
class ScopedCaller:
    """Who calls a bot-facing route (ingest, feedback, predict): a service token of the
    project with that scope, or a person with the role the scope needs."""

    project_id: int
    scope: str
    user: User | None = None
    service_token_id: int | None = None

    @property
    def actor(self) -> str:
        """How events and stored rows name the caller."""
        if self.user is not None:
            return f"user:{self.user.username}"
        return f"service_token:{self.service_token_id}"


#: The role a person needs for each scope: adding traffic changes the pool (admin);
#: reporting and predicting are open to members.
_SCOPE_ROLE = {"ingest": Role.ADMIN, "feedback": Role.ANNOTATOR, "predict": Role.ANNOTATOR}


def project_scope(scope: str) -> Callable[..., ScopedCaller]:
    """The dependency of a route a production bot may call with a ``scope`` token."""
    if scope not in _SCOPE_ROLE:
        raise ValueError(f"Unknown scope {scope!r}; known: {', '.join(_SCOPE_ROLE)}.")

    def dependency(
        project_id: ProjectIdPath,
        request: Request,
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ScopedCaller:
        if credentials is not None and service_tokens.looks_like_service_token(
            credentials.credentials
        ):
            row = service_tokens.authorize_service(
                session, token=credentials.credentials, project_id=project_id, scope=scope
            )
            return ScopedCaller(project_id=project_id, scope=scope, service_token_id=row.id)
        user = get_current_user(request, session, credentials)
        if _SCOPE_ROLE[scope] is Role.ADMIN:
            policies.require_project_admin(session, project_id=project_id, user=user)
        else:
            policies.require_member(session, project_id=project_id, user=user)
        return ScopedCaller(project_id=project_id, scope=scope, user=user)

    return dependency


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
