"""The new-intent review page: a project admin reads each open cluster's representatives
and creates an intent from it (the name prefilled with the suggestion, the members to
confirm ticked) or rules it out of scope.

Each cluster is one form posted back here with the session's CSRF token; success
redirects back to the list (post/redirect/get), a refusal re-renders it with the message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.server.deps import SessionDep
from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.ui.admin import CsrfChecked
from labelwise.server.ui.pages import UiProjectAdmin, render, session_csrf
from labelwise.service import intent_discovery, projects
from labelwise.service.errors import ConflictError, ServiceError, ValidationError
from labelwise.store import User

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Shown after a decision (the redirect carries a key, never free text).
DONE_MESSAGES = {
    "created": "Intent created: the members you ticked are labeled with it.",
    "out_of_scope": "Ruled out of scope.",
    "refresh": "Looking for clusters again: reload in a moment.",
}
SHOWN = 50


def _clusters_page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "csrf_token": session_csrf(request),
        "clusters": intent_discovery.list_clusters(session, project_id=project_id, limit=SHOWN),
        "open_count": intent_discovery.count_open_clusters(session, project_id=project_id),
        "out_of_scope": intent_discovery.out_of_scope_label(project),
        "shown_max": SHOWN,
        "message": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "error": error,
    }
    return render(request, "clusters.html", context, status_code=status_code)


def _done(project_id: int, key: str) -> RedirectResponse:
    return RedirectResponse(
        f"/ui/projects/{project_id}/clusters?done={key}", status_code=status.HTTP_303_SEE_OTHER
    )


def _refused(
    request: Request, session: Session, user: User, project_id: int, exc: ServiceError
) -> HTMLResponse:
    code = 409 if isinstance(exc, ConflictError) else 404 if "has no" in str(exc) else 422
    return _clusters_page(request, session, user, project_id, error=str(exc), status_code=code)


@router.get("/projects/{project_id}/clusters")
def cluster_review(
    request: Request, project_id: int, session: SessionDep, user: UiProjectAdmin
) -> HTMLResponse:
    """Open clusters, largest first, each with its representatives and members."""
    return _clusters_page(request, session, user, project_id)


@router.post("/projects/{project_id}/clusters/refresh")
def refresh(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
) -> Response:
    """Queue a discovery."""
    try:
        intent_discovery.request_discovery(session, project_id=project_id, user=user)
    except ServiceError as exc:
        return _refused(request, session, user, project_id, exc)
    return _done(project_id, "refresh")


@router.post("/projects/{project_id}/clusters/{cluster_id}")
def decide(
    request: Request,
    project_id: int,
    cluster_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
    action: Annotated[Text, Form(max_length=20)] = "",
    name: Annotated[Text, Form(max_length=1000)] = "",
    member: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Create an intent from the cluster (with the ticked members) or rule it out of scope."""
    try:
        if action == "create":
            intent_discovery.create_intent_from_cluster(
                session,
                project_id=project_id,
                cluster_id=cluster_id,
                name=name,
                admin=user,
                confirm=[m for m in member or [] if 1 <= m <= MAX_ID],
            )
            return _done(project_id, "created")
        if action == "out_of_scope":
            intent_discovery.mark_out_of_scope(
                session, project_id=project_id, cluster_id=cluster_id, admin=user
            )
            return _done(project_id, "out_of_scope")
        raise ValidationError(f"Unknown action {action!r}.")
    except ServiceError as exc:
        return _refused(request, session, user, project_id, exc)
