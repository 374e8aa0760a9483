"""Admin pages: manage a project (settings, guidelines, members, data, retrains), add
users and create projects.

Every form posts back here with the session's CSRF token and is answered with a
redirect (post/redirect/get) on success, or the same page with the error and a 4xx
status on failure; each action is one call into the service layer, like the API's.
Project pages need the project's admin role, user and project creation a site admin:
anyone else gets the same 403 page as for a project that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.exceptions import InputError
from labelwise.server.deps import SessionDep, SettingsDep
from labelwise.server.files import safe_name
from labelwise.server.routes.imports import import_job_out
from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.schemas.errors import public_file_name
from labelwise.server.security import CSRF_FIELD, SESSION_COOKIE, session_csrf_ok
from labelwise.server.ui.pages import (
    Forbidden,
    UiProjectAdmin,
    UiSiteAdmin,
    render,
    session_csrf,
)
from labelwise.service import import_jobs, projects, service_tokens, training, users
from labelwise.service.errors import ServiceError, UploadTooLargeError, ValidationError
from labelwise.service.project_settings import (
    DEFAULT_AUDIT_FRACTION,
    ProjectSettings,
    strategies_for,
)
from labelwise.store import JobStatus, Role, TaskType, User

router = APIRouter(prefix="/ui", include_in_schema=False)


#: Shown on the manage page after a successful action (post/redirect/get carries a key,
#: never free text, so nothing from the query string reaches the page).
DONE_MESSAGES = {
    "settings": "Settings saved.",
    "guidelines": "Guidelines saved.",
    "member": "Member saved.",
    "retrain": "Retrain queued; the worker picks it up shortly.",
    "created": "Project created. Import items to start labeling.",
    "user": "User added.",
    "token_revoked": "Service token revoked.",
}

#: Settings the form edits: all of them (a test checks that ``save_settings`` takes each).
SETTING_FIELDS = list(ProjectSettings.model_fields)
#: Settings about weak labels, offered only where the task takes labeling functions.
WEAK_LABEL_FIELDS = ("weak_label_weight", "weak_label_weight_by_cv", "weak_labels_from")


def form_csrf(request: Request, csrf: Annotated[str | None, Form(alias=CSRF_FIELD)] = None) -> None:
    """Every admin form carries the session's CSRF token; without it, the 403 page."""
    if not session_csrf_ok(request, request.cookies.get(SESSION_COOKIE, ""), csrf):
        raise Forbidden


CsrfChecked = Annotated[None, Depends(form_csrf)]


def _done(request: Request) -> str:
    return DONE_MESSAGES.get(request.query_params.get("done", ""), "")


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=status.HTTP_303_SEE_OTHER)


def _manage_page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    *,
    error: str = "",
    problems: list[str] | None = None,
    status_code: int = 200,
    new_token: dict[str, str] | None = None,
) -> HTMLResponse:
    project = projects.get_project(session, project_id=project_id)
    current = projects.parse_settings(project.settings)
    # Weak labels come from labeling functions, which not every task takes.
    weak_labels = projects.task_of(project).labeling_functions
    context: dict[str, Any] = {
        "user": user,
        "project": project,
        "csrf_token": session_csrf(request),
        "settings": current,
        "fields": [
            (name, ProjectSettings.model_fields[name], getattr(current, name))
            for name in SETTING_FIELDS
            if name not in WEAK_LABEL_FIELDS or weak_labels
        ],
        "weak_labels": weak_labels,
        "strategies": sorted(strategies_for(project.task)),
        "members": projects.list_members(session, project_id=project_id),
        "roles": [role.value for role in Role],
        "service_tokens": service_tokens.list_service_tokens(session, project_id=project_id),
        "scopes": service_tokens.SCOPES,
        "new_token": new_token,
        "message": _done(request),
        "error": error,
        "problems": problems or [],
    }
    return render(request, "manage.html", context, status_code=status_code)


@router.get("/projects/{project_id}/manage")
def manage(
    request: Request, project_id: int, session: SessionDep, user: UiProjectAdmin
) -> HTMLResponse:
    """Settings, guidelines, members, import and export, and a retrain button."""
    return _manage_page(request, session, user, project_id)


SettingField = Annotated[Text | None, Form(max_length=100)]


