"""Flag review: list flags with their items, resolve by labeling, out of scope, requeue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from labelwise.service import flags, projects, queue
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.flags import FlagResolution, FlagStatus
from labelwise.service.snapshot import take_snapshot
from labelwise.store import Annotation, AnnotationKind, Item
from tests.service.pool_factory import make_project, make_user


@pytest.fixture
def setup(session: Any) -> Any:
    owner = make_user(session, "owner")
    # Overlap 1: a flagged item leaves the queue, as it does in most projects.
    project, truth = make_project(session, owner, copies=1)
    annotator = make_user(session, "ann")
    projects.add_member(session, project_id=project.id, user=annotator)
    return project, truth, owner, annotator


def _flag(session: Any, project: Any, who: Any, comment: str = "ambiguous: two intents") -> Any:
    served = queue.lease_next(session, project_id=project.id, annotator=who)
    assert served is not None
    return queue.flag_item(
        session, project_id=project.id, annotator=who, item_id=served.item_id, comment=comment
    )


def _served_items(session: Any, project: Any, who: Any) -> set[int]:
    """Every item ``who`` is served until the queue runs dry (skipping each)."""
    seen = set()
    while (served := queue.lease_next(session, project_id=project.id, annotator=who)) is not None:
        seen.add(served.item_id)
        queue.skip_item(session, project_id=project.id, annotator=who, item_id=served.item_id)
    return seen


def _trained_on(session: Any, project: Any, item_id: int) -> bool:
    """Whether the next retrain's snapshot holds a label for the item."""
    position = session.get(Item, item_id).position
    snapshot = take_snapshot(session, project.id)
    session.rollback()
    return position in set(snapshot.positions.tolist())


def test_open_flags_are_listed_with_item_text_flagger_and_comment(session, setup):
    project, _, owner, annotator = setup
    flag = _flag(session, project, annotator)
    [review] = flags.list_flags(session, project_id=project.id)
    assert (review.id, review.item_id) == (flag.id, flag.item_id)
    assert review.item_text == session.get(Item, flag.item_id).text
    assert (review.flagged_by, review.comment) == ("ann", "ambiguous: two intents")
    assert review.resolution is None and review.created_at.tzinfo is not None
    assert flags.count_open_flags(session, project_id=project.id) == 1
    assert flags.list_flags(session, project_id=project.id, status=FlagStatus.RESOLVED) == []


def test_a_flag_its_author_undid_is_not_listed(session, setup):
    project, _, _, annotator = setup
    _flag(session, project, annotator)
    queue.undo_annotation(session, project_id=project.id, annotator=annotator)
    assert flags.list_flags(session, project_id=project.id, status=FlagStatus.ALL) == []


def test_resolving_by_label_stores_the_reviewers_label_and_it_is_trained_on(session, setup):
    project, truth, owner, annotator = setup
    flag = _flag(session, project, annotator)
    label = truth[flag.item_id]
    review = flags.resolve_flag(
        session,
        project_id=project.id,
        flag_id=flag.id,
        reviewer=owner,
        resolution=FlagResolution.LABEL,
        label=label,
    )
    assert (review.resolution, review.resolved_by, review.label) == ("label", "owner", label)
    assert review.resolved_at is not None
    stored = session.scalars(
        select(Annotation).where(
            Annotation.item_id == flag.item_id,
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
        )
    ).all()
    assert [(a.annotator_id, a.value) for a in stored] == [(owner.id, label)]
    assert _trained_on(session, project, flag.item_id)
    assert flags.list_flags(session, project_id=project.id) == []
    [resolved] = flags.list_flags(session, project_id=project.id, status=FlagStatus.RESOLVED)
    assert resolved.id == flag.id


def test_resolving_by_label_checks_the_label(session, setup):
    project, _, owner, annotator = setup
    flag = _flag(session, project, annotator)
    for label, message in [(None, "needs the label"), ("nope", "Unknown label 'nope'")]:
        with pytest.raises(ValidationError, match=message):
            flags.resolve_flag(
                session,
                project_id=project.id,
                flag_id=flag.id,
                reviewer=owner,
                resolution=FlagResolution.LABEL,
                label=label,
            )
    with pytest.raises(ValidationError, match="Only a 'label' resolution takes a label"):
        flags.resolve_flag(
            session,
            project_id=project.id,
            flag_id=flag.id,
            reviewer=owner,
            resolution=FlagResolution.REQUEUE,
            label="greet",
        )
    assert flags.count_open_flags(session, project_id=project.id) == 1  # nothing stored


def test_out_of_scope_is_never_served_again_nor_trained_on(session, setup):
    project, truth, owner, annotator = setup
    projects.update_settings(session, project_id=project.id, changes={"overlap": 2})
    flag = _flag(session, project, annotator)
    # Someone labeled it before the review: the label stays, but is not trained on.
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=flag.item_id,
        value=truth[flag.item_id],
    )
    assert _trained_on(session, project, flag.item_id)
    flags.resolve_flag(
        session,
        project_id=project.id,
        flag_id=flag.id,
        reviewer=owner,
        resolution=FlagResolution.OUT_OF_SCOPE,
    )
    assert not _trained_on(session, project, flag.item_id)
    third = make_user(session, "third")
    projects.add_member(session, project_id=project.id, user=third)
    seen = _served_items(session, project, third)
    assert flag.item_id not in seen and len(seen) > 0


def test_requeue_withdraws_the_flag_and_the_item_is_served_again(session, setup):
    project, _, owner, annotator = setup
    flag = _flag(session, project, annotator)
    other = make_user(session, "other")
    projects.add_member(session, project_id=project.id, user=other)
    assert flag.item_id not in _served_items(session, project, other)  # overlap 1: retired
    review = flags.resolve_flag(
        session,
        project_id=project.id,
        flag_id=flag.id,
        reviewer=owner,
        resolution=FlagResolution.REQUEUE,
    )
    assert review.resolution is FlagResolution.REQUEUE
    # Served again: to the colleague who has passed on everything else...
    served = queue.lease_next(session, project_id=project.id, annotator=other)
    assert served is not None and served.item_id == flag.item_id
    queue.skip_item(session, project_id=project.id, annotator=other, item_id=flag.item_id)
    # ...and to the flagger too (their flag no longer counts as their decision).
    assert flag.item_id in _served_items(session, project, annotator)
    [resolved] = flags.list_flags(session, project_id=project.id, status=FlagStatus.ALL)
    assert (resolved.id, resolved.resolved_by) == (flag.id, "owner")


def test_a_resolved_flag_cannot_be_resolved_twice_and_unknown_flags_are_404(session, setup):
    project, _, owner, annotator = setup
    flag = _flag(session, project, annotator)
    flags.resolve_flag(
        session,
        project_id=project.id,
        flag_id=flag.id,
        reviewer=owner,
        resolution=FlagResolution.OUT_OF_SCOPE,
    )
    with pytest.raises(ConflictError, match="already resolved"):
        flags.resolve_flag(
            session,
            project_id=project.id,
            flag_id=flag.id,
            reviewer=owner,
            resolution=FlagResolution.REQUEUE,
        )
    label = session.scalar(select(Annotation.id).where(Annotation.kind == AnnotationKind.FLAG))
    with pytest.raises(NotFoundError):
        flags.resolve_flag(
            session,
            project_id=project.id + 1,
            flag_id=label,
            reviewer=owner,
            resolution=FlagResolution.REQUEUE,
        )
    with pytest.raises(NotFoundError):
        flags.resolve_flag(
            session,
            project_id=project.id,
            flag_id=10**6,
            reviewer=owner,
            resolution=FlagResolution.REQUEUE,
        )
