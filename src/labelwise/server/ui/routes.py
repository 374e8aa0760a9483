"""The UI's pages: log in and out, pick a project, annotate.

Pages answer HTML, never the API's JSON errors: an anonymous visitor is sent to the
log-in form, and a project the user may not open answers 403 whether or not it exists.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from labelwise.server.deps import SessionDep
from labelwise.server.security import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    csrf_token,
    request_secret,
    session_csrf_ok,
    set_cookie,
)
from labelwise.service import policies, projects, users
from labelwise.service.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from labelwise.store import Project, TaskType, User

HERE = Path(__file__).parent
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
)

#: The partial that draws the item and the answer controls, per task type. A span view
#: (entity extraction) slots in as ``templates/tasks/spans.html`` plus its JS view.
TASK_VIEWS: dict[TaskType, str] = {
    TaskType.SINGLE_LABEL: "tasks/classification.html",
    TaskType.MULTI_LABEL: "tasks/classification.html",
}

#: Headers on every UI response: no inline script runs even if escaping ever failed.
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

router = APIRouter(prefix="/ui", include_in_schema=False)


class LoginRequired(Exception):
    """No valid session cookie: the page redirects to the log-in form."""


class Forbidden(Exception):
    """The user may not open this page (or it does not exist: the answer is the same)."""


def _page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def ui_user(request: Request, session: SessionDep) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if token is None:
        raise LoginRequired
    try:
        return users.user_for_token(session, token=token)
    except AuthenticationError:
        raise LoginRequired from None


UiUser = Annotated[User, Depends(ui_user)]


def ui_member(project_id: int, session: SessionDep, user: UiUser) -> User:
    try:
        policies.require_member(session, project_id=project_id, user=user)
    except (NotFoundError, PermissionDeniedError):
        raise Forbidden from None
    return user


UiMember = Annotated[User, Depends(ui_member)]


def _session_csrf(request: Request) -> str:
    return csrf_token(request_secret(request), request.cookies.get(SESSION_COOKIE, ""))


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/projects", status_code=status.HTTP_303_SEE_OTHER)


def _login_form(request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _page(
        request, "login.html", {"csrf_token": token, "error": error}, status_code=status_code
    )
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, path="/ui/login")
    return response


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_form(request)


@router.post("/login")
def log_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if expected is None or not csrf_matches(expected, csrf):
        return _login_form(request, "The form expired; please log in again.", 403)
    try:
        user = users.authenticate(session, username=username, password=password)
    except AuthenticationError as exc:
        return _login_form(request, str(exc), 401)
    response = RedirectResponse("/ui/projects", status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(
        response,
        request,
        SESSION_COOKIE,
        users.create_token(session, user=user, name="web session"),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


@router.post("/logout")
def log_out(
    request: Request,
    session: SessionDep,
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token is None or not session_csrf_ok(request, token, csrf):
        raise Forbidden
    users.revoke_token(session, token=token)
    response = RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/projects")
def project_list(request: Request, session: SessionDep, user: UiUser) -> HTMLResponse:
    """The projects this user belongs to."""
    return _page(
        request,
        "projects.html",
        {
            "user": user,
            "projects": projects.list_projects(session, user=user),
            "csrf_token": _session_csrf(request),
        },
    )


@router.get("/projects/{project_id}")
def annotate(request: Request, project_id: int, session: SessionDep, user: UiMember) -> Response:
    """The annotation page: one item at a time from the project's queue."""
    project: Project = projects.get_project(session, project_id=project_id)
    view = TASK_VIEWS.get(project.task)
    context = {
        "user": user,
        "project": project,
        "task_view": view,
        "csrf_token": _session_csrf(request),
        "boot": {
            "project_id": project.id,
            "task": project.task.value,
            "labels": project.labels,
        },
    }
    return _page(request, "annotate.html", context)


def _login_required(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)


def _forbidden(request: Request, _exc: Exception) -> Response:
    return _page(request, "forbidden.html", {}, status_code=status.HTTP_403_FORBIDDEN)


def mount_ui(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.exception_handler(LoginRequired)(_login_required)
    app.exception_handler(Forbidden)(_forbidden)
