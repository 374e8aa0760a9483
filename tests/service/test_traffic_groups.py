"""Near-duplicate traffic groups: the worker groups after ingest, the queue serves a group once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import importing, projects, queue, traffic, traffic_groups, training, users
from labelwise.store import Item, Job, JobStatus, TrafficStat
from tests.service.word_embedder import WordEmbedder


def _worker(session_factory, tmp_path):
    return training.RetrainWorker(session_factory, data_dir=tmp_path, embedder_factory=WordEmbedder)


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


@pytest.fixture
def project(session, owner):
    # No audit sample: every served item then says why it was chosen.
    return projects.create_project(
        session,
        name="bot",
        labels=["balance", "transfer"],
        owner=owner,
        settings={"audit_fraction": 0},
    )


def _groups(session, project_id):
    leader = {}
    for text, item_id, group in session.execute(
        select(Item.text, Item.id, TrafficStat.group_item_id)
        .join(TrafficStat, TrafficStat.item_id == Item.id)
        .where(Item.project_id == project_id)
    ).all():
        leader[text] = (item_id, group)
    return leader


def test_the_worker_groups_near_copies_and_the_queue_serves_each_group_once(
    session_factory, session, project, owner, tmp_path
):
    report = traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[
            {"text": "what is my balance"},
            {"text": "what is my balance"},
            {"text": "what is my balance?!"},  # the same words: a near-copy
            {"text": "send money to bob"},
        ],
    )
    assert report.new_items == 3
    (job,) = session.scalars(select(Job).where(Job.kind == traffic_groups.GROUP_KIND)).all()
    assert job.status is JobStatus.QUEUED and job.trigger == "ingest"
    # A second batch while the first job waits queues no second job.
    traffic.ingest_traffic(session, project_id=project.id, messages=[{"text": "hello"}])
    assert len(session.scalars(select(Job).where(Job.kind == traffic_groups.GROUP_KIND)).all()) == 1

    assert _worker(session_factory, tmp_path).run_pending() == 1
    # A fresh snapshot and fresh objects: the worker wrote in its own sessions.
    session.commit()
    session.expire_all()
    done = session.get_one(Job, job.id)
    assert done.status is JobStatus.DONE, done.error
    assert done.progress["grouped"] == 4 and done.progress["new_leaders"] == 3
    groups = _groups(session, project.id)
    leader_id = groups["what is my balance"][0]
    assert groups["what is my balance"][1] == leader_id
    assert groups["what is my balance?!"][1] == leader_id
    assert groups["send money to bob"][1] == groups["send money to bob"][0]
    assert traffic_groups.group_counts(session, project_id=project.id, item_ids=[leader_id]) == {
        leader_id: 3
    }
    near_copy = session.scalar(select(Item.position).where(Item.text == "what is my balance?!"))
    assert traffic_groups.grouped_members(session, project_id=project.id) == [near_copy]

    served = []
    while (item := queue.lease_next(session, project_id=project.id, annotator=owner)) is not None:
        served.append(item)
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=item.item_id)
    texts = sorted(item.text for item in served)
    assert texts == ["hello", "send money to bob", "what is my balance"]
    balance = next(item for item in served if item.text == "what is my balance")
    assert balance.traffic_count == 3
    assert "sent it (or a near-copy) 3 times" in balance.why


def test_grouping_is_incremental_and_never_moves_an_item(
    session_factory, session, project, tmp_path
):
    worker = _worker(session_factory, tmp_path)
    traffic.ingest_traffic(session, project_id=project.id, messages=[{"text": "freeze my card"}])
    worker.run_pending()
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": "freeze my card!"}, {"text": "order a new card"}],
    )
    worker.run_pending()
    # A fresh snapshot and fresh objects: the worker wrote in its own sessions.
    session.commit()
    session.expire_all()
    groups = _groups(session, project.id)
    first = groups["freeze my card"][0]
    assert groups["freeze my card"][1] == first
    assert groups["freeze my card!"][1] == first
    assert groups["order a new card"][1] == groups["order a new card"][0]


def test_a_held_out_item_leads_no_group(session_factory, session, project, owner, tmp_path):
    path = tmp_path / "eval.jsonl"
    path.write_text('{"text": "what is my balance", "label": "balance"}\n', encoding="utf-8")
    importing.import_items(session, project_id=project.id, path=path, evaluation=True)
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": "what is my balance"}, {"text": "what is my balance?!"}],
    )
    _worker(session_factory, tmp_path).run_pending()
    session.commit()
    session.expire_all()
    groups = _groups(session, project.id)
    held_out, copy = groups["what is my balance"], groups["what is my balance?!"]
    assert held_out[1] == held_out[0]  # alone
    assert copy[1] == copy[0]  # not hidden behind an item nobody is served
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served is not None and served.text == "what is my balance?!"
