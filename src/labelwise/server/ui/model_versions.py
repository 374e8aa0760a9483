"""Promoting a model version from the dashboard: first the comparison, then the form.

The dashboard's "Model versions" table links each version that can serve to its promote
page. That page puts the version's held-out scores beside the production version's,
with the difference and its interval, and holds the one form that promotes it (the
session's CSRF token, post/redirect/get back to the dashboard).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.server.deps import SessionDep
from labelwise.server.schemas.common import MAX_ID
from labelwise.server.ui.admin import CsrfChecked
from labelwise.server.ui.pages import UiProjectAdmin, render, session_csrf
from labelwise.service import model_versions, projects
from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.store import User

router = APIRouter(prefix="/ui/projects/{project_id}/model-versions", include_in_schema=False)

VersionPath = Annotated[int, Path(ge=1, le=MAX_ID)]
#: How the page names each held-out set and score.
HELD_OUT = {"eval": "held-out evaluation set", "audit": "random audit sample"}
METRICS = {"accuracy": "accuracy", "span_f1": "span F1"}


def _promote_page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    version: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    production = model_versions.production_version(session, project_id=project_id)
    # Without a version in production the candidate is shown alone (compared to itself).
    baseline = version if production is None else production.version
    comparison = model_versions.compare(session, project_id=project_id, a=baseline, b=version)
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "csrf_token": session_csrf(request),
        "comparison": comparison,
        "candidate": comparison.b,
        "production": production,
        "held_out": HELD_OUT,
        "metrics": METRICS,
        "error": error,
    }
    return render(request, "promote.html", context, status_code=status_code)


@router.get("/{version}/promote")
def promote_form(
    request: Request,
    project_id: int,
    version: VersionPath,
    session: SessionDep,
    user: UiProjectAdmin,
) -> Response:
    """The comparison against the version in production, and the promote button."""
    try:
        return _promote_page(request, session, user, project_id, version)
    except NotFoundError as exc:
        return _not_found(request, session, user, project_id, str(exc))


@router.post("/{version}/promote")
def promote(
    request: Request,
    project_id: int,
    version: VersionPath,
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
) -> Response:
    """Promote, then back to the dashboard; a refusal re-renders the page with the reason."""
    try:
        model_versions.promote(session, project_id=project_id, version=version, user_id=user.id)
    except ConflictError as exc:
        return _promote_page(
            request, session, user, project_id, version, error=str(exc), status_code=409
        )
    except NotFoundError as exc:
        return _not_found(request, session, user, project_id, str(exc))
    return RedirectResponse(
        f"/ui/projects/{project_id}/dashboard?done=promoted#h-versions",
        status_code=status.HTTP_303_SEE_OTHER,
    )


def _not_found(
    request: Request, session: Session, user: User, project_id: int, message: str
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    return render(
        request,
        "promote.html",
        {"user": user, "project": project, "comparison": None, "error": message},
        status_code=404,
    )
