"""Labeling functions (project admins): create, edit, preview, suggestions, weak coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from labelwise.server.deps import PageDep, ProjectAdmin, SentencesDep, SessionDep
from labelwise.server.schemas.common import MAX_ID
from labelwise.server.schemas.labeling_functions import (
    LabelingFunctionIn,
    LabelingFunctionOut,
    LabelingFunctionsOut,
    LabelingFunctionUpdate,
    LabelingFunctionVersionOut,
    PreviewOut,
    SuggestionOut,
    WeakCoverageOut,
    WeakLabeledItemOut,
)
from labelwise.service import labeling_functions, weak_analysis, weak_suggestions

router = APIRouter(prefix="/projects/{project_id}/labeling-functions", tags=["labeling functions"])

# Paths say ``{function_id:int}``: "preview", "coverage" and "suggestions" beside them are
# then never read as an id, so each path's Allow header names only its own methods.
FunctionIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A labeling function's id.")]
SuggestionKeyPath = Annotated[
    str, Path(min_length=1, max_length=300, description="A suggestion's key (from the list).")
]


@router.get("", response_model=LabelingFunctionsOut)
def list_labeling_functions(
    session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> LabelingFunctionsOut:
    """Every labeling function with its live numbers, and what the enabled ones cover."""
    report = labeling_functions.list_labeling_functions(
        session, project_id=access.project_id, sentences=sentences
    )
    return LabelingFunctionsOut.model_validate(report)


@router.post("", response_model=LabelingFunctionOut, status_code=status.HTTP_201_CREATED)
def create_labeling_function(
    body: LabelingFunctionIn, session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> LabelingFunctionOut:
    """Save a function and apply it to every item (a regex that runs past its time limit
    is refused, naming the field ``pattern``; a similarity kind where the project or the
    server has no sentence embeddings, naming ``kind``)."""
    made = labeling_functions.create_labeling_function(
        session,
        project_id=access.project_id,
        spec=body.spec_changes(),
        user=access.user,
        enabled=body.enabled,
        sentences=sentences,
    )
    return LabelingFunctionOut.model_validate(made)


@router.post("/preview", response_model=PreviewOut)
def preview_labeling_function(
    body: LabelingFunctionIn, session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> PreviewOut:
    """What a function would do, unsaved: hits, sample hits, conflicts, accuracy."""
    preview = weak_analysis.preview_labeling_function(
        session, project_id=access.project_id, spec=body.spec_changes(), sentences=sentences
    )
    return PreviewOut.model_validate(preview)


@router.get("/coverage", response_model=WeakCoverageOut)
def weak_coverage(
    session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> WeakCoverageOut:
    """Items labeled by a person, by a rule, by both, by neither."""
    coverage = weak_analysis.weak_coverage(
        session, project_id=access.project_id, sentences=sentences
    )
    return WeakCoverageOut.model_validate(coverage)


@router.get("/weak-labels", response_model=list[WeakLabeledItemOut])
def list_weak_labels(
    session: SessionDep, access: ProjectAdmin, page: PageDep, sentences: SentencesDep
) -> list[WeakLabeledItemOut]:
    """The items enabled functions vote on, by position, with each vote's function and
    version (``source`` is always ``rule``); human labels are in the label export."""
    found = weak_analysis.list_weak_labels(
        session,
        project_id=access.project_id,
        offset=page.offset,
        limit=page.limit,
        sentences=sentences,
    )
    return [WeakLabeledItemOut.model_validate(item) for item in found]


@router.get("/suggestions", response_model=list[SuggestionOut])
def list_suggestions(
    session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> list[SuggestionOut]:
    """Functions mined from the human labels, not yet accepted or rejected: keywords and,
    where the project has sentence embeddings, the zero-shot model over every label (label
    `*`), label names and exemplars."""
    found = weak_suggestions.list_suggestions(
        session, project_id=access.project_id, sentences=sentences
    )
    return [SuggestionOut.from_suggested(s) for s in found]


@router.post(
    "/suggestions/{key}/accept",
    response_model=LabelingFunctionOut,
    status_code=status.HTTP_201_CREATED,
)
def accept_suggestion(
    key: SuggestionKeyPath, session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> LabelingFunctionOut:
    """Create the suggested function (origin ``suggestion``)."""
    made = weak_suggestions.accept_suggestion(
        session, project_id=access.project_id, key=key, user=access.user, sentences=sentences
    )
    return LabelingFunctionOut.model_validate(made)


@router.post("/suggestions/{key}/reject", status_code=status.HTTP_204_NO_CONTENT)
def reject_suggestion(
    key: SuggestionKeyPath, session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> Response:
    """Reject the suggestion: it is not offered again."""
    weak_suggestions.reject_suggestion(
        session, project_id=access.project_id, key=key, user=access.user, sentences=sentences
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{function_id:int}", response_model=LabelingFunctionOut)
def get_labeling_function(
    function_id: FunctionIdPath, session: SessionDep, access: ProjectAdmin, sentences: SentencesDep
) -> LabelingFunctionOut:
    found = labeling_functions.get_labeling_function(
        session, project_id=access.project_id, function_id=function_id, sentences=sentences
    )
    return LabelingFunctionOut.model_validate(found)


@router.get("/{function_id:int}/versions", response_model=list[LabelingFunctionVersionOut])
def list_versions(
    function_id: FunctionIdPath, session: SessionDep, access: ProjectAdmin
) -> list[LabelingFunctionVersionOut]:
    """Every saved version of the function, oldest first."""
    versions = labeling_functions.list_versions(
        session, project_id=access.project_id, function_id=function_id
    )
    return [LabelingFunctionVersionOut.model_validate(v) for v in versions]


@router.patch("/{function_id:int}", response_model=LabelingFunctionOut)
def update_labeling_function(
    function_id: FunctionIdPath,
    body: LabelingFunctionUpdate,
    session: SessionDep,
    access: ProjectAdmin,
    sentences: SentencesDep,
) -> LabelingFunctionOut:
    """Edit the spec (a new version, applied again) and/or enable or disable it."""
    updated = labeling_functions.update_labeling_function(
        session,
        project_id=access.project_id,
        function_id=function_id,
        user=access.user,
        changes=body.spec_changes(),
        enabled=body.enabled,
        sentences=sentences,
    )
    return LabelingFunctionOut.model_validate(updated)


@router.delete("/{function_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_labeling_function(
    function_id: FunctionIdPath, session: SessionDep, access: ProjectAdmin
) -> Response:
    """Delete the function with its versions and weak labels."""
    labeling_functions.delete_labeling_function(
        session, project_id=access.project_id, function_id=function_id, user=access.user
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
