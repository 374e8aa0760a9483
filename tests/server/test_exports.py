from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from tests.server.conftest import assert_error


@pytest.fixture
def labeled(factory, world):
    factory.items(
        world.project,
        [{"text": "hello there", "label": "greet"}, {"text": "bye now", "label": "bye"}],
    )


def _export(client, world, headers=None, **params):
    return client.get(
        f"/api/projects/{world.project.id}/export",
        params=params,
        headers=headers or world.admin_headers,
    )


@pytest.mark.usefixtures("labeled")
class TestExport:
    def test_jsonl_is_the_default_download(self, client, world, settings):
        response = _export(client, world)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert "attachment" in response.headers["content-disposition"]
        assert f"project-{world.project.id}-labels.jsonl" in response.headers["content-disposition"]
        rows = [json.loads(line) for line in response.text.splitlines()]
        assert [(r["text"], r["label"]) for r in rows] == [
            ("hello there", "greet"),
            ("bye now", "bye"),
        ]
        assert list((settings.data_dir / "exports").iterdir()) == []

    def test_csv(self, client, world):
        response = _export(client, world, format="csv")
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["label"] for r in rows] == ["greet", "bye"]

    def test_parquet(self, client, world):
        response = _export(client, world, format="parquet")
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column("label").to_pylist() == ["greet", "bye"]

    def test_unknown_format_names_the_parameter(self, client, world):
        response = _export(client, world, format="xlsx")
        assert assert_error(response, 422, "request_validation_error")["field"] == "format"

    def test_annotator_is_forbidden(self, client, world):
        assert_error(_export(client, world, world.annotator_headers), 403, "permission_denied")
