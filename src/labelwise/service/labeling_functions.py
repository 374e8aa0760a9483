"""A project's labeling functions: create, edit, enable, delete, and their live numbers.

Functions are declarative specs (``labelwise.weak.specs``: keyword lists, regular
expressions and, where the project has sentence embeddings, closeness to a label's name, to
exemplars or the zero-shot model over every label; no code from the web), versioned: every
edit saves a new version and applies only that function again. The similarity kinds embed
through ``sentences`` (:class:`~labelwise.service.sentence_vectors.SentenceVectors`, the
app's; without it they are refused, naming ``kind``). Their votes are weak labels
(``labelwise.service.weak_labels``), kept apart from annotations. The numbers per function
are Snorkel's (coverage, overlap, conflict) and its accuracy against the human labels with
a Wilson interval, on all labeled items and, where the project has one, on the random
audit sample alone: actively chosen items are the hard ones and understate every rule.

Previews of unsaved functions and the weak-against-gold coverage are in
``labelwise.service.weak_analysis``. Authorization is the caller's: whoever may change the project's settings (its admins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.service.events import record as record_event
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.transactions import begin_write, end_read
from labelwise.service.weak_labels import (
    ItemTexts,
    LabelingFunctionSpecError,
    analyze_functions,
    build_function,
    checked_spec,
    checked_votes,
    load_votes,
    refresh_weak_labels,
    similarity_refused,
    store_votes,
    stored_label,
    supported_project,
)
from labelwise.store import Item, LabelingFunctionRecord, LabelingFunctionVersion, Project, User
from labelwise.weak import FunctionStats

ORIGINS: Final = ("person", "suggestion")


@dataclass(frozen=True)
class FunctionSummary:
    """One labeling function with its live numbers.

    ``stats`` is measured on every human-labeled item, ``audit`` on the random audit
    sample's (None without one). ``error`` says why applying it stopped (it is disabled).
    """

    id: int
    name: str
    kind: str
    label: str
    spec: dict[str, Any]
    enabled: bool
    version: int
    origin: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    error: str | None
    stats: FunctionStats
    audit: FunctionStats | None


@dataclass(frozen=True)
class FunctionsReport:
    """The project's functions and what the enabled ones cover together (shares of items).

    ``similarity_refused`` says why the kinds that compare sentence embeddings are refused
    here (None where they are accepted).
    """

    functions: list[FunctionSummary]
    coverage: float
    overlap: float
    conflict: float
    n_items: int
    gold_items: int
    audit_items: int
    similarity_refused: str | None = None


@dataclass(frozen=True)
class VersionRecord:
    version: int
    label: str
    spec: dict[str, Any]
    edited_by: str | None
    created_at: datetime


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all()
    return dict(rows)


def list_labeling_functions(
    session: Session, *, project_id: int, sentences: SentenceVectors | None = None
) -> FunctionsReport:
    """Every function of the project with its live numbers, oldest first.

    Applies what changed first (edited functions, new items), so the numbers are current.
    """
    project = supported_project(session, project_id=project_id)
    refresh_weak_labels(session, project=project, sentences=sentences)
    votes = load_votes(session, project=project)
    analysis = analyze_functions(votes)
    names = _usernames(session, {r.created_by_id for r in votes.records})
    functions = [
        _summary(r, names, analysis.by_id[r.id], analysis.audit_by_id.get(r.id))
        for r in votes.records
    ]
    end_read(session)
    return FunctionsReport(
        functions=functions,
        coverage=analysis.overall.coverage,
        overlap=analysis.overall.overlap,
        conflict=analysis.overall.conflict,
        n_items=analysis.overall.n_items,
        gold_items=analysis.overall.gold_items,
        audit_items=analysis.audit_items,
        similarity_refused=similarity_refused(project, sentences),
    )


def get_labeling_function(
    session: Session,
    *,
    project_id: int,
    function_id: int,
    sentences: SentenceVectors | None = None,
) -> FunctionSummary:
    """One function with its live numbers."""
    report = list_labeling_functions(session, project_id=project_id, sentences=sentences)
    for summary in report.functions:
        if summary.id == function_id:
            return summary
    raise NotFoundError(f"Project {project_id} has no labeling function {function_id}.")


def list_versions(session: Session, *, project_id: int, function_id: int) -> list[VersionRecord]:
    """Every saved version of a function, oldest first."""
    _record(session, project_id, function_id)
    rows = session.scalars(
        select(LabelingFunctionVersion)
        .where(LabelingFunctionVersion.function_id == function_id)
        .order_by(LabelingFunctionVersion.version)
    ).all()
    names = _usernames(session, {v.edited_by_id for v in rows})
    end_read(session)
    return [
        VersionRecord(
            v.version, v.label, v.spec, names.get(v.edited_by_id or 0), _aware(v.created_at)
        )
        for v in rows
    ]


def _summary(
    record: LabelingFunctionRecord,
    names: Mapping[int, str],
    stats: FunctionStats,
    audit: FunctionStats | None,
) -> FunctionSummary:
    return FunctionSummary(
        id=record.id,
        name=record.name,
        kind=record.kind,
        label=record.label,
        spec=dict(record.spec),
        enabled=record.enabled,
        version=record.version,
        origin=record.origin,
        created_by=names.get(record.created_by_id or 0),
        created_at=_aware(record.created_at),
        updated_at=_aware(record.updated_at),
        error=record.error,
        stats=stats,
        audit=audit,
    )


def _apply_new_version(
    session: Session,
    project: Project,
    record: LabelingFunctionRecord,
    sentences: SentenceVectors | None,
) -> None:
    """Apply ``record``'s current spec to every item, inside the caller's write.

    Raises LabelingFunctionSpecError (field ``pattern``) when it runs past its time limit
    on a probe text or an item; the caller rolls back.
    """
    lf = build_function(project, record.spec, sentences=sentences)
    rows = session.execute(
        select(Item.id, Item.text).where(Item.project_id == project.id).order_by(Item.id)
    ).all()
    votes = checked_votes(lf, ItemTexts([text for _, text in rows], sentences))
    last = rows[-1][0] if rows else 0
    store_votes(session, record, [i for i, _ in rows], votes, through_item_id=last, replace=True)


def create_labeling_function(
    session: Session,
    *,
    project_id: int,
    spec: Mapping[str, Any],
    user: User,
    enabled: bool = True,
    origin: str = "person",
    sentences: SentenceVectors | None = None,
) -> FunctionSummary:
    """Save a new function (version 1) and apply it to every item.

    Raises
    ------
    LabelingFunctionSpecError
        A bad spec, naming the field; ``pattern`` for a regex that runs past its time limit
        on a probe text or an item.
    ConflictError
        Another function of the project has the name.
    """
    if origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS}; got {origin!r}.")
    project = supported_project(session, project_id=project_id)
    cleaned = checked_spec(project, spec, sentences=sentences)
    begin_write(session)
    now = datetime.now(UTC)
    record = LabelingFunctionRecord(
        project_id=project_id,
        name=cleaned["name"],
        kind=cleaned["kind"],
        label=stored_label(cleaned),
        spec=cleaned,
        enabled=enabled,
        version=1,
        origin=origin,
        created_by_id=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    _save_and_apply(session, project, record, user, now, sentences)
    record_event(
        session,
        "labeling_function_created",
        project_id=project_id,
        user_id=user.id,
        function_id=record.id,
        origin=origin,
    )
    session.commit()
    return get_labeling_function(
        session, project_id=project_id, function_id=record.id, sentences=sentences
    )


def _name_taken(project_id: int, name: str) -> ConflictError:
    return ConflictError(f"Project {project_id} already has a labeling function named {name!r}.")


def _save_and_apply(
    session: Session,
    project: Project,
    record: LabelingFunctionRecord,
    user: User,
    now: datetime,
    sentences: SentenceVectors | None,
) -> None:
    """Store ``record``'s new version in the history and apply it to every item, inside the
    caller's write; on a taken name or a pattern past its time limit, roll back and raise."""
    name = record.name  # read before a rollback expires it
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise _name_taken(project.id, name) from None
    session.add(
        LabelingFunctionVersion(
            function_id=record.id,
            version=record.version,
            label=record.label,
            spec=record.spec,
            edited_by_id=user.id,
            created_at=now,
        )
    )
    try:
        _apply_new_version(session, project, record, sentences)
    except LabelingFunctionSpecError:
        session.rollback()
        raise


