from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from labelwise.scoring import DaskScorer
from labelwise.server import app as app_module
from labelwise.server.app import create_app
from labelwise.service.training import RetrainWorker
from tests.server.conftest import assert_error


class TestOpenAPI:
    def test_schema_lists_every_resource(self, client):
        schema = client.get("/openapi.json").json()
        paths = set(schema["paths"])
        for path in [
            "/api/auth/token",
            "/api/me",
            "/api/users",
            "/api/projects",
            "/api/projects/{project_id}",
            "/api/projects/{project_id}/settings",
            "/api/projects/{project_id}/members",
            "/api/projects/{project_id}/items",
            "/api/projects/{project_id}/items/{item_id}",
            "/api/projects/{project_id}/queue/next",
            "/api/projects/{project_id}/annotations",
            "/api/projects/{project_id}/annotations/skip",
            "/api/projects/{project_id}/annotations/flag",
            "/api/projects/{project_id}/annotations/undo",
            "/api/projects/{project_id}/annotations/recent",
            "/api/projects/{project_id}/jobs",
            "/api/projects/{project_id}/jobs/retrain",
            "/api/projects/{project_id}/model-versions",
            "/api/projects/{project_id}/metrics",
        ]:
            assert path in paths, path
        assert "HTTPBearer" in schema["components"]["securitySchemes"]

    def test_errors_are_documented_with_the_error_body(self, client):
        schema = client.get("/openapi.json").json()
        post = schema["paths"]["/api/projects"]["post"]
        assert post["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }

    def test_docs_page_is_served(self, client):
        response = client.get("/docs")
        assert response.status_code == 200
        assert "swagger" in response.text.lower()


class TestOfflineDocs:
    """``/docs`` and ``/redoc`` load nothing from the internet (they were blank offline)."""

    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_the_page_references_only_local_files_and_they_are_served(self, client, path):
        response = client.get(path)
        assert response.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", response.text)
        assert urls, response.text
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 0
        assert "cdn" not in response.text.lower()

    @pytest.mark.parametrize("path", ["/docs", "/redoc"])
    def test_the_pages_policy_allows_nothing_from_elsewhere(self, client, path):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "http" not in policy and "*" not in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]

    def test_the_bundled_viewers_are_real(self, client):
        assert b"SwaggerUIBundle" in client.get("/static/docs/swagger-ui-bundle.js").content
        assert b"Redoc" in client.get("/static/docs/redoc.standalone.js").content


class TestErrorShape:
    def test_unknown_route_is_a_404_error_body(self, client):
        assert_error(client.get("/api/no-such-thing"), 404, "not_found")

    def test_wrong_method_is_a_405_error_body(self, client):
        assert_error(client.delete("/api/projects"), 405, "http_error")

    def test_request_validation_names_the_field(self, client, world):
        response = client.post(
            "/api/projects", json={"name": "p", "labels": "x"}, headers=world.admin_headers
        )
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == "labels"
        assert error["errors"][0]["loc"] == ["body", "labels"]

    def test_malformed_json_is_a_request_validation_error(self, client, world):
        response = client.post(
            "/api/projects",
            content=b"{not json",
            headers={**world.admin_headers, "Content-Type": "application/json"},
        )
        assert_error(response, 422, "request_validation_error")

    def test_bad_path_parameter_is_a_request_validation_error(self, client, world):
        response = client.get("/api/projects/abc", headers=world.admin_headers)
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == "project_id"


class TestUnexpectedErrors:
    def test_a_crash_is_a_500_error_body_without_details(self, settings):
        app = create_app(settings)

        @app.get("/api/boom")
        def boom() -> None:
            raise RuntimeError("secret internals")

        with TestClient(app, raise_server_exceptions=False) as client:
            error = assert_error(client.get("/api/boom"), 500, "internal_error")
        assert "secret" not in error["message"]


def test_the_server_s_worker_scores_on_the_configured_dask_scheduler(
    settings, dask_scheduler, monkeypatch
):
    built: list[RetrainWorker] = []

    class Recorded(RetrainWorker):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(app_module, "RetrainWorker", Recorded)
    configured = settings.model_copy(update={"run_worker": True, "dask_scheduler": dask_scheduler})
    with TestClient(create_app(configured)):
        (worker,) = built
        assert isinstance(worker.scorer, DaskScorer)
        assert worker.scorer.scheduler == dask_scheduler
        assert worker.scorer.client().status == "running"
    # Shut down with the server.
    assert worker.scorer._connection is None
