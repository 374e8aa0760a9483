"""POST /api/projects/{id}/predict: the production model, for bots with the predict scope."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise import load_model
from labelwise.service import model_versions
from tests.server.conftest import assert_error
from tests.server.trained import service_headers, trained_project

TEXTS = ["hello my friend", "see you tomorrow", ""]


@pytest.fixture
def project(factory, world, settings, session_factory):
    return trained_project(factory, world, settings, session_factory)


def promote(client, world, project, version=1):
    url = f"/api/projects/{project.id}/model-versions/{version}/promote"
    response = client.post(url, headers=world.admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


class TestPredict:
    def test_a_predict_token_gets_the_exported_models_probabilities(
        self, client, world, project, session_factory, tmp_path
    ):
        promote(client, world, project)
        headers = service_headers(session_factory, project, "predict")
        response = client.post(
            f"/api/projects/{project.id}/predict", json={"texts": TEXTS}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["version"], body["production"], body["task"]) == (1, True, "single_label")
        assert body["classes"] == ["greet", "bye"]
        with session_factory() as session:
            model_versions.export_model(
                session, project_id=project.id, directory=tmp_path / "export"
            )
        exported = load_model(tmp_path / "export").predict_proba(TEXTS)
        served = np.array(
            [[p["probabilities"][c] for c in body["classes"]] for p in body["predictions"]]
        )
        # JSON carries every float64 exactly: the arrays are equal, not merely close.
        assert np.array_equal(served, exported)
        assert [p["label"] for p in body["predictions"]] == [
            body["classes"][i] for i in exported.argmax(axis=1)
        ]
        assert all(p["spans"] is None for p in body["predictions"])

    def test_a_member_may_predict_with_a_named_version(self, client, world, project):
        response = client.post(
            f"/api/projects/{project.id}/predict",
            json={"texts": TEXTS, "version": 1},
            headers=world.annotator_headers,
        )
        assert response.status_code == 200
        assert response.json()["production"] is False

    def test_nothing_in_production_is_a_plain_409(self, client, project, session_factory):
        headers = service_headers(session_factory, project, "predict")
        response = client.post(
            f"/api/projects/{project.id}/predict", json={"texts": TEXTS}, headers=headers
        )
        error = assert_error(response, 409, "conflict")
        assert "no model version in production" in error["message"]

    def test_an_unknown_version_is_404(self, client, world, project):
        response = client.post(
            f"/api/projects/{project.id}/predict",
            json={"texts": TEXTS, "version": 9},
            headers=world.admin_headers,
        )
        assert_error(response, 404, "not_found")


class TestWhoMayPredict:
    def test_a_service_token_without_the_predict_scope_is_403(
        self, client, world, project, session_factory
    ):
        promote(client, world, project)
        headers = service_headers(session_factory, project, "ingest", "feedback")
        response = client.post(
            f"/api/projects/{project.id}/predict", json={"texts": TEXTS}, headers=headers
        )
        error = assert_error(response, 403, "permission_denied")
        assert "not predict" in error["message"]

    def test_another_projects_token_is_403(self, client, world, project, session_factory):
        headers = service_headers(session_factory, world.project, "predict")
        response = client.post(
            f"/api/projects/{project.id}/predict", json={"texts": TEXTS}, headers=headers
        )
        assert_error(response, 403, "permission_denied")

    def test_outsiders_and_strangers_are_refused(self, client, world, project):
        url = f"/api/projects/{project.id}/predict"
        assert_error(client.post(url, json={"texts": TEXTS}), 401, "authentication_failed")
        response = client.post(url, json={"texts": TEXTS}, headers=world.outsider_headers)
        assert_error(response, 404, "not_found")
        unknown = {"Authorization": "Bearer lws_not-a-token"}
        assert_error(
            client.post(url, json={"texts": TEXTS}, headers=unknown), 401, "authentication_failed"
        )


class TestMalformedBodies:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "texts"),
            ({"texts": "hello"}, "texts"),
            ({"texts": []}, "texts"),
            ({"texts": ["ok"] * 1001}, "texts"),
            ({"texts": ["ok", 3]}, "texts.1"),
            ({"texts": ["nul \u0000 inside"]}, "texts.0"),
            ({"texts": ["x" * 100_001]}, "texts.0"),
            ({"texts": ["ok"], "version": 0}, "version"),
            ({"texts": ["ok"], "version": 2**31}, "version"),
            ({"texts": ["ok"], "version": "latest"}, "version"),
            ({"texts": ["ok"], "model": "v1"}, "model"),
        ],
    )
    def test_422_naming_the_field(self, client, world, project, body, field):
        response = client.post(
            f"/api/projects/{project.id}/predict", json=body, headers=world.admin_headers
        )
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == field

    def test_a_body_that_is_not_json(self, client, world, project):
        response = client.post(
            f"/api/projects/{project.id}/predict",
            content=b'{"texts": [',
            headers={**world.admin_headers, "Content-Type": "application/json"},
        )
        assert_error(response, 422, "request_validation_error")
