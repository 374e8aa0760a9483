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

    def test_skips_and_flags_on_request(self, client, world, factory):
        factory.items(world.project, [{"text": "unclear one"}, {"text": "skip me"}])
        url = f"/api/projects/{world.project.id}"
        items = client.get(f"{url}/items", headers=world.admin_headers).json()["items"]
        ids = {item["text"]: item["id"] for item in items}
        flagged = client.post(
            f"{url}/annotations/flag",
            json={"item_id": ids["unclear one"], "comment": "out of scope?"},
            headers=world.annotator_headers,
        )
        assert flagged.status_code in (200, 201), flagged.text
        skipped = client.post(
            f"{url}/annotations/skip",
            json={"item_id": ids["skip me"]},
            headers=world.annotator_headers,
        )
        assert skipped.status_code in (200, 201), skipped.text
        plain = _export(client, world, format="csv")
        assert [r["label"] for r in csv.DictReader(io.StringIO(plain.text))] == ["greet", "bye"]
        response = _export(client, world, format="parquet", include="skips,flags")
        assert response.status_code == 200, response.text
        table = pq.read_table(io.BytesIO(response.content))
        rows = {r["text"]: (r["kind"], r["comment"]) for r in table.to_pylist()}
        assert rows["unclear one"] == ("flag", "out of scope?")
        assert rows["skip me"] == ("skip", "")
        assert rows["hello there"] == ("label", "")
        assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
        assert table.column("annotator_id").to_pylist()[-1] == world.annotator.id

    def test_unknown_include_names_the_parameter(self, client, world):
        response = _export(client, world, include="labels")
        assert assert_error(response, 422, "request_validation_error")["field"] == "include"


@pytest.mark.usefixtures("labeled")
class TestRules:
    """``include=rules``: the labeling functions' votes as rows of their own."""

    def test_votes_are_rows_with_their_function_and_version(self, client, world):
        url = f"/api/projects/{world.project.id}"
        made = client.post(
            f"{url}/labeling-functions",
            json={"name": "kw_bye", "kind": "keyword", "label": "bye", "keywords": ["bye"]},
            headers=world.admin_headers,
        )
        assert made.status_code == 201, made.text
        response = _export(client, world, format="jsonl", include="skips,rules")
        assert response.status_code == 200, response.text
        rows = [json.loads(line) for line in response.text.splitlines()]
        assert [(r["text"], r["kind"], r["source"], r["label"]) for r in rows] == [
            ("hello there", "label", "human", "greet"),
            ("bye now", "label", "human", "bye"),
            ("bye now", "rule", "rule", "bye"),
        ]
        vote = rows[-1]
        assert (
            vote["labeling_function"],
            vote["labeling_function_version"],
            vote["labeling_function_enabled"],
        ) == ("kw_bye", 1, True)
        assert vote["annotator"] is None and rows[0]["labeling_function"] is None

    def test_an_unknown_include_is_refused_naming_the_parameter(self, client, world):
        response = _export(client, world, include="bogus")
        assert assert_error(response, 422, "request_validation_error")["field"] == "include"
        response = _export(client, world, include="rules,bogus")
        assert assert_error(response, 422, "request_validation_error")["field"] == "include"
