"""The UI's pages: log in and out, pick a project, annotate.

The dashboard and the admin pages live beside this module; what every page shares
(templates, security headers, access checks) is in ``pages``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from labelwise.server.deps import SessionDep
from labelwise.server.schemas.common import Text
from labelwise.server.security import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    session_csrf_ok,
    set_cookie,
)
from labelwise.server.throttle import LoginThrottled, client_ip, request_throttle
from labelwise.server.ui.admin import router as admin_router
from labelwise.server.ui.clusters import router as clusters_router
from labelwise.server.ui.dashboard import router as dashboard_router
from labelwise.server.ui.feedback import router as feedback_router
from labelwise.server.ui.flags import router as flags_router
from labelwise.server.ui.labeling_functions import router as labeling_functions_router
from labelwise.server.ui.model_versions import router as model_versions_router
from labelwise.server.ui.pages import (
    HERE,
    Forbidden,
    LoginRequired,
    UiMember,
    UiUser,
    render,
    session_csrf,
)
from labelwise.service import policies, projects, users
from labelwise.service.errors import AuthenticationError
from labelwise.store import Project, Role
from labelwise.tasks import Task


def task_view(task: Task) -> str | None:
    """The partial that draws the item and the answer controls (None: no browser view yet).

    Each task names its view; a span view slots in as ``templates/tasks/spans.html`` plus
    its JS view.
    """
    return None if task.view is None else f"tasks/{task.view}.html"


router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/projects", status_code=status.HTTP_303_SEE_OTHER)


def _login_form(request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
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
    username: Annotated[Text, Form(max_length=200)] = "",
    password: Annotated[Text, Form(max_length=1000)] = "",
    csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None,
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if expected is None or not csrf_matches(expected, csrf):
        return _login_form(request, "The form expired; please log in again.", 403)
    throttle = request_throttle(request)
    try:
        # Before authenticate(): a locked attempt must not cost (or time) a password hash.
        attempt = throttle.begin(username, client_ip(request))
        user = users.authenticate(session, username=username, password=password)
    except LoginThrottled as exc:
        locked = _login_form(request, str(exc), status.HTTP_429_TOO_MANY_REQUESTS)
        locked.headers["Retry-After"] = str(exc.retry_after)
        return locked
    except AuthenticationError as exc:
        return _login_form(request, str(exc), 401)
    throttle.succeeded(attempt)
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
    """The projects this user belongs to, with the admin links where they are an admin."""
    mine = projects.list_projects(session, user=user)
    administered = policies.administered_projects(
        session, user=user, project_ids=[p.id for p in mine]
    )
    return render(
        request,
        "projects.html",
        {
            "user": user,
            "projects": mine,
            "administered": administered,
            "csrf_token": session_csrf(request),
        },
    )


@router.get("/projects/{project_id}")
def annotate(request: Request, project_id: int, session: SessionDep, user: UiMember) -> Response:
    """The annotation page: one item at a time from the project's queue."""
    project: Project = projects.get_project(session, project_id=project_id)
    task = projects.task_of(project)
    role = policies.project_role(session, project_id=project_id, user=user)
    context = {
        "user": user,
        "project": project,
        "is_admin": role is Role.ADMIN,
        "task": task,
        "task_view": task_view(task),
        "csrf_token": session_csrf(request),
        "boot": {
            "project_id": project.id,
            "task": task.kind,
            "labels": project.labels,
            # The page's span tools; [] for classification.
            "entity_types": list(task.entity_types or ()),
        },
    }
    return render(request, "annotate.html", context)


def _login_required(_request: Request, _exc: Exception) -> Response:
    return RedirectResponse("/ui/login", status_code=status.HTTP_303_SEE_OTHER)


def _forbidden(request: Request, _exc: Exception) -> Response:
    return render(request, "forbidden.html", {}, status_code=status.HTTP_403_FORBIDDEN)


def mount_ui(app: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    app.include_router(router)
    app.include_router(dashboard_router)
    app.include_router(admin_router)
    app.include_router(flags_router)
    app.include_router(labeling_functions_router)
    app.include_router(feedback_router)
    app.include_router(clusters_router)
    app.include_router(model_versions_router)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.exception_handler(LoginRequired)(_login_required)
    app.exception_handler(Forbidden)(_forbidden)
