"""The feedback triage page: project members review users' reports, highest impact first.

Each report is one form, posted back here with the session's CSRF token: its two buttons
confirm it with the label typed (the "what I meant" label prefilled; the input filters
the project's labels as one types) or reject it. Success redirects back to the list
(post/redirect/get), which the new review has already reordered; a refusal re-renders
it with the message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.server.deps import SessionDep
from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.ui.admin import CsrfChecked
from labelwise.server.ui.pages import UiMember, render, session_csrf
from labelwise.service import feedback, policies, projects
from labelwise.service.errors import ConflictError, ServiceError, ValidationError
from labelwise.store import FeedbackStatus, Role, User

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Shown after a review (the redirect carries a key, never free text).
DONE_MESSAGES = {
    "confirm": "Confirmed: the message is labeled and will be in the next model.",
    "reject": "Rejected: the bot was right.",
}
SHOWN = 100


def _feedback_page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    role = policies.require_member(session, project_id=project_id, user=user)
    reviewed = request.query_params.get("show") == "reviewed"
    page = feedback.list_reports(
        session,
        project_id=project_id,
        status="reviewed" if reviewed else FeedbackStatus.OPEN,
        limit=SHOWN,
    )
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "is_admin": role is Role.ADMIN,
        "csrf_token": session_csrf(request),
        "reviewed": reviewed,
        "page": page,
        "funnel": feedback.feedback_funnel(session, project),
        "shown_max": SHOWN,
        "message": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "error": error,
    }
    return render(request, "feedback.html", context, status_code=status_code)


@router.get("/projects/{project_id}/feedback")
def feedback_triage(
    request: Request, project_id: int, session: SessionDep, user: UiMember
) -> HTMLResponse:
    """Open reports, highest expected impact first."""
    return _feedback_page(request, session, user, project_id)


@router.post("/projects/{project_id}/feedback/{report_id}")
def review_report(
    request: Request,
    project_id: int,
    report_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: UiMember,
    _csrf: CsrfChecked,
    action: Annotated[Text, Form(max_length=20)] = "",
    label: Annotated[Text, Form(max_length=500)] = "",
) -> Response:
    """Confirm (with the label typed) or reject one report; the service checks the label."""
    try:
        if action == "confirm":
            if not label.strip():
                raise ValidationError("Type or pick the right label to confirm the report.")
            feedback.confirm_report(
                session,
                project_id=project_id,
                report_id=report_id,
                reviewer=user,
                label=label.strip(),
            )
        elif action == "reject":
            feedback.reject_report(
                session, project_id=project_id, report_id=report_id, reviewer=user
            )
        else:
            raise ValidationError(f"Unknown action {action[:20]!r}: confirm or reject.")
    except ServiceError as exc:
        code = 409 if isinstance(exc, ConflictError) else 422
        if not isinstance(exc, ConflictError | ValidationError):
            code = 404
        return _feedback_page(request, session, user, project_id, error=str(exc), status_code=code)
    return RedirectResponse(
        f"/ui/projects/{project_id}/feedback?done={action}",
        status_code=status.HTTP_303_SEE_OTHER,
    )