@router.post("/projects/{project_id}/manage/settings")
def save_settings(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
    strategy: SettingField = None,
    class_balanced: SettingField = None,
    full_rescore_every: SettingField = None,
    features: SettingField = None,
    retrain_every: SettingField = None,
    min_labels: SettingField = None,
    queue_size: SettingField = None,
    lease_seconds: SettingField = None,
    overlap: SettingField = None,
    audit_fraction: SettingField = None,
    evaluation_like_pool: SettingField = None,
    regularization: SettingField = None,
    near_duplicate_cosine: SettingField = None,
    relabel_every: SettingField = None,
    relabel_share: SettingField = None,
    discovery_confidence: SettingField = None,
    discovery_min_cluster_size: SettingField = None,
    out_of_scope_label: SettingField = None,
    label_budget: SettingField = None,
    budget_period: SettingField = None,
    stream_share: SettingField = None,
    feedback_share: SettingField = None,
    cluster_share: SettingField = None,
    weak_label_weight: SettingField = None,
    weak_label_weight_by_cv: SettingField = None,
    weak_labels_from: SettingField = None,
) -> Response:
    """Save the settings form; the service validates the values (text from the form)."""
    given = {
        "strategy": strategy,
        "class_balanced": class_balanced,
        "full_rescore_every": full_rescore_every,
        "features": features,
        "retrain_every": retrain_every,
        "min_labels": min_labels,
        "queue_size": queue_size,
        "lease_seconds": lease_seconds,
        "overlap": overlap,
        "audit_fraction": audit_fraction,
        "evaluation_like_pool": evaluation_like_pool,
        "regularization": regularization,
        "near_duplicate_cosine": near_duplicate_cosine,
        "relabel_every": relabel_every,
        "relabel_share": relabel_share,
        "discovery_confidence": discovery_confidence,
        "discovery_min_cluster_size": discovery_min_cluster_size,
        "out_of_scope_label": out_of_scope_label,
        "label_budget": label_budget,
        "budget_period": budget_period,
        "stream_share": stream_share,
        "feedback_share": feedback_share,
        "cluster_share": cluster_share,
        "weak_label_weight": weak_label_weight,
        "weak_label_weight_by_cv": weak_label_weight_by_cv,
        "weak_labels_from": weak_labels_from,
    }
    changes: dict[str, Any] = {
        name: value.strip() for name, value in given.items() if value is not None
    }
    if changes.get("out_of_scope_label") == "":
        changes["out_of_scope_label"] = None  # blank: a label named oos / out_of_scope
    try:
        projects.update_settings(session, project_id=project_id, changes=changes)
    except ServiceError as exc:
        return _manage_page(request, session, user, project_id, error=str(exc), status_code=422)
    return _see_other(f"/ui/projects/{project_id}/manage?done=settings")


@router.post("/projects/{project_id}/manage/guidelines")
def save_guidelines(
    project_id: int,
    session: SessionDep,
    _user: UiProjectAdmin,
    _csrf: CsrfChecked,
    guidelines: Annotated[Text, Form(max_length=100_000)] = "",
) -> Response:
    projects.update_guidelines(session, project_id=project_id, guidelines=guidelines)
    return _see_other(f"/ui/projects/{project_id}/manage?done=guidelines")


@router.post("/projects/{project_id}/manage/members")
def save_member(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
    username: Annotated[Text, Form(max_length=100)] = "",
    role: Annotated[Text, Form(max_length=20)] = Role.ANNOTATOR.value,
) -> Response:
    try:
        if role not in {r.value for r in Role}:
            raise ValidationError(f"Unknown role {role!r}.")
        member = users.get_user(session, username=username.strip())
        projects.add_member(session, project_id=project_id, user=member, role=Role(role))
    except ServiceError as exc:
        return _manage_page(request, session, user, project_id, error=str(exc), status_code=422)
    return _see_other(f"/ui/projects/{project_id}/manage?done=member")


@router.post("/projects/{project_id}/manage/service-tokens")
def create_service_token(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
    name: Annotated[Text, Form(max_length=100)] = "",
    scopes: Annotated[list[Text], Form(max_length=3)] = [],  # noqa: B006 - FastAPI default
) -> Response:
    """Create a token and show its secret on the page, this once (no redirect: the
    secret must not travel in a URL)."""
    try:
        row, secret = service_tokens.create_service_token(
            session, project_id=project_id, name=name, scopes=scopes, created_by_id=user.id
        )
    except ServiceError as exc:
        return _manage_page(request, session, user, project_id, error=str(exc), status_code=422)
    return _manage_page(
        request,
        session,
        user,
        project_id,
        status_code=201,
        new_token={"name": row.name, "secret": secret},
    )


@router.post("/projects/{project_id}/manage/service-tokens/{token_id}/revoke")
def revoke_service_token(
    project_id: int,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: UiProjectAdmin,
    _csrf: CsrfChecked,
) -> Response:
    service_tokens.revoke_service_token(
        session, project_id=project_id, token_id=token_id, user_id=user.id
    )
    return _see_other(f"/ui/projects/{project_id}/manage?done=token_revoked")


@router.post("/projects/{project_id}/manage/retrain")
def retrain(
    project_id: int,
    session: SessionDep,
    _user: UiProjectAdmin,
    _csrf: CsrfChecked,
) -> Response:
    training.request_retrain(session, project_id=project_id)
    return _see_other(f"/ui/projects/{project_id}/manage?done=retrain")


