"""The relabel queue: suspects after N labels, served to another annotator, resolved with
provenance, and per-annotator error rates."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from labelwise.service import projects, queue, relabel, training
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.serving.sources import RelabelSuspects, ServingContext
from labelwise.service.snapshot import take_snapshot
from labelwise.service.transactions import begin_write
from labelwise.store import Annotation, Item, Job, Project, RelabelSuspect, TaskType
from tests.service.pool_factory import make_project, make_user

#: Items whose first copy alice labels wrong (text prefix -> wrong label).
FLIPS = {"hello there 0": "weather", "see you later 0": "greet", "is it raining 0": "bye"}


@pytest.fixture
def setup(session):
    owner = make_user(session, "owner")
    alice = make_user(session, "alice")
    bob = make_user(session, "bob")
    project, truth = make_project(
        session,
        owner,
        settings={
            "audit_fraction": 0.0,
            "relabel_every": 40,
            "relabel_share": 0.5,
            "retrain_every": 1000,
        },
    )
    return project, truth, alice, bob


def _label_all(session, project, truth, annotator, limit=None):
    items = session.scalars(
        select(Item).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    session.commit()
    flipped = {}
    for item in items[:limit]:
        value = FLIPS.get(item.text, truth[item.id])
        if value != truth[item.id]:
            flipped[item.id] = value
        queue.submit_annotation(
            session, project_id=project.id, annotator=annotator, item_id=item.id, value=value
        )
    return flipped


def _relabel_jobs(session, project):
    jobs = session.scalars(
        select(Job).where(Job.project_id == project.id, Job.kind == "relabel").order_by(Job.id)
    )
    out = list(jobs)
    session.commit()
    return out


def _open(session, project):
    rows = session.scalars(
        select(RelabelSuspect)
        .where(RelabelSuspect.project_id == project.id, RelabelSuspect.status == "open")
        .order_by(RelabelSuspect.rank)
    ).all()
    session.commit()
    return rows


def test_a_relabel_job_is_queued_after_n_labels_and_ranks_the_planted_flips(
    session, session_factory, setup, tmp_path
):
    project, truth, alice, _ = setup
    _label_all(session, project, truth, alice, limit=39)
    assert _relabel_jobs(session, project) == []
    _label_all(session, project, truth, alice)  # relabels the first 39 (edits), adds 21
    assert len(_relabel_jobs(session, project)) == 1
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (job,) = _relabel_jobs(session, project)
    assert job.status == "done", job.error
    assert job.progress["judged"] == 60 and job.progress["suspects"] >= 3
    suspects = _open(session, project)
    flipped_ids = {i.id for i in session.scalars(select(Item).where(Item.text.in_(FLIPS)))}
    session.commit()
    assert {s.item_id for s in suspects[:3]} == flipped_ids
    top = suspects[0]
    assert top.annotator_id == alice.id and top.job_id == job.id and top.rank == 0
    assert top.suggested_label == truth[top.item_id] != top.given_label
    assert 0 < top.score <= 1
    listed = relabel.list_suspects(session, project_id=project.id)
    assert [row.id for row in listed] == [s.id for s in suspects]
    assert listed[0].annotator == "alice" and listed[0].text in FLIPS


def test_relabel_every_zero_turns_the_queue_off(session, setup):
    project, truth, alice, _ = setup
    projects.update_settings(session, project_id=project.id, changes={"relabel_every": "0"})
    _label_all(session, project, truth, alice)
    assert _relabel_jobs(session, project) == []
    assert ProjectSettings().relabel_every == 200 and ProjectSettings().relabel_share == 0.1


@pytest.fixture
def ranked(session, session_factory, setup, tmp_path):
    project, truth, alice, bob = setup
    _label_all(session, project, truth, alice)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    assert len(_open(session, project)) >= 3
    return project, truth, alice, bob


def _context(session, project, annotator_id):
    locked = session.get_one(Project, project.id)
    settings = ProjectSettings.model_validate(locked.settings)
    return ServingContext(session, locked, settings, True, random.Random(0), annotator_id)


def test_a_suspect_is_never_served_to_its_original_annotator(session, ranked):
    project, _, alice, bob = ranked
    assert RelabelSuspects().pick(_context(session, project, alice.id)) is None
    choice = RelabelSuspects().pick(_context(session, project, bob.id))
    session.commit()
    assert choice is not None and choice.source == "relabel"
    # Through the queue: alice asks many times and is never handed a relabel item.
    rng = random.Random(1)
    for _ in range(30):
        served = queue.lease_next(session, project_id=project.id, annotator=alice, rng=rng)
        if served is None:
            break
        assert served.source != "relabel"
        queue.skip_item(session, project_id=project.id, annotator=alice, item_id=served.item_id)


def _next_relabel(session, project, annotator, rng):
    for _ in range(20):
        served = queue.lease_next(session, project_id=project.id, annotator=annotator, rng=rng)
        assert served is not None
        if served.source == "relabel":
            return served
        queue.skip_item(session, project_id=project.id, annotator=annotator, item_id=served.item_id)
    raise AssertionError("no relabel item served")


def test_another_annotator_reviews_kept_and_changed_with_provenance(session, ranked):
    project, truth, alice, bob = ranked
    rng = random.Random(3)
    first = _next_relabel(session, project, bob, rng)
    suspect = relabel.open_suspect(session, project_id=project.id, item_id=first.item_id)
    session.commit()
    assert suspect.rank == 0
    assert "relabel" in first.strategy
    assert f"“{suspect.given_label}”" in first.why and f"“{suspect.suggested_label}”" in first.why
    # Bob changes it to the true label.
    review = queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=bob,
        item_id=first.item_id,
        value=truth[first.item_id],
    )
    session.refresh(suspect)
    original = session.get_one(Annotation, suspect.annotation_id)
    assert suspect.status == "changed" and suspect.reviewer_id == bob.id
    assert suspect.outcome_label == truth[first.item_id]
    assert suspect.review_annotation_id == review.id and suspect.resolved_at is not None
    # The original label is superseded, not deleted: kept for provenance, out of training.
    assert original.annotator_id == alice.id and original.value == suspect.given_label
    assert original.undone_at is not None and original.resolution == "relabeled"
    assert original.resolved_by_id == bob.id
    session.commit()
    snapshot = take_snapshot(session, project.id)
    session.commit()
    position = session.get_one(Item, first.item_id).position
    values = dict(zip(snapshot.positions.tolist(), snapshot.values, strict=True))
    assert values[position] == truth[first.item_id]

    # The next suspect: bob keeps alice's label.
    second = _next_relabel(session, project, bob, rng)
    given = relabel.open_suspect(session, project_id=project.id, item_id=second.item_id)
    given_label = given.given_label
    session.commit()
    queue.submit_annotation(
        session, project_id=project.id, annotator=bob, item_id=second.item_id, value=given_label
    )
    kept = session.scalar(select(RelabelSuspect).where(RelabelSuspect.item_id == second.item_id))
    assert kept.status == "kept" and kept.outcome_label == given_label
    assert session.get_one(Annotation, kept.annotation_id).undone_at is None
    session.commit()

    rates = relabel.annotator_error_rates(session, project_id=project.id)
    session.commit()
    assert [(r.username, r.reviewed, r.changed, r.rate) for r in rates] == [("alice", 2, 1, 0.5)]
    low, high = rates[0].ci95
    assert 0 < low < 0.5 < high < 1
    summary = relabel.relabel_summary(session, project_id=project.id)
    session.commit()
    assert (summary.kept, summary.changed) == (1, 1) and summary.open >= 1


def test_a_new_ranking_replaces_open_suspects_and_skips_reviewed_items(
    session, session_factory, ranked, tmp_path
):
    project, truth, _, bob = ranked
    served = _next_relabel(session, project, bob, random.Random(3))
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=bob,
        item_id=served.item_id,
        value=truth[served.item_id],
    )
    first_job = _open(session, project)[0].job_id
    begin_write(session)
    session.add(Job(project_id=project.id, kind="relabel", trigger="manual", label_count=0))
    session.commit()
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    after = _open(session, project)
    assert after and {s.job_id for s in after} == {_relabel_jobs(session, project)[-1].id}
    assert first_job != after[0].job_id
    assert served.item_id not in {s.item_id for s in after}


def test_the_next_job_waits_for_relabel_every_new_labels(session, ranked):
    project, truth, alice, _ = ranked
    assert len(_relabel_jobs(session, project)) == 1
    # The fixture's last 20 labels came after the first job; edits are new labels too.
    _label_all(session, project, truth, alice, limit=19)
    assert len(_relabel_jobs(session, project)) == 1
    # Re-editing items 0-18 adds nothing (their fresh labels are replaced); item 19 does.
    _label_all(session, project, truth, alice, limit=20)
    jobs = _relabel_jobs(session, project)
    assert len(jobs) == 2 and jobs[-1].status == "queued" and jobs[-1].trigger == "labels"


def test_a_multi_label_project_ranks_flipped_sets_and_suggests_a_set(
    session, session_factory, tmp_path
):
    owner, alice, bob = (make_user(session, n) for n in ("owner", "alice", "bob"))
    project, truth = make_project(
        session,
        owner,
        task=TaskType.MULTI_LABEL,
        settings={"audit_fraction": 0.0, "relabel_every": 40, "relabel_share": 0.5},
    )
    items = session.scalars(
        select(Item).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    session.commit()
    for item in items:
        value = [FLIPS.get(item.text, truth[item.id])]
        queue.submit_annotation(
            session, project_id=project.id, annotator=alice, item_id=item.id, value=value
        )
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (job,) = _relabel_jobs(session, project)
    assert job.status == "done", job.error
    suspects = _open(session, project)
    flipped = {i.id for i in session.scalars(select(Item).where(Item.text.in_(FLIPS)))}
    session.commit()
    assert flipped <= {s.item_id for s in suspects[:5]}
    top = next(s for s in suspects if s.item_id in flipped)
    assert top.given_label == [FLIPS[session.get(Item, top.item_id).text]]
    assert top.suggested_label == [truth[top.item_id]]
    # Bob reviews it through the queue and gives the true set: changed.
    served = _next_relabel(session, project, bob, random.Random(0))
    suspect = relabel.open_suspect(session, project_id=project.id, item_id=served.item_id)
    session.commit()
    assert f"“{suspect.given_label[0]}”" in served.why
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=bob,
        item_id=served.item_id,
        value=[truth[served.item_id]],
    )
    session.expire_all()
    resolved = session.get(RelabelSuspect, suspect.id)
    expected = "changed" if suspect.given_label != [truth[served.item_id]] else "kept"
    assert resolved.status == expected
