"""Model version routes: the list, comparing two, promoting one (people only, admins only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service.transactions import begin_write
from labelwise.store import ModelVersion
from tests.server.conftest import assert_error
from tests.server.trained import service_headers, trained_project


@pytest.fixture
def project(factory, world, settings, session_factory):
    return trained_project(factory, world, settings, session_factory, versions=2)


class TestPromote:
    def test_an_admin_promotes_and_the_list_marks_it(self, client, world, project):
        url = f"/api/projects/{project.id}/model-versions"
        response = client.post(f"{url}/1/promote", headers=world.admin_headers)
        assert response.status_code == 200
        assert (response.json()["version"], response.json()["production"]) == (1, True)
        listed = client.get(url, headers=world.annotator_headers).json()
        assert [(v["version"], v["production"], v["servable"]) for v in listed] == [
            (1, True, True),
            (2, False, True),
        ]
        metrics = client.get(f"/api/projects/{project.id}/metrics", headers=world.admin_headers)
        assert metrics.json()["latest_model"]["version"] == 2
        assert metrics.json()["latest_model"]["production"] is False

    def test_an_annotator_is_403(self, client, world, project):
        response = client.post(
            f"/api/projects/{project.id}/model-versions/1/promote",
            headers=world.annotator_headers,
        )
        assert_error(response, 403, "permission_denied")

    def test_a_service_token_is_refused_even_with_every_scope(
        self, client, project, session_factory
    ):
        headers = service_headers(session_factory, project, "ingest", "feedback", "predict")
        response = client.post(
            f"/api/projects/{project.id}/model-versions/1/promote", headers=headers
        )
        error = assert_error(response, 403, "permission_denied")
        assert "person's API token" in error["message"]
        # The label export is a person's route too.
        export = client.get(f"/api/projects/{project.id}/export", headers=headers)
        assert_error(export, 403, "permission_denied")
        listed = client.get(f"/api/projects/{project.id}/model-versions", headers=headers)
        assert_error(listed, 403, "permission_denied")

    @pytest.mark.parametrize(("version", "status"), [(9, 404), (0, 422), (2**31, 422)])
    def test_unknown_or_impossible_versions(self, client, world, project, version, status):
        response = client.post(
            f"/api/projects/{project.id}/model-versions/{version}/promote",
            headers=world.admin_headers,
        )
        assert response.status_code == status


class TestList:
    def test_weak_label_training_is_shown_from_the_metrics(
        self, client, world, project, session_factory
    ):
        url = f"/api/projects/{project.id}/model-versions"
        listed = client.get(url, headers=world.annotator_headers).json()
        # Trained on human labels only (the setting is 0): nothing to show.
        assert [(v["weak_label_weight"], v["weak_items"]) for v in listed] == [(None, None)] * 2
        with session_factory() as session:
            begin_write(session)
            version = session.scalar(
                select(ModelVersion).where(
                    ModelVersion.project_id == project.id, ModelVersion.version == 2
                )
            )
            version.metrics = {
                **version.metrics,
                "weak_label_weight": 0.5,
                "weak_items": 7,
                "weak_label_weight_by_cv": True,
                "weak_labels_from": "model_and_rules",
            }
            session.commit()
        listed = client.get(url, headers=world.annotator_headers).json()
        assert (listed[1]["weak_label_weight"], listed[1]["weak_items"]) == (0.5, 7)
        assert [v["weak_label_weight_by_cv"] for v in listed] == [False, True]
        assert [v["weak_labels_from"] for v in listed] == ["rules", "model_and_rules"]


class TestCompare:
    def test_two_versions_side_by_side(self, client, world, project):
        response = client.get(
            f"/api/projects/{project.id}/model-versions/compare",
            params={"a": 1, "b": 2},
            headers=world.annotator_headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["a"]["version"], body["b"]["version"]) == (1, 2)
        # No audit sample or evaluation set in this project: nothing held out to compare.
        assert body["scores"] == []

    @pytest.mark.parametrize(
        "params", [{"a": 1}, {"a": 1, "b": "x"}, {"a": 0, "b": 1}], ids=["no-b", "text", "zero"]
    )
    def test_malformed_queries_are_422(self, client, world, project, params):
        response = client.get(
            f"/api/projects/{project.id}/model-versions/compare",
            params=params,
            headers=world.admin_headers,
        )
        assert_error(response, 422, "request_validation_error")

    def test_an_unknown_version_is_404(self, client, world, project):
        response = client.get(
            f"/api/projects/{project.id}/model-versions/compare",
            params={"a": 1, "b": 5},
            headers=world.admin_headers,
        )
        assert_error(response, 404, "not_found")
