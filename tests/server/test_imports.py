from __future__ import annotations

import json
import threading

import pytest

from labelwise.service import importing
from labelwise.service.training import RetrainWorker
from tests.server.conftest import assert_error


def _jsonl(*rows):
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _queue(client, world, name, content, headers=None, **params):
    return client.post(
        f"/api/projects/{world.project.id}/import",
        files={"file": (name, content)},
        params=params,
        headers=headers or world.admin_headers,
    )


def _run_worker(session_factory, settings):
    RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()


@pytest.fixture
def run_import(client, world, session_factory, settings):
    """Upload, let the worker run the job, and answer the finished job (or an early error)."""

    def run(name, content, headers=None, **params):
        response = _queue(client, world, name, content, headers=headers, **params)
        if response.status_code != 202:
            return response
        job = response.json()
        _run_worker(session_factory, settings)
        return client.get(
            f"/api/projects/{world.project.id}/imports/{job['id']}", headers=world.admin_headers
        )

    return run


def _import(run_import, _world, name, content, headers=None, **params):
    """The finished job's report (done) or its located error, shaped like the old answer."""
    response = run_import(name, content, headers=headers, **params)
    if response.status_code != 200:
        return response
    return _JobAnswer(response.json())


class _JobAnswer:
    """A finished job shown as the synchronous import's answer was: the report, or a 422."""

    def __init__(self, job):
        self.job = job
        if job["status"] == "done":
            self.status_code = 200
            self.body = job["report"]
        else:
            first = job["errors"][0]
            self.status_code = 422
            self.body = {
                "error": {
                    "type": "input_error",
                    **first,
                    "n_errors": job["progress"]["n_errors"],
                    "errors": job["errors"],
                }
            }
        self.text = json.dumps(self.body)

    def json(self):
        return self.body


