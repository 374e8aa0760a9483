"""The labeling functions page: write rules, preview them, watch their numbers.

Keyword and regex rules anywhere; where the project has sentence embeddings, closeness to a
label's name or to exemplars, and the zero-shot model over every label.

One form makes a function (or previews it: hits, sample hits, conflicts and accuracy,
nothing stored); the table lists each function with its live numbers and forms to switch
it on or off, edit it and delete it; the suggestions mined from the human labels come with
accept and reject buttons. Every form posts back here with the session's CSRF token;
success redirects to the page (post/redirect/get), a refusal re-renders it with the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from labelwise.server.deps import SentencesDep, SessionDep
from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.ui.admin import CsrfChecked
from labelwise.server.ui.pages import UiProjectAdmin, render, session_csrf
from labelwise.service import labeling_functions, projects, weak_analysis, weak_suggestions
from labelwise.service.errors import NotFoundError, ServiceError, ValidationError
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.weak_analysis import Preview
from labelwise.store import User

router = APIRouter(prefix="/ui", include_in_schema=False)

#: Shown after a change (the redirect carries a key, never free text).
DONE_MESSAGES = {
    "created": "Labeling function saved and applied.",
    "edited": "Saved as a new version and applied again.",
    "enabled": "Enabled.",
    "disabled": "Disabled: its votes no longer count.",
    "deleted": "Deleted.",
    "accepted": "Suggestion accepted: it is now a labeling function.",
    "rejected": "Suggestion rejected: it will not be offered again.",
}
FormText = Annotated[Text, Form(max_length=2000)]
ShortText = Annotated[Text, Form(max_length=20)]


def _page(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    sentences: SentenceVectors | None,
    *,
    error: str = "",
    preview: Preview | None = None,
    entered: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "user": user,
        "project": projects.get_project(session, project_id=project_id),
        "csrf_token": session_csrf(request),
        "preview": preview,
        "entered": entered or {},
        "message": DONE_MESSAGES.get(request.query_params.get("done", ""), ""),
        "error": error,
    }
    try:
        context["report"] = labeling_functions.list_labeling_functions(
            session, project_id=project_id, sentences=sentences
        )
        context["suggestions"] = weak_suggestions.list_suggestions(
            session, project_id=project_id, sentences=sentences
        )
    except ValidationError as exc:  # a project whose task takes no labeling functions
        context["unsupported"] = str(exc)
    return render(request, "labeling_functions.html", context, status_code=status_code)


def _refused(
    request: Request,
    session: Session,
    user: User,
    project_id: int,
    sentences: SentenceVectors | None,
    exc: ServiceError,
) -> HTMLResponse:
    """The page again with the reason (a stale id: 404; anything else: 422)."""
    code = 404 if isinstance(exc, NotFoundError) else 422
    return _page(request, session, user, project_id, sentences, error=str(exc), status_code=code)


def _back(project_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/ui/projects/{project_id}/labeling-functions?done={done}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@dataclass(frozen=True)
class RuleFields:
    """The kind's own fields of the create and edit forms, as typed: keywords
    comma-separated, exemplars one per line, the threshold a number."""

    keywords: str
    pattern: str
    lowercase: str
    threshold: str
    exemplars: str

    def spec(self, name: str, kind: str, label: str, labels: Sequence[str]) -> dict[str, Any]:
        """The spec with only the kind's own keys; a zero-shot function votes over
        ``labels`` (the project's). A threshold that is no number is left for the spec
        check to name."""
        spec: dict[str, Any] = {"name": name, "kind": kind}
        if kind != "zero_shot":
            spec["label"] = label
        if kind == "keyword":
            spec["keywords"] = [k.strip() for k in self.keywords.split(",") if k.strip()]
        elif kind == "regex":
            spec["pattern"] = self.pattern
            spec["flags"] = "lowercase" if self.lowercase else ""
        else:
            if self.threshold.strip():
                spec["threshold"] = _number(self.threshold)
            if kind == "exemplar":
                spec["exemplars"] = [t.strip() for t in self.exemplars.splitlines() if t.strip()]
            elif kind == "zero_shot":
                spec["labels"] = list(labels)
        return spec


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def rule_fields(
    keywords: FormText = "",
    pattern: FormText = "",
    lowercase: Annotated[Text, Form(max_length=10)] = "",
    threshold: ShortText = "",
    exemplars: FormText = "",
) -> RuleFields:
    return RuleFields(keywords, pattern, lowercase, threshold, exemplars)


RuleForm = Annotated[RuleFields, Depends(rule_fields)]


@router.get("/projects/{project_id}/labeling-functions")
def labeling_functions_page(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    sentences: SentencesDep,
) -> Response:
    """The functions with their live numbers, the create form and the suggestions."""
    return _page(request, session, user, project_id, sentences)


@router.post("/projects/{project_id}/labeling-functions")
def create_or_preview(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    sentences: SentencesDep,
    _csrf: CsrfChecked,
    fields: RuleForm,
    action: ShortText = "create",
    name: FormText = "",
    kind: ShortText = "keyword",
    label: FormText = "",
) -> Response:
    """Preview the form's function (re-rendering with its numbers) or save it."""
    entered = {"name": name, "kind": kind, "label": label, **asdict(fields)}
    try:
        labels = projects.get_project(session, project_id=project_id).labels
        spec = fields.spec(name, kind, label, labels)
        if action == "preview":
            preview = weak_analysis.preview_labeling_function(
                session, project_id=project_id, spec=spec, sentences=sentences
            )
            return _page(
                request, session, user, project_id, sentences, preview=preview, entered=entered
            )
        labeling_functions.create_labeling_function(
            session, project_id=project_id, spec=spec, user=user, sentences=sentences
        )
    except ServiceError as exc:
        return _page(
            request,
            session,
            user,
            project_id,
            sentences,
            error=str(exc),
            entered=entered,
            status_code=422,
        )
    return _back(project_id, "created")


FunctionIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("/projects/{project_id}/labeling-functions/{function_id}")
def change_function(
    request: Request,
    project_id: int,
    function_id: FunctionIdPath,
    session: SessionDep,
    user: UiProjectAdmin,
    sentences: SentencesDep,
    _csrf: CsrfChecked,
    fields: RuleForm,
    action: ShortText = "",
    label: FormText = "",
) -> Response:
    """Enable, disable, edit (the kind's keys, and label) or delete one function."""
    try:
        if action in ("enable", "disable"):
            labeling_functions.update_labeling_function(
                session,
                project_id=project_id,
                function_id=function_id,
                user=user,
                enabled=action == "enable",
                sentences=sentences,
            )
            return _back(project_id, f"{action}d")
        if action == "delete":
            labeling_functions.delete_labeling_function(
                session, project_id=project_id, function_id=function_id, user=user
            )
            return _back(project_id, "deleted")
        if action == "edit":
            current = labeling_functions.get_labeling_function(
                session, project_id=project_id, function_id=function_id, sentences=sentences
            )
            labels = projects.get_project(session, project_id=project_id).labels
            changes = fields.spec(current.name, current.kind, label, labels)
            labeling_functions.update_labeling_function(
                session,
                project_id=project_id,
                function_id=function_id,
                user=user,
                changes=changes,
                sentences=sentences,
            )
            return _back(project_id, "edited")
        raise ValidationError(f"Unknown action {action!r}.")
    except ServiceError as exc:
        return _refused(request, session, user, project_id, sentences, exc)


@router.post("/projects/{project_id}/labeling-functions-suggestions")
def decide_suggestion(
    request: Request,
    project_id: int,
    session: SessionDep,
    user: UiProjectAdmin,
    sentences: SentencesDep,
    _csrf: CsrfChecked,
    key: Annotated[Text, Form(max_length=300)] = "",
    decision: ShortText = "",
) -> Response:
    """Accept (create the function) or reject a suggestion."""
    try:
        if decision == "accept":
            weak_suggestions.accept_suggestion(
                session, project_id=project_id, key=key, user=user, sentences=sentences
            )
            return _back(project_id, "accepted")
        if decision == "reject":
            weak_suggestions.reject_suggestion(
                session, project_id=project_id, key=key, user=user, sentences=sentences
            )
            return _back(project_id, "rejected")
        raise ValidationError(f"Unknown decision {decision!r}.")
    except ServiceError as exc:
        return _refused(request, session, user, project_id, sentences, exc)
