from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from labelwise.service import projects, queue
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.training import SUGGESTIONS, RetrainWorker, request_retrain
from labelwise.store import Annotation, AnnotationKind, Item, Job, JobStatus, Lease
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
    assert [r.annotation.value for r in recent] == ["greet"]
    assert recent[0].item_text == session.get(Item, s.item_id).text
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
    assert served.strategy.startswith("MarginSampling(")  # the recipe's default
    assert served.score is not None
    assert [label for label, _ in served.suggestions][:3] and len(served.suggestions) == 3
    (best, p_best), (second, p_second) = served.suggestions[:2]
    assert served.why == (
        f"The model is torn between “{best}” and “{second}”: {p_best:.0%} vs {p_second:.0%}."
    )


def test_the_audit_sample_is_served_at_its_share_and_kept_out_of_the_queue(session, setup):
    project, truth, owner, _ = setup
    projects.update_settings(session, project_id=project.id, changes={"audit_fraction": 0.5})
    kinds = []
    for _ in range(20):
        s = queue.lease_next(session, project_id=project.id, annotator=owner)
        kinds.append(s.is_audit)
        assert (s.strategy == queue.AUDIT) == s.is_audit
        assert ("random check of the model's accuracy" in s.why) == s.is_audit
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


# -- two leases: the item on screen and the one fetched ahead ------------------------------


def _next(session, project, user, **kwargs):
    return queue.lease_next(session, project_id=project.id, annotator=user, **kwargs)


def _open_leases(session, user):
    rows = session.scalars(
        select(Lease).where(Lease.annotator_id == user.id, Lease.released_at.is_(None))
    ).all()
    session.commit()
    return rows


def _label(session, project, user, served, truth):
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=user,
        item_id=served.item_id,
        value=truth[served.item_id],
    )


def test_ahead_leases_a_second_distinct_item_and_never_a_third(session, setup):
    project, _, owner, _ = setup
    current = _next(session, project, owner)
    following = _next(session, project, owner, ahead=True)
    assert following.item_id != current.item_id
    # Asking again, either way, returns the same two leases: nothing is stranded.
    assert _next(session, project, owner, ahead=True).lease_id == following.lease_id
    assert _next(session, project, owner).lease_id == current.lease_id
    assert len(_open_leases(session, owner)) == 2


def test_ahead_without_a_current_item_leases_the_current_one(session, setup):
    project, _, owner, _ = setup
    first = _next(session, project, owner, ahead=True)
    assert _next(session, project, owner).lease_id == first.lease_id
    assert _next(session, project, owner, ahead=True).item_id != first.item_id


@pytest.mark.parametrize("decision", ["label", "skip", "flag"])
def test_after_a_decision_the_prefetched_item_is_the_current_one(session, setup, decision):
    project, truth, owner, _ = setup
    current = _next(session, project, owner)
    following = _next(session, project, owner, ahead=True)
    if decision == "label":
        _label(session, project, owner, current, truth)
    elif decision == "skip":
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=current.item_id)
    else:
        queue.flag_item(
            session, project_id=project.id, annotator=owner, item_id=current.item_id, comment="?"
        )
    assert _next(session, project, owner).lease_id == following.lease_id
    third = _next(session, project, owner, ahead=True)
    assert third.item_id not in {current.item_id, following.item_id}
    assert _next(session, project, owner).lease_id == following.lease_id  # still stable
    assert {lease.id for lease in _open_leases(session, owner)} == {
        following.lease_id,
        third.lease_id,
    }


def test_two_annotators_prefetching_never_share_an_item(session, setup):
    project, truth, owner, other = setup
    served = {owner.id: set(), other.id: set()}
    for _ in range(12):
        held = {}
        for user in (owner, other):
            held[user.id] = (
                _next(session, project, user),
                _next(session, project, user, ahead=True),
            )
            served[user.id].update(s.item_id for s in held[user.id])
        items = [s.item_id for pair in held.values() for s in pair]
        assert len(set(items)) == 4  # two each, all different
        for user in (owner, other):
            _label(session, project, user, held[user.id][0], truth)
    assert not served[owner.id] & served[other.id]


def test_expired_leases_stop_counting_and_a_decision_restarts_the_next_ones_clock(session, setup):
    project, truth, owner, other = setup
    projects.update_settings(session, project_id=project.id, changes={"lease_seconds": 60})
    start = datetime.now(UTC) - timedelta(seconds=50)  # both leases have 10 s left
    current = _next(session, project, owner, now=start)
    following = _next(session, project, owner, now=start, ahead=True)
    loaded = session.get(Lease, following.lease_id)  # kept in the session's identity map
    _label(session, project, owner, current, truth)
    # The prefetched item is on screen now: it got a full lease from the decision.
    later = datetime.now(UTC) + timedelta(seconds=30)
    again = _next(session, project, owner, now=later)
    assert again.lease_id == following.lease_id
    assert again.expires_at > following.expires_at + timedelta(seconds=40)
    assert loaded is not None and loaded.expires_at.replace(tzinfo=UTC) == again.expires_at
    # Much later both have expired: the other annotator can be served the item.
    much_later = datetime.now(UTC) + timedelta(seconds=61)
    assert _open_leases(session, owner)  # still unreleased, merely expired
    seen = set()
    while s := _next(session, project, other, now=much_later):
        seen.add(s.item_id)
        queue.skip_item(session, project_id=project.id, annotator=other, item_id=s.item_id)
    assert following.item_id in seen


