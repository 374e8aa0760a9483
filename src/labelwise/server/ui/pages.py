"""What every UI page shares: the templates, the security headers, who may open it.

Pages answer HTML, never the API's JSON errors: an anonymous visitor is sent to the
log-in form, and a page the user may not open answers 403 whether or not it exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from labelwise.server.deps import SessionDep
from labelwise.server.schemas.common import ProjectIdPath
from labelwise.server.security import SESSION_COOKIE, csrf_token, request_secret
from labelwise.service import policies, users
from labelwise.service.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from labelwise.store import User

HERE = Path(__file__).parent
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)

#: Headers on every UI response: no inline script or style runs even if escaping ever
#: failed (charts use SVG presentation attributes, not ``style=``, for this reason).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session cookie: the page redirects to the log-in form."""


class Forbidden(Exception):
    """The user may not open this page (or it does not exist: the answer is the same)."""


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Template ``name`` with ``context``, under the security headers."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def session_csrf(request: Request) -> str:
    """The CSRF token of the request's session, for forms and the page's script."""
    return csrf_token(request_secret(request), request.cookies.get(SESSION_COOKIE, ""))


def ui_user(request: Request, session: SessionDep) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        raise LoginRequired
    try:
        return users.user_for_token(session, token=token)
    except AuthenticationError:
        raise LoginRequired from None


UiUser = Annotated[User, Depends(ui_user)]


def ui_member(project_id: ProjectIdPath, session: SessionDep, user: UiUser) -> User:
    try:
        policies.require_member(session, project_id=project_id, user=user)
    except (NotFoundError, PermissionDeniedError):
        raise Forbidden from None
    return user


def ui_project_admin(project_id: ProjectIdPath, session: SessionDep, user: UiUser) -> User:
    try:
        policies.require_project_admin(session, project_id=project_id, user=user)
    except (NotFoundError, PermissionDeniedError):
        raise Forbidden from None
    return user


def ui_site_admin(user: UiUser) -> User:
    try:
        policies.require_site_admin(user)
    except PermissionDeniedError:
        raise Forbidden from None
    return user


UiMember = Annotated[User, Depends(ui_member)]
UiProjectAdmin = Annotated[User, Depends(ui_project_admin)]
UiSiteAdmin = Annotated[User, Depends(ui_site_admin)]
