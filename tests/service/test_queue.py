from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelwise.service import projects, queue
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.training import RetrainWorker
from labelwise.store import AnnotationKind, Job
from tests.service.pool_factory import make_project, make_user


@pytest.fixture
def setup(session):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner)
    other = make_user(session, "other")
    projects.add_member(session, project_id=project.id, user=other)
    return project, truth, owner, other


def test_without_a_model_items_come_at_random_with_that_reason(session, setup):
    project, _, owner, _ = setup
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served is not None
    assert served.strategy == queue.RANDOM_NO_MODEL
    assert served.model_version is None and served.score is None


def test_next_returns_the_held_lease_again_until_decided(session, setup):
    project, truth, owner, _ = setup
    first = queue.lease_next(session, project_id=project.id, annotator=owner)
    again = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert again.lease_id == first.lease_id
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=first.item_id,
        value=truth[first.item_id],
    )
    assert (
        queue.lease_next(session, project_id=project.id, annotator=owner).item_id != first.item_id
    )


def test_two_annotators_never_hold_the_same_item(session, setup):
    project, _, owner, other = setup
    seen_owner, seen_other = set(), set()
    for _ in range(15):
        a = queue.lease_next(session, project_id=project.id, annotator=owner)
        b = queue.lease_next(session, project_id=project.id, annotator=other)
        assert a.item_id != b.item_id
        seen_owner.add(a.item_id)
        seen_other.add(b.item_id)
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=a.item_id)
        queue.skip_item(session, project_id=project.id, annotator=other, item_id=b.item_id)
    assert len(seen_owner) == 15 and len(seen_other) == 15


def test_an_expired_lease_returns_the_item_to_the_queue(session, setup):
    project, _, owner, other = setup
    projects.update_settings(session, project_id=project.id, changes={"lease_seconds": 60})
    held = queue.lease_next(session, project_id=project.id, annotator=owner)
    later = datetime.now(UTC) + timedelta(seconds=61)
    # Everything else is taken by "other" so only the expired item can come back.
    served = set()
    while s := queue.lease_next(session, project_id=project.id, annotator=other, now=later):
        served.add(s.item_id)
        queue.skip_item(session, project_id=project.id, annotator=other, item_id=s.item_id)
    assert held.item_id in served


def test_submit_is_idempotent_on_the_client_key(session, setup):
    project, truth, owner, _ = setup
    s = queue.lease_next(session, project_id=project.id, annotator=owner)
    first = queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=s.item_id,
        value=truth[s.item_id],
        client_key="k1",
    )
    replay = queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=s.item_id,
        value=truth[s.item_id],
        client_key="k1",
    )
    assert replay.id == first.id
    assert projects.project_status(session, project_id=project.id).annotations == 1


def test_unknown_label_and_foreign_item_are_refused(session, setup):
    project, _, owner, _ = setup
    s = queue.lease_next(session, project_id=project.id, annotator=owner)
    with pytest.raises(ValidationError, match="Unknown label 'nope'"):
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=s.item_id, value="nope"
        )
    with pytest.raises(NotFoundError):
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=99999, value="greet"
        )


def test_undo_reopens_the_item_and_relabel_replaces(session, setup):
    project, truth, owner, _ = setup
    s = queue.lease_next(session, project_id=project.id, annotator=owner)
    queue.submit_annotation(
        session, project_id=project.id, annotator=owner, item_id=s.item_id, value="bye"
    )
    queue.submit_annotation(
        session, project_id=project.id, annotator=owner, item_id=s.item_id, value="greet"
    )
    recent = queue.recent_decisions(session, project_id=project.id, annotator=owner)
    assert [a.value for a in recent] == ["greet"]
    undone = queue.undo_annotation(session, project_id=project.id, annotator=owner)
    assert undone.undone_at is not None
    assert queue.recent_decisions(session, project_id=project.id, annotator=owner) == []
    with pytest.raises(NotFoundError):
        queue.undo_annotation(session, project_id=project.id, annotator=owner)


def test_flag_keeps_the_comment_and_removes_the_item(session, setup):
    project, _, owner, other = setup
    s = queue.lease_next(session, project_id=project.id, annotator=owner)
    flag = queue.flag_item(
        session, project_id=project.id, annotator=owner, item_id=s.item_id, comment="two intents"
    )
    assert flag.kind is AnnotationKind.FLAG and flag.comment == "two intents"
    served = set()
    while n := queue.lease_next(session, project_id=project.id, annotator=other):
        served.add(n.item_id)
        queue.skip_item(session, project_id=project.id, annotator=other, item_id=n.item_id)
    assert s.item_id not in served


def test_labels_trigger_a_retrain_and_the_queue_switches_to_the_model(
    session, session_factory, setup, tmp_path
):
    project, truth, owner, _ = setup
    for _ in range(6):
        s = queue.lease_next(session, project_id=project.id, annotator=owner)
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=s.item_id,
            value=truth[s.item_id],
        )
    assert session.query(Job).filter_by(project_id=project.id).count() >= 1
    session.commit()
    worker = RetrainWorker(session_factory, data_dir=tmp_path)
    assert worker.run_pending() >= 1
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served.model_version == 1
    assert served.strategy.startswith("MarginSampling")
    assert served.score is not None
    assert [label for label, _ in served.suggestions][:3] and len(served.suggestions) == 3


def test_the_audit_sample_is_served_at_its_share_and_kept_out_of_the_queue(session, setup):
    project, truth, owner, _ = setup
    projects.update_settings(session, project_id=project.id, changes={"audit_fraction": 0.5})
    kinds = []
    for _ in range(20):
        s = queue.lease_next(session, project_id=project.id, annotator=owner)
        kinds.append(s.is_audit)
        assert (s.strategy == queue.AUDIT) == s.is_audit
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=s.item_id,
            value=truth[s.item_id],
        )
    assert 3 <= sum(kinds) <= 17


def test_overlap_two_serves_an_item_to_two_annotators_then_retires_it(session, setup):
    project, truth, owner, other = setup
    projects.update_settings(session, project_id=project.id, changes={"overlap": 2})
    third = make_user(session, "third")
    projects.add_member(session, project_id=project.id, user=third)
    # Queue order is random without a model; label everything owner sees until other
    # is served an item owner already holds or labeled.
    a = queue.lease_next(session, project_id=project.id, annotator=owner)
    seen_by_other = set()
    while (b := queue.lease_next(session, project_id=project.id, annotator=other)) is not None:
        seen_by_other.add(b.item_id)
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=other,
            item_id=b.item_id,
            value=truth[b.item_id],
        )
    assert a.item_id in seen_by_other  # owner's lease left room for one more
    queue.submit_annotation(
        session, project_id=project.id, annotator=owner, item_id=a.item_id, value=truth[a.item_id]
    )
    served_third = set()
    while (c := queue.lease_next(session, project_id=project.id, annotator=third)) is not None:
        served_third.add(c.item_id)
        queue.skip_item(session, project_id=project.id, annotator=third, item_id=c.item_id)
    assert a.item_id not in served_third  # two labels: the item is done
