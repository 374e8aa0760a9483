"""Reviewing flagged items: list the flags, and resolve each one.

An annotator flags an item they cannot label (ambiguous, out of scope, broken), with a
comment; the item then leaves the queue. A project admin reviews the flags and resolves
each in one of three ways:

- ``label``: the reviewer labels the item (a human label of their own, trained on).
- ``out_of_scope``: the item does not belong to the project. The flag stays, marked so;
  the queue never serves the item again and retrains leave out its labels
  (``labelwise.store.queries.out_of_scope``).
- ``requeue``: the flag was unfounded; it is withdrawn (undone) and the item is served
  again, to anyone, the flagger included.

The resolution is kept on the flag (``resolution``, ``resolved_at``, ``resolved_by_id``),
so the list of resolved flags says who decided what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, aliased

from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.projects import check_label
from labelwise.service.training import enqueue_retrain_if_due
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import Annotation, AnnotationKind, Item, Project, User
from labelwise.store.queries import OUT_OF_SCOPE


class FlagResolution(StrEnum):
    """How a reviewer resolved a flag."""

    LABEL = "label"
    OUT_OF_SCOPE = OUT_OF_SCOPE
    REQUEUE = "requeue"


class FlagStatus(StrEnum):
    """Which flags to list."""

    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"


@dataclass(frozen=True)
class FlagReview:
    """One flag, as a reviewer sees it.

    Attributes
    ----------
    comment : str
        The flagger's reason and comment (the page sends ``"<reason>: <comment>"``).
    resolution : FlagResolution or None
        None while the flag is open.
    label : Any
        For a flag resolved by labeling, the label the reviewer gave (else None).
    """

    id: int
    item_id: int
    item_text: str
    flagged_by: str | None
    comment: str
    created_at: datetime
    resolution: FlagResolution | None
    resolved_at: datetime | None
    resolved_by: str | None
    label: Any = None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _listed(status: FlagStatus) -> Any:
    """SQL condition on ``Annotation`` (a flag) for ``status``.

    An open flag is live and unresolved; a requeued flag is resolved *and* undone, so
    resolved flags are listed whether or not they are still live. A flag its own author
    undid was withdrawn, not resolved, and is not listed.
    """
    open_ = and_(Annotation.undone_at.is_(None), Annotation.resolved_at.is_(None))
    resolved = Annotation.resolved_at.is_not(None)
    if status is FlagStatus.OPEN:
        return open_
    if status is FlagStatus.RESOLVED:
        return resolved
    return open_ | resolved


def count_open_flags(session: Session, *, project_id: int) -> int:
    """How many flags of the project await review."""
    count = session.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.FLAG,
            _listed(FlagStatus.OPEN),
        )
    )
    end_read(session)
    return count or 0


def list_flags(
    session: Session,
    *,
    project_id: int,
    status: FlagStatus = FlagStatus.OPEN,
    offset: int = 0,
    limit: int = 100,
) -> list[FlagReview]:
    """The project's flags with their items' text, oldest first (a review works through them)."""
    reviews = _reviews(session, project_id, _listed(status), offset=offset, limit=limit)
    end_read(session)
    return reviews


def _reviews(
    session: Session, project_id: int, condition: Any, *, offset: int = 0, limit: int = 1
) -> list[FlagReview]:
    flagger = aliased(User)
    reviewer = aliased(User)
    rows = session.execute(
        select(Annotation, Item.text, flagger.username, reviewer.username)
        .join(Item, Item.id == Annotation.item_id)
        .outerjoin(flagger, flagger.id == Annotation.annotator_id)
        .outerjoin(reviewer, reviewer.id == Annotation.resolved_by_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.FLAG,
            condition,
        )
        .order_by(Annotation.id)
        .offset(offset)
        .limit(limit)
    ).all()
    labels = _review_labels(session, [row[0] for row in rows])
    return [
        FlagReview(
            id=flag.id,
            item_id=flag.item_id,
            item_text=text,
            flagged_by=flagged_by,
            comment=flag.comment,
            created_at=_aware(flag.created_at) or flag.created_at,
            resolution=None if flag.resolution is None else FlagResolution(flag.resolution),
            resolved_at=_aware(flag.resolved_at),
            resolved_by=resolved_by,
            label=labels.get(flag.id),
        )
        for flag, text, flagged_by, resolved_by in rows
    ]


def _review_labels(session: Session, flags: list[Annotation]) -> dict[int, Any]:
    """For flags resolved by labeling: the reviewer's live label on the item, by flag id."""
    wanted = {
        (f.item_id, f.resolved_by_id): f.id
        for f in flags
        if f.resolution == FlagResolution.LABEL and f.resolved_by_id is not None
    }
    if not wanted:
        return {}
    rows = session.execute(
        select(Annotation.item_id, Annotation.annotator_id, Annotation.value).where(
            Annotation.item_id.in_([item_id for item_id, _ in wanted]),
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
        )
    ).all()
    return {
        wanted[(item_id, who)]: value for item_id, who, value in rows if (item_id, who) in wanted
    }