class TestImport:
    def test_upload_adds_items_and_labels(self, run_import, world, settings):
        content = _jsonl(
            {"text": "hello", "label": "greet"},
            {"text": "bye now", "label": "bye"},
            {"text": "hello"},
            {"text": "what time is it"},
        )
        response = _import(run_import, world, "batch.jsonl", content)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "file": "batch.jsonl",
            "rows": 4,
            "added": 3,
            "duplicates": 1,
            "labeled": 2,
            "skipped": [],
            "evaluation": False,
            "attached": 0,
            "notes": [],
        }
        assert list((settings.data_dir / "imports").iterdir()) == []

    def test_an_evaluation_set_is_held_out(self, client, run_import, world):
        content = _jsonl({"text": "hello", "label": "greet"}, {"text": "ciao", "label": "bye"})
        response = _import(run_import, world, "eval.jsonl", content, evaluation="true")
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

    def test_an_evaluation_row_without_a_label_is_located(self, run_import, world):
        content = _jsonl({"text": "hello", "label": "greet"}, {"text": "ciao"})
        error = assert_error(
            _import(run_import, world, "eval.jsonl", content, evaluation="true"), 422, "input_error"
        )
        assert (error["file"], error["line"], error["field"]) == ("eval.jsonl", 2, "label")

    def test_bad_row_aborts_with_file_line_and_field(self, client, run_import, world):
        content = _jsonl({"text": "fine", "label": "greet"}, {"text": "odd", "label": "nope"})
        error = assert_error(_import(run_import, world, "bad.jsonl", content), 422, "input_error")
        assert (error["file"], error["line"], error["field"]) == ("bad.jsonl", 2, "label")
        assert error["n_errors"] == 1
        assert error["errors"][0]["file"] == "bad.jsonl"
        items = client.get(f"/api/projects/{world.project.id}/items", headers=world.admin_headers)
        assert items.json()["total"] == 0

    def test_unreadable_file_names_the_line(self, run_import, world):
        error = assert_error(
            _import(run_import, world, "broken.jsonl", b'{"text": "ok"}\n{oops\n'),
            422,
            "input_error",
        )
        assert (error["file"], error["line"]) == ("broken.jsonl", 2)

    def test_skip_bad_rows_keeps_the_good_ones(self, run_import, world):
        content = _jsonl({"text": "fine"}, {"text": "odd", "label": "nope"})
        response = _import(run_import, world, "mixed.jsonl", content, skip_bad_rows=True)
        body = response.json()
        assert body["added"] == 1
        assert [(s["file"], s["line"], s["field"]) for s in body["skipped"]] == [
            ("mixed.jsonl", 2, "label")
        ]

    def test_csv_with_other_column_names(self, run_import, world):
        content = b"utterance,intent\nhey there,greet\nciao,bye\n"
        response = _import(
            run_import, world, "data.csv", content, text_field="utterance", label_field="intent"
        )
        assert (response.json()["added"], response.json()["labeled"]) == (2, 2)

    def test_unsupported_file_type_is_an_input_error(self, run_import, world):
        error = assert_error(
            _import(run_import, world, "notes.txt", b"hello\n"), 422, "input_error"
        )
        assert error["file"] == "notes.txt"

    def test_client_folders_do_not_reach_the_server(self, run_import, world):
        response = _import(run_import, world, "../../etc/x.jsonl", _jsonl({"text": "a"}))
        assert response.json()["file"] == "x.jsonl"

    def test_annotator_is_forbidden(self, client, world):
        response = _queue(
            client, world, "a.jsonl", _jsonl({"text": "a"}), headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")

    def test_missing_file_names_the_field(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/import", headers=world.admin_headers
        )
        assert assert_error(response, 422, "request_validation_error")["field"] == "file"


class TestImportJob:
    def test_the_upload_answers_202_with_the_queued_job(self, client, world):
        response = _queue(client, world, "batch.jsonl", _jsonl({"text": "hello"}))
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] == "queued"
        assert job["progress"]["phase"] == "queued"
        assert job["progress"]["file"] == "batch.jsonl"
        assert job["progress"]["bytes_total"] == len(_jsonl({"text": "hello"}))
        assert job["report"] is None
        items = client.get(f"/api/projects/{world.project.id}/items", headers=world.admin_headers)
        assert items.json()["total"] == 0  # nothing is visible before the job publishes

    def test_an_unknown_job_is_404(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/imports/999", headers=world.admin_headers
        )
        assert_error(response, 404, "not_found")

    def test_an_upload_over_the_limit_is_413_and_leaves_nothing(self, world, settings):
        from fastapi.testclient import TestClient

        from labelwise.server.app import create_app

        small = settings.model_copy(update={"max_upload_bytes": 100})
        with TestClient(create_app(small)) as client:
            response = _queue(client, world, "big.jsonl", _jsonl({"text": "x" * 200}))
        error = assert_error(response, 413, "upload_too_large")
        assert "big.jsonl" in error["message"] and "100 bytes" in error["message"]
        assert list((settings.data_dir / "imports").iterdir()) == []

    def test_a_body_declared_too_large_is_refused_before_it_is_read(self, world, settings):
        from fastapi.testclient import TestClient

        from labelwise.server.app import create_app
        from labelwise.server.limits import MULTIPART_OVERHEAD_BYTES

        small = settings.model_copy(update={"max_upload_bytes": 100})
        body = _jsonl({"text": "x" * (MULTIPART_OVERHEAD_BYTES + 200)})
        with TestClient(create_app(small)) as client:
            response = _queue(client, world, "huge.jsonl", body)
        error = assert_error(response, 413, "upload_too_large")
        assert "at most 100 bytes" in error["message"]
        # The form parser never ran: no temporary file, no job, nothing under the data dir.
        assert not (settings.data_dir / "imports").exists() or not any(
            (settings.data_dir / "imports").iterdir()
        )

    def test_labeling_goes_on_while_an_import_runs(
        self, client, factory, world, session_factory, settings, monkeypatch
    ):
        factory.items(world.project, [{"text": "already here"}, {"text": "and here"}])
        monkeypatch.setattr(importing, "STAGE_BATCH", 10)
        staged_some = threading.Event()
        go_on = threading.Event()
        real = importing._set_progress

        def held(session, job_id, progress, on_progress):
            real(session, job_id, progress, on_progress)
            if progress["rows_staged"] >= 10 and not go_on.is_set():
                staged_some.set()
                assert go_on.wait(60)

        monkeypatch.setattr(importing, "_set_progress", held)
        rows = [{"text": f"new text {i}", "label": "greet"} for i in range(50)]
        job = _queue(client, world, "big.jsonl", _jsonl(*rows)).json()
        worker = threading.Thread(target=_run_worker, args=(session_factory, settings))
        worker.start()
        try:
            assert staged_some.wait(60)
            # The job holds no lock between batches: an annotator gets work and saves it.
            served = client.post(
                f"/api/projects/{world.project.id}/queue/next", headers=world.annotator_headers
            )
            assert served.status_code == 200, served.text
            saved = client.post(
                f"/api/projects/{world.project.id}/annotations",
                json={
                    "item_id": served.json()["item_id"],
                    "value": "greet",
                    "lease_id": served.json()["lease_id"],
                },
                headers=world.annotator_headers,
            )
            assert saved.status_code == 201, saved.text
            running = client.get(
                f"/api/projects/{world.project.id}/imports/{job['id']}",
                headers=world.admin_headers,
            ).json()
            assert running["status"] == "running"
            assert running["progress"]["phase"] == "reading"
            assert running["progress"]["rows_staged"] >= 10
            total = client.get(
                f"/api/projects/{world.project.id}/items", headers=world.admin_headers
            ).json()["total"]
            assert total == 2  # staged rows stay invisible until the job publishes
        finally:
            go_on.set()
            worker.join(60)
        done = client.get(
            f"/api/projects/{world.project.id}/imports/{job['id']}", headers=world.admin_headers
        ).json()
        assert done["status"] == "done", done
        assert (done["report"]["added"], done["report"]["labeled"]) == (50, 50)
        assert done["progress"]["rows_read"] == 50
