from __future__ import annotations

import time

import numpy as np
import pytest

from labelwise.service import projects, queue, training
from labelwise.service.transactions import begin_write
from labelwise.store import JobStatus, Project
from tests.service.pool_factory import make_project, make_user


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
    project, truth = make_project(session, owner)
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
    saved = np.load(str(versions[0].artifact_path))
    assert saved["coef"].shape[1] > 0
    jobs = training.list_jobs(session, project_id=project.id)
    assert jobs[0].status is JobStatus.DONE and jobs[0].model_version_id == versions[0].id


def test_too_few_labels_end_the_job_without_a_model(session, session_factory, setup, tmp_path):
    project, truth, owner = setup
    label_n(session, project, owner, truth, 2)
    job = training.request_retrain(session, project_id=project.id)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    assert job.status is JobStatus.DONE and "Not enough labels" in (job.error or "")
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
    assert job.status is JobStatus.FAILED and "disk on fire" in (job.error or "")
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
    assert served.strategy.startswith("VoteEntropy")


def test_wilson_interval_known_values():
    low, high = training.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert training.wilson_interval(0, 0) == (0.0, 1.0)


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
    assert job.status is JobStatus.DONE and "Not enough labels" in (job.error or "")
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