def resolve_flag(
    session: Session,
    *,
    project_id: int,
    flag_id: int,
    reviewer: User,
    resolution: FlagResolution,
    label: Any = None,
) -> FlagReview:
    """Resolve one open flag; returns it as the review list now shows it.

    Parameters
    ----------
    flag_id : int
        The flag annotation's id.
    reviewer : User
        The project admin resolving it (authorization is the caller's).
    resolution : FlagResolution
    label : str or list of str, optional
        The label to give the item; required for ``label``, refused otherwise.

    Raises
    ------
    NotFoundError
        No flag ``flag_id`` in the project (or it was withdrawn by its author).
    ConflictError
        The flag is already resolved.
    ValidationError
        A missing, stray or unknown label.
    """
    begin_write(session)
    flag = session.scalar(
        select(Annotation).where(
            Annotation.id == flag_id,
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.FLAG,
        )
    )
    if flag is None or (flag.undone_at is not None and flag.resolved_at is None):
        session.rollback()
        raise NotFoundError(f"Project {project_id} has no flag {flag_id}.")
    if flag.resolved_at is not None:
        session.rollback()
        raise ConflictError(
            f"Flag {flag_id} was already resolved ({flag.resolution}); reload the list."
        )
    project = session.get_one(Project, project_id)
    if resolution is FlagResolution.LABEL:
        if label is None:
            session.rollback()
            raise ValidationError("Resolving a flag by labeling needs the label to give.")
        try:
            # Span values are checked against the item's text.
            text = session.scalar(select(Item.text).where(Item.id == flag.item_id))
            value = check_label(project, label, text=text)
        except ValidationError:
            session.rollback()
            raise
    elif label is not None:
        session.rollback()
        raise ValidationError(f"Only a 'label' resolution takes a label, not {resolution.value!r}.")
    now = datetime.now(UTC)
    flag.resolution = resolution.value
    flag.resolved_at = now
    flag.resolved_by_id = reviewer.id
    if resolution is FlagResolution.REQUEUE:
        # Withdrawn: the item counts as undecided again, for everyone.
        flag.undone_at = now
    if resolution is FlagResolution.LABEL:
        _label_as_reviewer(session, project, flag, reviewer, value, now)
    record(
        session,
        "flag_resolved",
        project_id=project_id,
        user_id=reviewer.id,
        item_id=flag.item_id,
        annotation_id=flag.id,
        resolution=resolution.value,
    )
    session.commit()
    [review] = _reviews(session, project_id, Annotation.id == flag_id)
    end_read(session)
    return review


def _label_as_reviewer(
    session: Session, project: Project, flag: Annotation, reviewer: User, value: Any, now: datetime
) -> None:
    """Store the reviewer's label on the flagged item, replacing their earlier decision."""
    # The reviewer's own live decisions on the item give way (as an edit does), except
    # the flag under review when they raised it themselves: it keeps its resolution.
    session.execute(
        update(Annotation)
        .where(
            Annotation.item_id == flag.item_id,
            Annotation.annotator_id == reviewer.id,
            Annotation.undone_at.is_(None),
            Annotation.id != flag.id,
        )
        .values(undone_at=now)
    )
    session.add(
        Annotation(
            project_id=project.id,
            item_id=flag.item_id,
            annotator_id=reviewer.id,
            kind=AnnotationKind.LABEL,
            value=value,
            comment=f"resolving flag {flag.id}",
            created_at=now,
        )
    )
    session.flush()
    enqueue_retrain_if_due(session, project=project, trigger="labels")
