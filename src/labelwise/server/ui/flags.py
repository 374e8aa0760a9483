"""The flag review page: a project admin works through flagged items and resolves each.

Each flag is one form, posted back here with the session's CSRF token; its three buttons
are the three resolutions (label, out of scope, back to the queue). Success redirects
back to the list (post/redirect/get); a refusal re-renders it with the message.
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
from labelwise.service import flags, projects
from labelwise.service.errors import ServiceError, ValidationError
from labelwise.service.flags import FlagResolution, FlagStatus
from labelwise.store import User

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Shown after a resolution (the redirect carries a key, never free text).
DONE_MESSAGES = {
    FlagResolution.LABEL.value: "Labeled.",
    FlagResolution.OUT_OF_SCOPE.value: "Marked out of scope: it will not be served or trained on.",
    FlagResolution.REQUEUE.value: "Sent back to the queue.",
}
SHOWN = 200


def _flags_page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    shown = FlagStatus.RESOLVED if request.query_params.get("show") == "resolved" else None
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "multi": projects.task_of(project).several,
        "csrf_token": session_csrf(request),
        "resolved": shown is FlagStatus.RESOLVED,
        "flags": flags.list_flags(
            session, project_id=project_id, status=shown or FlagStatus.OPEN, limit=SHOWN
        ),
        "open_count": flags.count_open_flags(session, project_id=project_id),
        "shown_max": SHOWN,
        "message": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "error": error,
    }
    return render(request, "flags.html", context, status_code=status_code)


@router.get("/projects/{project_id}/flags")
def flag_review(
    request: Request, project_id: int, session: SessionDep, user: UiProjectAdmin
) -> HTMLResponse:
    """Open flags, oldest first, each with its item, reason and comment."""
    return _flags_page(request, session, user, project_id)


@router.post("/projects/{project_id}/flags/{flag_id}")
def resolve_flag(
    request: Request,
    project_id: int,
    flag_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
    resolution: Annotated[Text, Form(max_length=20)] = "",
    label: Annotated[list[Text] | None, Form(max_length=500)] = None,
) -> Response:
    """Resolve one flag from its form; the service checks the label."""
    try:
        if resolution not in DONE_MESSAGES:
            raise ValidationError(f"Unknown resolution {resolution!r}.")
        chosen = FlagResolution(resolution)
        given: Any = None
        if chosen is FlagResolution.LABEL:
            picked = [value for value in label or [] if value]
            task = projects.task_of(projects.get_project(session, project_id=project_id))
            given = picked if task.several else (picked[0] if picked else None)
        flags.resolve_flag(
            session,
            project_id=project_id,
            flag_id=flag_id,
            reviewer=user,
            resolution=chosen,
            label=given,
        )
    except ServiceError as exc:
        code = 409 if "already resolved" in str(exc) else 422
        return _flags_page(request, session, user, project_id, error=str(exc), status_code=code)
    return RedirectResponse(
        f"/ui/projects/{project_id}/flags?done={chosen.value}",
        status_code=status.HTTP_303_SEE_OTHER,
    )