def test_deciding_the_prefetched_item_first_leaves_the_current_lease_alone(session, setup):
    project, truth, owner, _ = setup
    start = datetime.now(UTC) - timedelta(seconds=50)
    current = _next(session, project, owner, now=start)
    following = _next(session, project, owner, now=start, ahead=True)
    _label(session, project, owner, following, truth)
    expires = session.scalar(select(Lease.expires_at).where(Lease.id == current.lease_id))
    session.commit()
    assert expires.replace(tzinfo=UTC) == current.expires_at


def _train(session, session_factory, project, owner, truth, tmp_path, n=6):
    # Items come at random before the first model; the learner needs two classes, and
    # six random items share one class about once in 250 runs.
    seen = []
    while len(seen) < n or len(set(seen)) < 2:
        s = _next(session, project, owner)
        _label(session, project, owner, s, truth)
        seen.append(truth[s.item_id])
    worker = RetrainWorker(session_factory, data_dir=tmp_path)
    queue_job = session.scalar(select(Job).where(Job.status == JobStatus.QUEUED))
    session.commit()
    if queue_job is None:
        request_retrain(session, project_id=project.id)
    assert worker.run_pending() >= 1
    return worker


def test_a_prefetched_item_keeps_its_model_and_suggestions_across_a_retrain(
    session, session_factory, setup, tmp_path
):
    project, truth, owner, _ = setup
    worker = _train(session, session_factory, project, owner, truth, tmp_path)
    current = _next(session, project, owner)
    following = _next(session, project, owner, ahead=True)
    assert (current.model_version, following.model_version) == (1, 1)
    request_retrain(session, project_id=project.id)
    assert worker.run_pending() == 1
    again = _next(session, project, owner, ahead=True)
    assert again.lease_id == following.lease_id
    assert (again.model_version, again.suggestions) == (1, following.suggestions)
    _label(session, project, owner, current, truth)
    assert _next(session, project, owner).lease_id == following.lease_id
    assert _next(session, project, owner, ahead=True).model_version == 2


def test_a_prefetch_that_uses_up_the_queue_still_queues_a_retrain(
    session, session_factory, setup, tmp_path
):
    project, truth, owner, _ = setup
    projects.update_settings(
        session, project_id=project.id, changes={"queue_size": 3, "retrain_every": 1000}
    )
    worker = _train(session, session_factory, project, owner, truth, tmp_path)
    current = _next(session, project, owner)
    strategies = []
    for _ in range(3):
        following = _next(session, project, owner, ahead=True)
        strategies.append(following.strategy)
        _label(session, project, owner, current, truth)
        current = following
    assert strategies[-1] == queue.RANDOM_QUEUE_EMPTY
    job = session.scalar(select(Job).where(Job.status == JobStatus.QUEUED))
    session.commit()
    assert job is not None and job.trigger == "queue_empty"
    assert worker.run_pending() == 1
    # The random item fetched ahead stays the current one; the new queue serves after it.
    assert _next(session, project, owner).lease_id == current.lease_id
    assert _next(session, project, owner, ahead=True).model_version == 2


def test_suggestions_fill_the_nine_number_keys(session, session_factory, tmp_path):
    owner = make_user(session, "owner")
    extra = [f"unseen_{i}" for i in range(9)]
    project, truth = make_project(session, owner, extra_labels=extra)
    _train(session, session_factory, project, owner, truth, tmp_path)
    served = _next(session, project, owner)
    labels = [label for label, _ in served.suggestions]
    probabilities = [p for _, p in served.suggestions]
    assert len(labels) == min(SUGGESTIONS, len(project.labels)) == 9
    assert len(set(labels)) == 9
    assert probabilities == sorted(probabilities, reverse=True)
    # Classes never labeled have probability 0 and follow in schema order.
    unseen = [label for label, p in served.suggestions if p == 0]
    assert unseen == sorted(unseen, key=project.labels.index)


def test_concurrent_replays_of_one_client_key_all_answer_the_stored_row(
    session, session_factory, setup, monkeypatch
):
    # Every replay first finds no stored row (the barrier holds them all past that check),
    # then races to insert: one stores, the rest must answer its row (no IntegrityError).
    project, truth, owner, _ = setup
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served is not None
    n = 6
    barrier = threading.Barrier(n, timeout=3)
    checked: set[int] = set()
    replayed = queue._replayed

    def _replayed_after_all_checked(*args: Any, **kwargs: Any) -> Any:
        found = replayed(*args, **kwargs)
        if threading.get_ident() not in checked:
            checked.add(threading.get_ident())
            try:
                barrier.wait()
            except threading.BrokenBarrierError:  # writers serialized here (old SQLite)
                pass
        return found

    monkeypatch.setattr(queue, "_replayed", _replayed_after_all_checked)

    def _submit(_: int) -> int:
        with session_factory() as own:
            annotation = queue.submit_annotation(
                own,
                project_id=project.id,
                annotator=owner,
                item_id=served.item_id,
                value=truth[served.item_id],
                client_key="same-key",
            )
            return annotation.id

    with ThreadPoolExecutor(n) as pool:
        ids = list(pool.map(_submit, range(n), timeout=60))
    stored = session.scalars(select(Annotation).where(Annotation.client_key == "same-key")).all()
    session.commit()
    assert len(stored) == 1 and set(ids) == {stored[0].id}
    assert stored[0].undone_at is None