def _record(session: Session, project_id: int, function_id: int) -> LabelingFunctionRecord:
    record = session.scalar(
        select(LabelingFunctionRecord).where(
            LabelingFunctionRecord.id == function_id,
            LabelingFunctionRecord.project_id == project_id,
        )
    )
    if record is None:
        raise NotFoundError(f"Project {project_id} has no labeling function {function_id}.")
    return record


def update_labeling_function(
    session: Session,
    *,
    project_id: int,
    function_id: int,
    user: User,
    changes: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    sentences: SentenceVectors | None = None,
) -> FunctionSummary:
    """Edit a function's spec (``changes`` over the stored one) and/or switch it on or off.

    A changed spec is a new version, applied again to every item (the other functions are
    not touched); enabling or disabling keeps the version and its votes. Editing clears a
    stored error, and the function is enabled again unless ``enabled`` says otherwise.

    Raises
    ------
    NotFoundError, LabelingFunctionSpecError, ConflictError
    """
    project = supported_project(session, project_id=project_id)
    begin_write(session)
    record = _record(session, project_id, function_id)
    spec = {**record.spec, **(changes or {})}
    try:
        cleaned = checked_spec(project, spec, sentences=sentences)
    except LabelingFunctionSpecError:
        session.rollback()
        raise
    now = datetime.now(UTC)
    edited = cleaned != record.spec
    if edited:
        record.spec = cleaned
        record.name, record.kind = cleaned["name"], cleaned["kind"]
        record.label = stored_label(cleaned)
        record.version += 1
        record.error = None
        record.enabled = True
        _save_and_apply(session, project, record, user, now, sentences)
    if enabled is not None:
        if enabled and record.error is not None:
            session.rollback()
            raise ConflictError(
                f"Labeling function {record.name!r} stopped with an error; edit it first: "
                f"{record.error}"
            )
        record.enabled = enabled
    record.updated_at = now
    record_event(
        session,
        "labeling_function_updated",
        project_id=project_id,
        user_id=user.id,
        function_id=function_id,
        version=record.version,
        enabled=record.enabled,
    )
    session.commit()
    return get_labeling_function(
        session, project_id=project_id, function_id=function_id, sentences=sentences
    )


def delete_labeling_function(
    session: Session, *, project_id: int, function_id: int, user: User
) -> None:
    """Delete a function with its versions and weak labels."""
    begin_write(session)
    record = _record(session, project_id, function_id)
    name = record.name
    session.delete(record)
    record_event(
        session,
        "labeling_function_deleted",
        project_id=project_id,
        user_id=user.id,
        function_id=function_id,
        name=name,
    )
    session.commit()
