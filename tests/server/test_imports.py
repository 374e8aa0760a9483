from __future__ import annotations

import json

from tests.server.conftest import assert_error


def _jsonl(*rows):
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _import(client, world, name, content, headers=None, **params):
    return client.post(
        f"/api/projects/{world.project.id}/import",
        files={"file": (name, content)},
        params=params,
        headers=headers or world.admin_headers,
    )


class TestImport:
    def test_upload_adds_items_and_labels(self, client, world, settings):
        content = _jsonl(
            {"text": "hello", "label": "greet"},
            {"text": "bye now", "label": "bye"},
            {"text": "hello"},
            {"text": "what time is it"},
        )
        response = _import(client, world, "batch.jsonl", content)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "file": "batch.jsonl",
            "rows": 4,
            "added": 3,
            "duplicates": 1,
            "labeled": 2,
            "skipped": [],
            "evaluation": False,
        }
        assert list((settings.data_dir / "uploads").iterdir()) == []

    def test_an_evaluation_set_is_held_out(self, client, world):
        content = _jsonl({"text": "hello", "label": "greet"}, {"text": "ciao", "label": "bye"})
        response = _import(client, world, "eval.jsonl", content, evaluation="true")
        assert response.status_code == 200, response.text
        assert (response.json()["added"], response.json()["labeled"]) == (2, 0)
        items = client.get(
            f"/api/projects/{world.project.id}/items", headers=world.admin_headers
        ).json()["items"]
        assert [i["is_evaluation"] for i in items] == [True, True]
        served = client.post(
            f"/api/projects/{world.project.id}/queue/next", headers=world.admin_headers
        )
        assert served.status_code == 204  # nothing to label: the only items are held out

    def test_an_evaluation_row_without_a_label_is_located(self, client, world):
        content = _jsonl({"text": "hello", "label": "greet"}, {"text": "ciao"})
        error = assert_error(
            _import(client, world, "eval.jsonl", content, evaluation="true"), 422, "input_error"
        )
        assert (error["file"], error["line"], error["field"]) == ("eval.jsonl", 2, "label")

    def test_bad_row_aborts_with_file_line_and_field(self, client, world):
        content = _jsonl({"text": "fine", "label": "greet"}, {"text": "odd", "label": "nope"})
        error = assert_error(_import(client, world, "bad.jsonl", content), 422, "input_error")
        assert (error["file"], error["line"], error["field"]) == ("bad.jsonl", 2, "label")
        assert error["n_errors"] == 1
        assert error["errors"][0]["file"] == "bad.jsonl"
        items = client.get(f"/api/projects/{world.project.id}/items", headers=world.admin_headers)
        assert items.json()["total"] == 0

    def test_unreadable_file_names_the_line(self, client, world):
        error = assert_error(
            _import(client, world, "broken.jsonl", b'{"text": "ok"}\n{oops\n'), 422, "input_error"
        )
        assert (error["file"], error["line"]) == ("broken.jsonl", 2)

    def test_skip_bad_rows_keeps_the_good_ones(self, client, world):
        content = _jsonl({"text": "fine"}, {"text": "odd", "label": "nope"})
        response = _import(client, world, "mixed.jsonl", content, skip_bad_rows=True)
        body = response.json()
        assert body["added"] == 1
        assert [(s["file"], s["line"], s["field"]) for s in body["skipped"]] == [
            ("mixed.jsonl", 2, "label")
        ]

    def test_csv_with_other_column_names(self, client, world):
        content = b"utterance,intent\nhey there,greet\nciao,bye\n"
        response = _import(
            client, world, "data.csv", content, text_field="utterance", label_field="intent"
        )
        assert (response.json()["added"], response.json()["labeled"]) == (2, 2)

    def test_unsupported_file_type_is_an_input_error(self, client, world):
        error = assert_error(_import(client, world, "notes.txt", b"hello\n"), 422, "input_error")
        assert error["file"] == "notes.txt"

    def test_client_folders_do_not_reach_the_server(self, client, world):
        response = _import(client, world, "../../etc/x.jsonl", _jsonl({"text": "a"}))
        assert response.json()["file"] == "x.jsonl"

    def test_annotator_is_forbidden(self, client, world):
        response = _import(
            client, world, "a.jsonl", _jsonl({"text": "a"}), headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")

    def test_missing_file_names_the_field(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/import", headers=world.admin_headers
        )
        assert assert_error(response, 422, "request_validation_error")["field"] == "file"
