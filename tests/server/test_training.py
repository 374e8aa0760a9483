from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from labelwise.server.app import create_app
from labelwise.service.training import RetrainWorker
from tests.server.conftest import assert_error

ROWS = [
    {"text": "hello there", "label": "greet"},
    {"text": "hi friend", "label": "greet"},
    {"text": "good morning to you", "label": "greet"},
    {"text": "bye now", "label": "bye"},
    {"text": "see you later", "label": "bye"},
    {"text": "farewell my friend", "label": "bye"},
    {"text": "hey, how are you"},
    {"text": "goodbye and good night"},
    {"text": "morning all"},
]


@pytest.fixture
def trainable(factory, world):
    """A project with enough labels in two classes for a first model."""
    project = factory.project(world.admin, name="small", settings={"min_labels": 2})
    factory.member(project, world.annotator)
    factory.items(project, ROWS)
    return project


class TestListJobs:
    def test_member_sees_jobs_newest_first(self, client, world):
        url = f"/api/projects/{world.project.id}"
        first = client.post(f"{url}/jobs/retrain", headers=world.admin_headers).json()
        response = client.get(f"{url}/jobs", headers=world.annotator_headers)
        assert response.status_code == 200
        assert [job["id"] for job in response.json()] == [first["id"]]

    def test_outsider_gets_404(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/jobs", headers=world.outsider_headers
        )
        assert_error(response, 404, "not_found")


class TestRequestRetrain:
    def test_admin_queues_one_job(self, client, world):
        url = f"/api/projects/{world.project.id}/jobs/retrain"
        first = client.post(url, headers=world.admin_headers)
        again = client.post(url, headers=world.admin_headers)
        assert first.status_code == 202
        assert (first.json()["status"], first.json()["trigger"]) == ("queued", "manual")
        assert again.json()["id"] == first.json()["id"]

    def test_annotator_is_forbidden(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/jobs/retrain", headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")


class TestModelVersions:
    def test_none_before_training(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/model-versions", headers=world.annotator_headers
        )
        assert response.json() == []

    def test_a_trained_model_is_listed_and_serves_the_queue(
        self, client, world, trainable, session_factory, settings
    ):
        url = f"/api/projects/{trainable.id}"
        client.post(f"{url}/jobs/retrain", headers=world.admin_headers)
        assert RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending() == 1
        versions = client.get(f"{url}/model-versions", headers=world.annotator_headers).json()
        assert [(v["version"], v["label_count"]) for v in versions] == [(1, 6)]
        served = client.post(f"{url}/queue/next", headers=world.annotator_headers).json()
        assert served["reason"]["model_version"] == 1
        assert served["reason"]["score"] is not None
        assert {s["label"] for s in served["suggestions"]} == {"greet", "bye"}


class TestWorkerInTheApp:
    def test_the_app_runs_queued_retrains_while_it_is_up(self, settings, world, trainable):
        settings = settings.model_copy(update={"run_worker": True, "worker_poll_seconds": 0.05})
        with TestClient(create_app(settings)) as client:
            url = f"/api/projects/{trainable.id}/jobs"
            client.post(f"{url}/retrain", headers=world.admin_headers)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status = client.get(url, headers=world.admin_headers).json()[0]["status"]
                if status not in {"queued", "running"}:
                    break
                time.sleep(0.05)
        assert status == "done"


class TestFailedJobs:
    """A failure is one line for annotators, the detail for admins, the traceback in the log."""

    @pytest.fixture
    def failed(self, monkeypatch, caplog, session_factory, settings, client, world, trainable):
        from labelwise.service import training

        def broken(*_args, **_kwargs):
            raise FileNotFoundError(2, "No such file or directory", "/srv/labelwise/secret.npz")

        monkeypatch.setattr(training, "train_and_rank", broken)
        client.post(f"/api/projects/{trainable.id}/jobs/retrain", headers=world.admin_headers)
        with caplog.at_level("ERROR", logger="labelwise.service.training"):
            RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        return trainable

    def jobs(self, client, project, headers):
        response = client.get(f"/api/projects/{project.id}/jobs", headers=headers)
        assert response.status_code == 200, response.text
        return [job for job in response.json() if job["status"] == "failed"]

    def test_annotators_get_one_path_free_line_and_no_detail(self, client, world, failed):
        (job,) = self.jobs(client, failed, world.annotator_headers)
        assert job["status"] == "failed"
        assert job["error"] == (
            "Retraining failed on the server; a project admin can see why in the job's detail."
        )
        assert job["detail"] is None

    def test_admins_get_the_exception_without_its_traceback(self, client, world, failed):
        (job,) = self.jobs(client, failed, world.admin_headers)
        assert job["detail"] == (
            "FileNotFoundError: [Errno 2] No such file or directory: '/srv/labelwise/secret.npz'"
        )
        assert "Traceback" not in job["detail"] and "\n" not in job["error"]
        dashboard = client.get(f"/api/projects/{failed.id}/dashboard", headers=world.admin_headers)
        shown = {j["id"]: j["detail"] for j in dashboard.json()["jobs"]}
        assert shown[job["id"]] == job["detail"]

    @pytest.mark.usefixtures("failed")
    def test_the_log_has_the_traceback(self, caplog):
        import logging

        records = caplog.get_records("setup")  # the job ran in the fixture
        (record,) = [r for r in records if r.name == "labelwise.service.training"]
        assert record.levelname == "ERROR" and record.exc_info is not None
        traceback = logging.Formatter().formatException(record.exc_info)
        assert "Traceback" in traceback and "in broken" in traceback
        assert "/srv/labelwise/secret.npz" in traceback


class TestSkippedJobs:
    """Too few trainable labels: its own status and a plain note, never done + an error."""

    def test_a_one_class_retrain_is_skipped_with_a_note(
        self, client, factory, world, session_factory, settings
    ):
        project = factory.project(world.admin, name="one-class", settings={"min_labels": 2})
        factory.items(
            project, [{"text": "hi", "label": "greet"}, {"text": "hey", "label": "greet"}]
        )
        url = f"/api/projects/{project.id}/jobs"
        client.post(f"{url}/retrain", headers=world.admin_headers)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        jobs = client.get(url, headers=world.admin_headers).json()
        (job,) = [job for job in jobs if job["kind"] == "retrain"]
        assert (job["status"], job["error"], job["model_version_id"]) == ("skipped", None, None)
        assert job["label_count"] == 2
        assert job["message"].startswith("Skipped: 2 labeled items in 1 class so far")
        dashboard = client.get(f"/api/projects/{project.id}/dashboard", headers=world.admin_headers)
        shown = {j["id"]: j["status"] for j in dashboard.json()["jobs"]}
        assert shown[job["id"]] == "skipped"


def test_a_traceback_stored_by_an_older_version_is_hidden_from_annotators(
    client, world, session_factory
):
    from labelwise.service.transactions import begin_write
    from labelwise.store import Job, JobStatus

    legacy = 'OSError: boom\nTraceback (most recent call last):\n  File "/srv/app/x.py"'
    with session_factory() as session:
        begin_write(session)
        session.add(Job(project_id=world.project.id, status=JobStatus.FAILED, error=legacy))
        session.commit()
    url = f"/api/projects/{world.project.id}/jobs"
    (seen,) = client.get(url, headers=world.annotator_headers).json()
    assert seen["error"] == (
        "This retrain failed on the server; a project admin can see why in the job's detail."
    )
    (admin_view,) = client.get(url, headers=world.admin_headers).json()
    assert admin_view["error"] == legacy
