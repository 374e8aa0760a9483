from __future__ import annotations

from labelwise.service.training import RetrainWorker
from tests.server.conftest import assert_error


class TestMetrics:
    def test_counts_before_any_model(self, client, factory, world):
        factory.items(world.project, [{"text": "hello", "label": "greet"}, {"text": "bye"}])
        response = client.get(
            f"/api/projects/{world.project.id}/metrics", headers=world.annotator_headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["latest_model"] is None
        status = body["status"]
        assert (status["items"], status["labeled_items"], status["annotations"]) == (2, 1, 1)
        assert status["model_version"] is None

    def test_latest_model_metrics_after_a_retrain(
        self, client, factory, world, session_factory, settings
    ):
        project = factory.project(world.admin, name="small", settings={"min_labels": 2})
        factory.items(
            project,
            [
                {"text": "hello there", "label": "greet"},
                {"text": "hi friend", "label": "greet"},
                {"text": "bye now", "label": "bye"},
                {"text": "see you later", "label": "bye"},
                {"text": "morning all"},
            ],
        )
        client.post(f"/api/projects/{project.id}/jobs/retrain", headers=world.admin_headers)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        body = client.get(f"/api/projects/{project.id}/metrics", headers=world.admin_headers)
        latest = body.json()["latest_model"]
        assert latest["version"] == 1
        assert latest["metrics"]["labeled_items"] == 4
        # The items' import is a job too, and so is the retrain.
        assert body.json()["status"]["jobs"] == {"done": 2}

    def test_outsider_gets_404(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/metrics", headers=world.outsider_headers
        )
        assert_error(response, 404, "not_found")


class TestDashboard:
    def test_members_get_the_numbers(self, client, factory, world, session_factory, settings):
        project = factory.project(world.admin, name="small", settings={"min_labels": 2})
        factory.items(
            project,
            [
                {"text": "hello there", "label": "greet"},
                {"text": "hi friend", "label": "greet"},
                {"text": "bye now", "label": "bye"},
                {"text": "see you later", "label": "bye"},
                {"text": "morning all"},
            ],
        )
        client.post(f"/api/projects/{project.id}/jobs/retrain", headers=world.admin_headers)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        body = client.get(f"/api/projects/{project.id}/dashboard", headers=world.admin_headers)
        assert body.status_code == 200, body.text
        board = body.json()
        assert board["labels_per_class"] == {"greet": 2, "bye": 2}
        assert sum(board["pool_predicted"].values()) == 1
        assert [v["version"] for v in board["versions"]] == [1]
        assert sum(board["versions"][0]["margin_histogram"]) == 1
        assert {s["name"] for s in board["stopping"]} >= {"stabilizing predictions"}

    def test_outsiders_get_404(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/dashboard", headers=world.outsider_headers
        )
        assert_error(response, 404, "not_found")

    def test_annotators_get_403(self, client, world):
        # The dashboard shows every annotator's pace: a data lead's view, not a labeler's.
        response = client.get(
            f"/api/projects/{world.project.id}/dashboard", headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")