@router.post("/projects/{project_id}/manage/import")
def import_file(
    request: Request,
    project_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: UiProjectAdmin,
    file: UploadFile,
    _csrf: CsrfChecked,
    text_field: Annotated[Text, Form(min_length=1, max_length=200)] = "text",
    label_field: Annotated[Text, Form(min_length=1, max_length=200)] = "label",
    skip_bad_rows: Annotated[bool, Form()] = False,
    evaluation: Annotated[bool, Form()] = False,
) -> Response:
    """Queue an import of the uploaded file; its page follows the job's progress."""
    try:
        path = import_jobs.store_upload(
            file.file,
            data_dir=settings.data_dir,
            filename=safe_name(file.filename),
            max_bytes=settings.max_upload_bytes,
        )
        job = import_jobs.queue_import(
            session,
            project_id=project_id,
            path=path,
            user=user,
            text_field=text_field,
            label_field=label_field,
            on_error="skip" if skip_bad_rows else "abort",
            evaluation=evaluation,
        )
    except UploadTooLargeError as exc:
        return _manage_page(request, session, user, project_id, error=str(exc), status_code=413)
    return _see_other(f"/ui/projects/{project_id}/manage/imports/{job.id}")


@router.get("/projects/{project_id}/manage/imports/{job_id}")
def import_progress(
    request: Request,
    project_id: int,
    job_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    user: UiProjectAdmin,
) -> HTMLResponse:
    """An import job's progress (the page refreshes itself until the job ends), then its result."""
    job = import_job_out(import_jobs.get_import_job(session, project_id=project_id, job_id=job_id))
    context: dict[str, Any] = {
        "user": user,
        "project": projects.get_project(session, project_id=project_id),
        "csrf_token": session_csrf(request),
        "job": job.model_dump(mode="json"),
        "running": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "size": _size(job.progress.bytes_total),
    }
    return render(request, "import_job.html", context)


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes:,}-byte"


def _located(error: InputError) -> str:
    """File (its name only: server folders are nobody's business), line, field: message."""
    where = InputError(
        error.message, file=public_file_name(error.file), line=error.line, field=error.field
    )
    return str(where)


@router.get("/admin/users")
def user_list(request: Request, session: SessionDep, user: UiSiteAdmin) -> HTMLResponse:
    return _users_page(request, session, user)


def _users_page(
    request: Request, session: Session, user: User, *, error: str = "", status_code: int = 200
) -> HTMLResponse:
    context = {
        "user": user,
        "users": users.list_users(session),
        "csrf_token": session_csrf(request),
        "message": _done(request),
        "error": error,
    }
    return render(request, "users.html", context, status_code=status_code)


@router.post("/admin/users")
def add_user(
    request: Request,
    session: SessionDep,
    user: UiSiteAdmin,
    _csrf: CsrfChecked,
    username: Annotated[Text, Form(max_length=100)] = "",
    password: Annotated[Text, Form(max_length=1000)] = "",
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    try:
        users.create_user(session, username=username, password=password, is_admin=is_admin)
    except ServiceError as exc:
        return _users_page(request, session, user, error=str(exc), status_code=422)
    return _see_other("/ui/admin/users?done=user")


@router.get("/admin/projects/new")
def new_project_form(request: Request, user: UiSiteAdmin) -> HTMLResponse:
    return _new_project_page(request, user)


def _new_project_page(
    request: Request,
    user: User,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "user": user,
        "csrf_token": session_csrf(request),
        "tasks": [task.value for task in TaskType],
        "default_audit_share": DEFAULT_AUDIT_FRACTION,
        "error": error,
        "values": values or {},
    }
    return render(request, "new_project.html", context, status_code=status_code)


def _lines(text: str) -> list[str]:
    """One name per non-blank line, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/admin/projects/new")
def create_project(
    request: Request,
    session: SessionDep,
    user: UiSiteAdmin,
    _csrf: CsrfChecked,
    name: Annotated[Text, Form(max_length=200)] = "",
    labels: Annotated[Text, Form(max_length=1_000_000)] = "",
    task: Annotated[Text, Form(max_length=50)] = TaskType.SINGLE_LABEL.value,
    entity_types: Annotated[Text, Form(max_length=1_000_000)] = "",
    guidelines: Annotated[Text, Form(max_length=100_000)] = "",
    audit_share: Annotated[Text, Form(max_length=20)] = "",
) -> Response:
    """A new project from a name and one label per line; the creator becomes its admin."""
    values = {
        "name": name,
        "labels": labels,
        "task": task,
        "entity_types": entity_types,
        "guidelines": guidelines,
        "audit_share": audit_share,
    }
    try:
        if task not in {t.value for t in TaskType}:
            raise ValidationError(f"Unknown task {task!r}.")
        settings: dict[str, Any] = {}
        if audit_share.strip():
            try:
                settings["audit_fraction"] = float(audit_share)
            except ValueError:
                raise ValidationError(
                    f"The audit share must be a number from 0 to 0.5, not {audit_share!r}."
                ) from None
        project = projects.create_project(
            session,
            name=name,
            labels=_lines(labels),
            owner=user,
            task=TaskType(task),
            entity_types=_lines(entity_types),
            settings=settings,
            guidelines=guidelines,
        )
    except ServiceError as exc:
        return _new_project_page(request, user, error=str(exc), values=values, status_code=422)
    return _see_other(f"/ui/projects/{project.id}/manage?done=created")
