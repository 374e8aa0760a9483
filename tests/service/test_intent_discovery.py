"""New-intent discovery: the worker clusters what the model cannot place; an admin grows
the label schema from a cluster, confirms members, or rules a cluster out of scope."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from labelwise.service import (
    dashboard,
    exports,
    importing,
    intent_discovery,
    predictions,
    projects,
    queue,
    traffic,
    traffic_groups,
    training,
    users,
)
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.store import (
    Annotation,
    AnnotationKind,
    ClusterStatus,
    IntentCluster,
    IntentClusterMember,
    Job,
    JobStatus,
    ModelVersion,
    TaskType,
)
from tests.service.word_embedder import WordEmbedder

FREEZE = [
    "freeze my card now",
    "please freeze the card",
    "freeze card stolen",
    "can you freeze my debit card",
    "freeze the lost card",
    "i need to freeze my card",
    "freeze card immediately",
]
CHECKBOOK = [
    "order new checkbook",
    "send me checkbook",
    "more checks in checkbook",
    "new checkbook please",
    "checkbook order for account",
    "request checkbook delivery",
    "where is checkbook order",
]
LABELED = {
    "balance": [
        "what is my balance",
        "balance of my account",
        "how much money do i have",
        "show my balance",
        "account balance please",
    ],
    "transfer": [
        "send money to bob",
        "transfer funds to savings",
        "wire money abroad",
        "move money between accounts",
        "pay alice twenty dollars",
    ],
    "oos": ["tell me a joke", "who won the game", "sing a song"],
}


def _worker(session_factory, tmp_path):
    return training.RetrainWorker(
        session_factory, data_dir=tmp_path / "data", embedder_factory=WordEmbedder
    )


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


def _project(
    session,
    owner,
    tmp_path,
    *,
    labels=("balance", "transfer", "oos"),
    name="bot",
    task=TaskType.SINGLE_LABEL,
):
    project = projects.create_project(
        session,
        name=name,
        labels=list(labels),
        owner=owner,
        task=task,
        settings={
            # The classifier's features: discovery clusters sentence vectors (the fake
            # embedder's), whatever the classifier reads, and a model saves only real ones.
            "features": "tfidf",
            "min_labels": 4,
            "retrain_every": 1000,
            "audit_fraction": 0,
            # Every unlabeled message is a candidate: the test controls what clusters.
            "discovery_confidence": 0.99,
            "discovery_min_cluster_size": 3,
        },
    )
    path = tmp_path / f"{name}.jsonl"
    rows = [
        {"text": text, "label": label}
        for label, texts in LABELED.items()
        if label in labels
        for text in texts
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    importing.import_items(session, project_id=project.id, path=path, user=owner)
    traffic.ingest_traffic(
        session, project_id=project.id, messages=[{"text": t} for t in FREEZE + CHECKBOOK]
    )
    return project


@pytest.fixture
def project(session, owner, tmp_path):
    return _project(session, owner, tmp_path)


def _retrain(session, session_factory, project_id, tmp_path):
    training.request_retrain(session, project_id=project_id)
    _worker(session_factory, tmp_path).run_pending()
    session.commit()
    session.expire_all()


def _jobs(session, kind):
    return list(session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))


def _cluster_of(session, project_id, texts):
    """The open cluster whose members are mostly ``texts``."""
    for view in intent_discovery.list_clusters(session, project_id=project_id):
        if sum(m.text in texts for m in view.members) > view.size / 2:
            return view
    raise AssertionError(f"no open cluster of {texts[:2]}...")


def test_a_retrain_of_a_project_with_traffic_queues_a_discovery_that_finds_the_new_intents(
    session_factory, session, project, tmp_path
):
    _retrain(session, session_factory, project.id, tmp_path)
    [job] = _jobs(session, intent_discovery.DISCOVER_KIND)
    assert job.status is JobStatus.DONE, job.error
    assert job.trigger == "retrain"
    # Every unlabeled message but near-copies (served through their group's leader).
    copies = traffic_groups.grouped_members(session, project_id=project.id)
    assert job.progress["candidates"] == len(FREEZE) + len(CHECKBOOK) - len(copies)
    freeze = _cluster_of(session, project.id, FREEZE)
    checkbook = _cluster_of(session, project.id, CHECKBOOK)
    assert {m.text for m in freeze.members} <= set(FREEZE)
    assert {m.text for m in checkbook.members} <= set(CHECKBOOK)
    assert freeze.size >= 3 and checkbook.size >= 3
    assert "freeze" in freeze.suggested_name.split("_")
    assert "checkbook" in checkbook.suggested_name.split("_")
    assert freeze.representatives == freeze.members[:5]
    assert [m.rank for m in freeze.members] == list(range(freeze.size))
    assert intent_discovery.count_open_clusters(session, project_id=project.id) >= 2


def test_the_queue_serves_cluster_members_spread_over_the_clusters(
    session_factory, session, project, owner, tmp_path
):
    _retrain(session, session_factory, project.id, tmp_path)
    projects.update_settings(session, project_id=project.id, changes={"cluster_share": 0.5})
    clusters = intent_discovery.list_clusters(session, project_id=project.id)
    rank = {m.text: m.rank for c in clusters for m in c.members}
    served = []
    for _ in range(20):
        item = queue.lease_next(session, project_id=project.id, annotator=owner)
        if item is None:
            break
        if item.source == "cluster":
            served.append(item)
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=item.item_id)
    assert served, "no item came from the cluster source"
    # Every cluster's most central member left before any cluster's next one.
    ranks = [rank[s.text] for s in served]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert len({s.text for s in served}) == len(served) > 1
    assert served[0].strategy == "new-intent cluster"
    assert "possible new intent" in served[0].why and "skip it" in served[0].why
    # A decided cluster is no longer a source.
    for view in clusters:
        intent_discovery.mark_out_of_scope(
            session, project_id=project.id, cluster_id=view.id, admin=owner
        )
    assert not intent_discovery.has_open_cluster(session, project_id=project.id)


def test_a_refresh_replaces_the_open_clusters(session_factory, session, project, owner, tmp_path):
    _retrain(session, session_factory, project.id, tmp_path)
    before = intent_discovery.list_clusters(session, project_id=project.id)
    assert before
    job = intent_discovery.request_discovery(session, project_id=project.id, user=owner)
    # Asked twice while it waits: still one job.
    again = intent_discovery.request_discovery(session, project_id=project.id, user=owner)
    assert again.id == job.id
    _worker(session_factory, tmp_path).run_pending()
    session.commit()
    session.expire_all()
    after = intent_discovery.list_clusters(session, project_id=project.id)
    # (SQLite may reuse the deleted rows' ids: tell the clusters apart by their job.)
    assert after and {v.job_id for v in after} == {job.id}
    assert {v.job_id for v in before} == {before[0].job_id} != {job.id}
    assert session.get_one(Job, job.id).progress["replaced"] == len(before)
    assert session.scalar(select(func.count()).select_from(IntentCluster)) == len(after)
    # The replaced clusters' members went with them.
    members = session.scalar(select(func.count()).select_from(IntentClusterMember))
    assert members == sum(v.size for v in after)


def test_schema_growth_from_a_cluster(session_factory, session, project, owner, tmp_path):
    _retrain(session, session_factory, project.id, tmp_path)
    freeze = _cluster_of(session, project.id, FREEZE)
    chosen = [m.item_id for m in freeze.members]

    view = intent_discovery.create_intent_from_cluster(
        session,
        project_id=project.id,
        cluster_id=freeze.id,
        name="  freeze_card ",
        admin=owner,
        confirm=chosen,
    )

    # The label exists, the cluster is decided, the members are the admin's labels.
    assert view.status is ClusterStatus.CREATED and view.created_label == "freeze_card"
    session.expire_all()
    assert projects.get_project(session, project_id=project.id).labels == [
        "balance",
        "transfer",
        "oos",
        "freeze_card",
    ]
    confirmed = session.scalars(
        select(Annotation).where(
            Annotation.item_id.in_(chosen), Annotation.kind == AnnotationKind.LABEL
        )
    ).all()
    assert sorted(a.item_id for a in confirmed) == sorted(chosen)
    assert {(a.value, a.annotator_id, a.strategy) for a in confirmed} == {
        ("freeze_card", owner.id, "intent_cluster")
    }
    assert all(f"intent cluster {freeze.id}" in a.comment for a in confirmed)
    assert freeze.id not in {
        v.id for v in intent_discovery.list_clusters(session, project_id=project.id)
    }
    session.commit()

    # The next retrain trains with the new class; the old version keeps predicting.
    _retrain(session, session_factory, project.id, tmp_path)
    versions = session.scalars(
        select(ModelVersion).where(ModelVersion.project_id == project.id).order_by(ModelVersion.id)
    ).all()
    assert [v.version for v in versions] == [1, 2]
    cache = predictions.ModelCache()
    old = predictions.predict(
        session, project_id=project.id, texts=["freeze my card now"], version=1, cache=cache
    )
    assert old.classes == ["balance", "transfer", "oos"]
    assert old.proba is not None and old.proba.shape == (1, 3)
    new = predictions.predict(
        session, project_id=project.id, texts=["freeze the lost card"], version=2, cache=cache
    )
    assert new.classes == ["balance", "transfer", "oos", "freeze_card"]
    assert new.values == ["freeze_card"]
    assert versions[1].label_count == versions[0].label_count + len(chosen)
    # The dashboard and the export read the grown schema.
    board = dashboard.project_dashboard(session, project_id=project.id)
    assert board.labels_per_class["freeze_card"] == len(chosen)
    exported = exports.list_labels(session, project_id=project.id, offset=0, limit=1000)
    assert sum(row.label == "freeze_card" for row in exported) == len(chosen)


def test_a_new_intent_needs_a_new_valid_name_and_members_of_the_cluster(
    session_factory, session, project, owner, tmp_path
):
    _retrain(session, session_factory, project.id, tmp_path)
    cluster = _cluster_of(session, project.id, FREEZE)
    create = intent_discovery.create_intent_from_cluster
    with pytest.raises(ConflictError, match="already has a label 'balance'"):
        create(session, project_id=project.id, cluster_id=cluster.id, name="balance", admin=owner)
    with pytest.raises(ValidationError, match="may not be empty"):
        create(session, project_id=project.id, cluster_id=cluster.id, name="  ", admin=owner)
    with pytest.raises(ValidationError, match="at most 100"):
        create(session, project_id=project.id, cluster_id=cluster.id, name="x" * 101, admin=owner)
    with pytest.raises(ValidationError, match="not members"):
        create(
            session,
            project_id=project.id,
            cluster_id=cluster.id,
            name="freeze",
            admin=owner,
            confirm=[cluster.members[0].item_id, 10**6],
        )
    with pytest.raises(NotFoundError):
        create(session, project_id=project.id, cluster_id=10**6, name="freeze", admin=owner)
    # Nothing of the refused calls stuck.
    session.expire_all()
    assert projects.get_project(session, project_id=project.id).labels == [
        "balance",
        "transfer",
        "oos",
    ]
    # Adding the label alone (no member confirmed) decides the cluster; twice is a conflict.
    view = create(
        session,
        project_id=project.id,
        cluster_id=cluster.id,
        name="freeze",
        admin=owner,
        confirm=[],
    )
    assert view.status is ClusterStatus.CREATED
    with pytest.raises(ConflictError, match="already decided"):
        create(session, project_id=project.id, cluster_id=cluster.id, name="other", admin=owner)


def test_out_of_scope_labels_the_members_with_the_out_of_scope_class(
    session_factory, session, project, owner, tmp_path
):
    _retrain(session, session_factory, project.id, tmp_path)
    cluster = _cluster_of(session, project.id, CHECKBOOK)
    view = intent_discovery.mark_out_of_scope(
        session, project_id=project.id, cluster_id=cluster.id, admin=owner
    )
    assert view.status is ClusterStatus.OUT_OF_SCOPE and view.created_label == "oos"
    values = session.scalars(
        select(Annotation.value).where(
            Annotation.item_id.in_([m.item_id for m in cluster.members]),
            Annotation.kind == AnnotationKind.LABEL,
        )
    ).all()
    assert values == ["oos"] * cluster.size


def test_without_an_out_of_scope_class_the_cluster_is_dismissed_and_stays_away(
    session_factory, session, owner, tmp_path
):
    project = _project(session, owner, tmp_path, labels=("balance", "transfer"), name="no-oos")
    _retrain(session, session_factory, project.id, tmp_path)
    cluster = _cluster_of(session, project.id, CHECKBOOK)
    view = intent_discovery.mark_out_of_scope(
        session, project_id=project.id, cluster_id=cluster.id, admin=owner
    )
    assert view.status is ClusterStatus.DISMISSED and view.created_label is None
    labels = session.scalars(
        select(Annotation).where(
            Annotation.item_id.in_([m.item_id for m in cluster.members]),
            Annotation.kind == AnnotationKind.LABEL,
        )
    ).all()
    assert labels == []
    # A new discovery does not bring the dismissed members back.
    intent_discovery.request_discovery(session, project_id=project.id, user=owner)
    _worker(session_factory, tmp_path).run_pending()
    session.commit()
    dismissed = {m.item_id for m in cluster.members}
    for open_ in intent_discovery.list_clusters(session, project_id=project.id):
        assert not dismissed & {m.item_id for m in open_.members}
    decided = intent_discovery.list_clusters(session, project_id=project.id, status="decided")
    assert [v.id for v in decided] == [cluster.id]


def test_confirm_members_with_an_existing_label(session_factory, session, project, owner, tmp_path):
    _retrain(session, session_factory, project.id, tmp_path)
    cluster = _cluster_of(session, project.id, FREEZE)
    first = cluster.members[0].item_id
    assert (
        intent_discovery.confirm_members(
            session,
            project_id=project.id,
            cluster_id=cluster.id,
            item_ids=[first],
            label="balance",
            admin=owner,
        )
        == 1
    )
    with pytest.raises(ValidationError, match="not one of the project's labels"):
        intent_discovery.confirm_members(
            session,
            project_id=project.id,
            cluster_id=cluster.id,
            item_ids="all",
            label="nope",
            admin=owner,
        )
    # Still open: confirming members is not a decision on the cluster.
    assert session.get_one(IntentCluster, cluster.id).status is ClusterStatus.OPEN


def test_a_discovery_before_any_model_is_skipped(
    session_factory, session, project, owner, tmp_path
):
    job = intent_discovery.request_discovery(session, project_id=project.id, user=owner)
    _worker(session_factory, tmp_path).run_pending()
    session.commit()
    session.expire_all()
    done = session.get_one(Job, job.id)
    assert done.status is JobStatus.SKIPPED
    assert "first retrain" in done.progress["message"]


def test_discovery_needs_a_probability_per_label(session, owner):
    project = projects.create_project(
        session, name="slots", labels=["city"], owner=owner, task=TaskType.SPANS
    )
    with pytest.raises(ValidationError, match="single- or multi-label"):
        intent_discovery.request_discovery(session, project_id=project.id, user=owner)


def test_a_multi_label_project_grows_its_schema_from_a_cluster(
    session_factory, session, owner, tmp_path
):
    project = _project(session, owner, tmp_path, task=TaskType.MULTI_LABEL, name="multi")
    _retrain(session, session_factory, project.id, tmp_path)
    freeze = _cluster_of(session, project.id, FREEZE)
    chosen = [m.item_id for m in freeze.members]
    intent_discovery.create_intent_from_cluster(
        session,
        project_id=project.id,
        cluster_id=freeze.id,
        name="freeze_card",
        admin=owner,
        confirm=chosen,
    )
    session.expire_all()
    values = session.scalars(
        select(Annotation.value).where(
            Annotation.item_id.in_(chosen), Annotation.kind == AnnotationKind.LABEL
        )
    ).all()
    assert values == [["freeze_card"]] * len(chosen)
    session.commit()
