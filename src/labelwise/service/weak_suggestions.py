"""Suggested labeling functions: mined from the project's human labels, accepted or rejected.

Keyword suggestions (``labelwise.weak.suggest_keywords``) always; where the project has
sentence embeddings (``labelwise.service.sentence_vectors``), beside them the zero-shot model
as one function over every label, label-name functions and exemplar functions, measured on
the pool's embeddings (cached on disk: the pool is embedded once). A suggestion's key is its
function's name (``kw_<label>_<words>``, ``zero_shot``, ``zs_<label>``, ``ex_<label>``),
stable while the labels that back it hold; an accepted or rejected key is not offered again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.service.events import record as record_event
from labelwise.service.labeling_functions import FunctionSummary, create_labeling_function
from labelwise.service.projects import get_project
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.transactions import begin_write, end_read
from labelwise.service.weak_labels import (
    LabelingFunctionSpecError,
    build_function,
    check_project,
    embedder_or_none,
    human_labels,
)
from labelwise.store import Item, LabelingFunctionRecord, Project, SuggestionDecision, User
from labelwise.weak import (
    LabelingFunction,
    Suggestion,
    suggest_exemplars,
    suggest_keywords,
    suggest_label_names,
    suggest_zero_shot,
)

#: Suggestions offered per label (best lower precision bound first).
PER_LABEL = 3


@dataclass(frozen=True)
class SuggestedFunction:
    """A candidate function and its evidence; ``key`` accepts or rejects it."""

    key: str
    suggestion: Suggestion


def list_suggestions(
    session: Session, *, project_id: int, sentences: SentenceVectors | None = None
) -> list[SuggestedFunction]:
    """Functions the human labels support, not yet decided nor already present: keywords,
    and with ``sentences`` (where the project has sentence features) the zero-shot model,
    label names and exemplars."""
    suggestions = _current(session, project_id, sentences)
    end_read(session)
    return suggestions


def _current(
    session: Session, project_id: int, sentences: SentenceVectors | None
) -> list[SuggestedFunction]:
    project = get_project(session, project_id=project_id)
    check_project(project)
    texts = list(
        session.scalars(
            select(Item.text).where(Item.project_id == project_id).order_by(Item.position)
        )
    )
    gold = human_labels(session, project=project, audit=None)
    existing = _existing(session, project, sentences)
    decided = set(
        session.scalars(
            select(SuggestionDecision.key).where(SuggestionDecision.project_id == project_id)
        )
    )
    found = suggest_keywords(texts, gold, per_label=PER_LABEL, existing=existing)
    embed = embedder_or_none(project, sentences)
    if embed is not None and texts:
        vectors = embed(texts)
        labels = list(project.labels)
        found += suggest_zero_shot(labels, vectors, gold, embed=embed, existing=existing)
        found += suggest_label_names(labels, vectors, gold, embed=embed, existing=existing)
        found += suggest_exemplars(texts, vectors, gold, existing=existing)
    return [SuggestedFunction(s.spec["name"], s) for s in found if s.spec["name"] not in decided]


def _existing(
    session: Session, project: Project, sentences: SentenceVectors | None
) -> list[LabelingFunction]:
    """The project's functions, so that none is suggested again; one that cannot be built
    here (a similarity function without embeddings) has nothing a keyword could repeat."""
    existing = []
    for record in session.scalars(
        select(LabelingFunctionRecord).where(LabelingFunctionRecord.project_id == project.id)
    ):
        try:
            existing.append(build_function(project, record.spec, sentences=sentences))
        except LabelingFunctionSpecError:
            continue
    return existing


def _find(
    session: Session, project_id: int, key: str, sentences: SentenceVectors | None
) -> SuggestedFunction:
    for suggested in _current(session, project_id, sentences):
        if suggested.key == key:
            return suggested
    raise NotFoundError(
        f"Project {project_id} has no open suggestion {key!r}; it may have been decided, or "
        "the labels no longer support it."
    )


def accept_suggestion(
    session: Session,
    *,
    project_id: int,
    key: str,
    user: User,
    sentences: SentenceVectors | None = None,
) -> FunctionSummary:
    """Create the suggested function (origin ``suggestion``) and record the decision."""
    suggested = _find(session, project_id, key, sentences)
    summary = create_labeling_function(
        session,
        project_id=project_id,
        spec=suggested.suggestion.spec,
        user=user,
        origin="suggestion",
        sentences=sentences,
    )
    _decide(session, project_id, suggested, "accepted", user)
    return summary


def reject_suggestion(
    session: Session,
    *,
    project_id: int,
    key: str,
    user: User,
    sentences: SentenceVectors | None = None,
) -> None:
    """Record that the suggestion was rejected: it is not offered again."""
    _decide(session, project_id, _find(session, project_id, key, sentences), "rejected", user)


def _decide(
    session: Session, project_id: int, suggested: SuggestedFunction, decision: str, user: User
) -> None:
    begin_write(session)
    session.add(
        SuggestionDecision(
            project_id=project_id,
            key=suggested.key,
            decision=decision,
            spec=dict(suggested.suggestion.spec),
            decided_by_id=user.id,
            decided_at=datetime.now(UTC),
        )
    )
    record_event(
        session,
        f"labeling_function_suggestion_{decision}",
        project_id=project_id,
        user_id=user.id,
        key=suggested.key,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"Suggestion {suggested.key!r} was already decided.") from None
