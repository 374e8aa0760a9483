"""Decisions: label, skip, flag, undo, and the caller's recent ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from labelwise.server.deps import ProjectMember, SessionDep
from labelwise.server.schemas.annotations import (
    AnnotationIn,
    AnnotationOut,
    FlagIn,
    RecentDecisionOut,
    SkipIn,
    UndoIn,
    plain_value,
)
from labelwise.server.schemas.common import as_utc
from labelwise.service import queue
from labelwise.store import Annotation

router = APIRouter(prefix="/projects/{project_id}/annotations", tags=["annotations"])

_REPLAYED: dict[int | str, dict[str, Any]] = {
    status.HTTP_200_OK: {"description": "A replay of a known client_key."}
}


def _stored(annotation: Annotation, response: Response, started: datetime) -> AnnotationOut:
    """201 for a new decision, 200 when the client_key's earlier decision came back."""
    if as_utc(annotation.created_at) < started:
        response.status_code = status.HTTP_200_OK
    return AnnotationOut.model_validate(annotation)


@router.post(
    "", response_model=AnnotationOut, status_code=status.HTTP_201_CREATED, responses=_REPLAYED
)
def submit_annotation(
    body: AnnotationIn, session: SessionDep, access: ProjectMember, response: Response
) -> AnnotationOut:
    """Label an item; retrying with the same ``client_key`` returns the first answer (200)."""
    started = datetime.now(UTC)
    annotation = queue.submit_annotation(
        session,
        project_id=access.project_id,
        annotator=access.user,
        item_id=body.item_id,
        value=plain_value(body.value),
        client_key=body.client_key,
        seconds_spent=body.seconds_spent,
        lease_id=body.lease_id,
    )
    return _stored(annotation, response, started)


@router.post(
    "/skip", response_model=AnnotationOut, status_code=status.HTTP_201_CREATED, responses=_REPLAYED
)
def skip_item(
    body: SkipIn, session: SessionDep, access: ProjectMember, response: Response
) -> AnnotationOut:
    """Pass on an item; it returns to the queue for others."""
    started = datetime.now(UTC)
    annotation = queue.skip_item(
        session,
        project_id=access.project_id,
        annotator=access.user,
        item_id=body.item_id,
        client_key=body.client_key,
    )
    return _stored(annotation, response, started)


@router.post(
    "/flag", response_model=AnnotationOut, status_code=status.HTTP_201_CREATED, responses=_REPLAYED
)
def flag_item(
    body: FlagIn, session: SessionDep, access: ProjectMember, response: Response
) -> AnnotationOut:
    """Mark an item ambiguous or out of scope, with a comment; it leaves the queue."""
    started = datetime.now(UTC)
    annotation = queue.flag_item(
        session,
        project_id=access.project_id,
        annotator=access.user,
        item_id=body.item_id,
        comment=body.comment,
        client_key=body.client_key,
    )
    return _stored(annotation, response, started)


@router.post("/undo", response_model=AnnotationOut)
def undo_annotation(
    session: SessionDep, access: ProjectMember, body: UndoIn | None = None
) -> AnnotationOut:
    """Undo one of your decisions (by default the latest); returns it with ``undone_at`` set."""
    annotation = queue.undo_annotation(
        session,
        project_id=access.project_id,
        annotator=access.user,
        annotation_id=None if body is None else body.annotation_id,
    )
    return AnnotationOut.model_validate(annotation)


@router.get("/recent", response_model=list[RecentDecisionOut])
def recent_decisions(
    session: SessionDep,
    access: ProjectMember,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[RecentDecisionOut]:
    """Your latest live decisions in the project, newest first, with each item's text."""
    decisions = queue.recent_decisions(
        session, project_id=access.project_id, annotator=access.user, limit=limit
    )
    return [RecentDecisionOut.from_decision(d) for d in decisions]
