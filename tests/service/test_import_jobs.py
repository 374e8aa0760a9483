"""Import jobs: staged in short transactions, published at once, progress, clean-up, limits.

Also labels for texts already in the pool (attached as new annotations, or said why not).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from labelwise.data import LabelSource
from labelwise.service import import_jobs, importing, projects, users
from labelwise.service.errors import UploadTooLargeError
from labelwise.service.importing import import_items
from labelwise.service.training import RetrainWorker
from labelwise.service.transactions import begin_write
from labelwise.store import Annotation, ImportRow, Item, Job, JobStatus


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="owner-password")


@pytest.fixture
def project(session, owner):
    return projects.create_project(
        session, name="intents", labels=["translate", "transfer", "timer"], owner=owner
    )


def _upload(tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    return import_jobs.store_upload(
        io.BytesIO(_jsonl(rows)), data_dir=tmp_path / "data", filename=name, max_bytes=None
    )


def _run(session_factory, tmp_path: Path) -> None:
    RetrainWorker(session_factory, data_dir=tmp_path / "data").run_pending()


def _counts(session, project_id: int) -> tuple[int, int, int]:
    session.rollback()
    items = session.scalar(select(func.count()).where(Item.project_id == project_id))
    labels = session.scalar(select(func.count()).where(Annotation.project_id == project_id))
    staged = session.scalar(select(func.count()).select_from(ImportRow))
    session.rollback()
    return items, labels, staged


class TestImportJob:
    def test_the_worker_stages_then_publishes_with_progress(
        self, session, session_factory, project, owner, tmp_path, monkeypatch
    ):
        monkeypatch.setattr(importing, "STAGE_BATCH", 7)
        seen: list[tuple[str, int, int, tuple[int, int, int]]] = []
        real = importing._set_progress

        def watch(s, job_id, progress, on_progress):
            real(s, job_id, progress, on_progress)
            with session_factory() as other:
                seen.append(
                    (
                        progress["phase"],
                        progress["rows_read"],
                        progress["rows_staged"],
                        _counts(other, project.id),
                    )
                )

        monkeypatch.setattr(importing, "_set_progress", watch)
        rows = [{"text": f"row {i}", "label": "timer" if i % 2 else None} for i in range(30)]
        path = _upload(tmp_path, "rows.jsonl", rows)
        job = import_jobs.queue_import(session, project_id=project.id, path=path, user=owner)
        assert (job.kind, job.status, job.progress["phase"]) == (
            "import",
            JobStatus.QUEUED,
            "queued",
        )
        assert job.progress["bytes_total"] == path.stat().st_size

        _run(session_factory, tmp_path)

        # Every batch was its own transaction: the rows were staged (visible to another
        # session) while no item existed; the items appeared only at the publish.
        reading = [s for s in seen if s[0] == "reading"]
        assert [s[1] for s in reading] == [7, 14, 21, 28, 30]
        assert [s[3] for s in reading] == [(0, 0, n) for n in (7, 14, 21, 28, 30)]
        assert seen[-1][0] == "publishing" and seen[-1][3] == (0, 0, 30)
        job = import_jobs.get_import_job(session, project_id=project.id, job_id=job.id)
        assert job.status is JobStatus.DONE
        report = job.progress["report"]
        assert (report["rows"], report["added"], report["labeled"]) == (30, 30, 15)
        assert job.progress["rows_read"] == 30 and job.progress["phase"] == "done"
        assert _counts(session, project.id) == (30, 15, 0)
        positions = session.scalars(
            select(Item.position).where(Item.project_id == project.id).order_by(Item.position)
        ).all()
        assert positions == list(range(30))
        assert not path.exists()  # the upload is removed once the job ends

    def test_bad_rows_publish_nothing_and_the_job_names_them(
        self, session, session_factory, project, tmp_path, monkeypatch
    ):
        monkeypatch.setattr(importing, "STAGE_BATCH", 5)
        rows: list[dict[str, Any]] = [{"text": f"good {i}"} for i in range(12)]
        rows[9] = {"text": "odd", "label": "weather"}
        rows.append({"txt": "no text"})
        path = _upload(tmp_path, "bad.jsonl", rows)
        job = import_jobs.queue_import(session, project_id=project.id, path=path)
        _run(session_factory, tmp_path)
        job = import_jobs.get_import_job(session, project_id=project.id, job_id=job.id)
        assert job.status is JobStatus.FAILED
        assert job.progress["phase"] == "failed" and job.progress["n_errors"] == 2
        assert [(e["file"], e["line"], e["field"]) for e in job.progress["errors"]] == [
            ("bad.jsonl", 10, "label"),
            ("bad.jsonl", 13, "text"),
        ]
        assert job.error.startswith("bad.jsonl, line 10: 2 bad rows, nothing was imported")
        assert "/" not in job.error.split(":")[0]  # no server folder
        assert _counts(session, project.id) == (0, 0, 0)
        assert not path.exists()

    def test_an_unreadable_file_fails_the_job_with_its_location(
        self, session, session_factory, project, tmp_path
    ):
        path = import_jobs.store_upload(
            io.BytesIO(b'{"text": "ok"}\n{oops\n'),
            data_dir=tmp_path / "data",
            filename="broken.jsonl",
            max_bytes=None,
        )
        job = import_jobs.queue_import(session, project_id=project.id, path=path)
        _run(session_factory, tmp_path)
        job = import_jobs.get_import_job(session, project_id=project.id, job_id=job.id)
        assert job.status is JobStatus.FAILED
        assert (job.progress["errors"][0]["file"], job.progress["errors"][0]["line"]) == (
            "broken.jsonl",
            2,
        )

    def test_a_job_of_another_project_is_not_found(self, session, project, owner, tmp_path):
        from labelwise.service.errors import NotFoundError

        other = projects.create_project(session, name="other", labels=["a", "b"], owner=owner)
        path = _upload(tmp_path, "a.jsonl", [{"text": "a"}])
        job = import_jobs.queue_import(session, project_id=project.id, path=path)
        with pytest.raises(NotFoundError):
            import_jobs.get_import_job(session, project_id=other.id, job_id=job.id)

    def test_a_refused_request_removes_its_upload(self, session, tmp_path):
        from labelwise.service.errors import NotFoundError

        path = _upload(tmp_path, "a.jsonl", [{"text": "a"}])
        with pytest.raises(NotFoundError):
            import_jobs.queue_import(session, project_id=999, path=path)
        assert not path.exists()


class TestUploads:
    def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(self, tmp_path):
        data = tmp_path / "data"
        with pytest.raises(UploadTooLargeError, match=r"big\.jsonl is larger than .* 1 KiB"):
            import_jobs.store_upload(
                io.BytesIO(b"x" * 5000), data_dir=data, filename="big.jsonl", max_bytes=1024
            )
        assert list((data / "imports").iterdir()) == []

    def test_an_upload_at_the_limit_is_kept(self, tmp_path):
        path = import_jobs.store_upload(
            io.BytesIO(b"x" * 1024), data_dir=tmp_path, filename="ok.jsonl", max_bytes=1024
        )
        assert path.name == "ok.jsonl" and path.stat().st_size == 1024

    def test_partial_uploads_and_leftovers_are_removed_when_the_worker_starts(
        self, session, session_factory, project, tmp_path
    ):
        data = tmp_path / "data"
        imports = data / "imports"
        crashed = imports / f"abc{import_jobs.PARTIAL_SUFFIX}"
        crashed.mkdir(parents=True)
        (crashed / "half.jsonl").write_bytes(b'{"text": "hal')
        orphan = _upload(tmp_path, "orphan.jsonl", [{"text": "b"}])
        # A job that died mid-staging left rows behind.
        begin_write(session)
        dead = Job(project_id=project.id, kind="import", status=JobStatus.RUNNING)
        session.add(dead)
        session.flush()
        session.add(ImportRow(job_id=dead.id, line=1, text="t", content_hash="h", meta={}))
        session.commit()

        worker = RetrainWorker(session_factory, data_dir=data, poll_seconds=60)
        worker.start()
        worker.stop()

        assert not crashed.exists() and not orphan.exists()
        assert _counts(session, project.id)[2] == 0
        session.refresh(dead)
        assert dead.status is JobStatus.FAILED

    def test_the_file_of_a_queued_job_survives_the_clean_up(
        self, session, session_factory, project, tmp_path
    ):
        waiting = _upload(tmp_path, "waiting.jsonl", [{"text": "a"}])
        import_jobs.queue_import(session, project_id=project.id, path=waiting)
        import_jobs.recover_imports(session_factory, tmp_path / "data")
        assert waiting.exists()

    def test_the_server_removes_partial_uploads_at_start(self, database_url, tmp_path):
        from fastapi.testclient import TestClient

        from labelwise.server.app import create_app
        from labelwise.settings import Settings

        crashed = tmp_path / "data" / "imports" / f"x{import_jobs.PARTIAL_SUFFIX}"
        crashed.mkdir(parents=True)
        legacy = tmp_path / "data" / "uploads" / "tmpabc"  # an older version's scratch folder
        legacy.mkdir(parents=True)
        settings = Settings(database_url=database_url, data_dir=tmp_path / "data", run_worker=False)
        with TestClient(create_app(settings)):
            assert not crashed.exists() and not legacy.exists()


class TestLabelsForTextsAlreadyInThePool:
    def test_labels_attach_to_existing_items_with_their_source(
        self, session, project, owner, tmp_path
    ):
        first = tmp_path / "a.jsonl"
        first.write_bytes(_jsonl([{"text": "set a timer"}, {"text": "send money"}]))
        import_items(session, project_id=project.id, path=first)
        labeled = tmp_path / "b.jsonl"
        labeled.write_bytes(
            _jsonl(
                [
                    {"text": "Set a  TIMER", "label": "timer"},
                    {"text": "send money", "label": "transfer"},
                    {"text": "translate this", "label": "translate"},
                ]
            )
        )
        report = import_items(
            session, project_id=project.id, path=labeled, user=owner, source=LabelSource.MODEL
        )
        assert (report.added, report.duplicates, report.labeled, report.attached) == (1, 2, 1, 2)
        assert report.notes == [
            "2 labels attached to items already in the project (as new model annotations)"
        ]
        stored = session.execute(
            select(Item.text, Annotation.value, Annotation.source, Annotation.annotator_id)
            .join(Item, Item.id == Annotation.item_id)
            .order_by(Item.position)
        ).all()
        assert [tuple(r) for r in stored] == [
            ("set a timer", "timer", LabelSource.MODEL, owner.id),
            ("send money", "transfer", LabelSource.MODEL, owner.id),
            ("translate this", "translate", LabelSource.MODEL, owner.id),
        ]
        # The same file again adds nothing, and says why.
        again = import_items(session, project_id=project.id, path=labeled, source=LabelSource.MODEL)
        assert (again.added, again.labeled, again.attached) == (0, 0, 0)
        assert again.notes == [
            "3 labels left out: the item already had that label from the same source (model)"
        ]
        assert session.scalar(select(func.count(Annotation.id))) == 3

    def test_a_repeated_text_in_one_file_adds_its_other_label(self, session, project, tmp_path):
        path = tmp_path / "a.jsonl"
        path.write_bytes(
            _jsonl(
                [
                    {"text": "move money", "label": "transfer"},
                    {"text": "move money", "label": "transfer"},
                    {"text": "move money", "label": "timer"},
                ]
            )
        )
        report = import_items(session, project_id=project.id, path=path)
        assert (report.added, report.duplicates, report.labeled, report.attached) == (1, 2, 1, 1)
        values = session.scalars(select(Annotation.value).order_by(Annotation.id)).all()
        assert values == ["transfer", "timer"]

    def test_labels_for_held_out_items_are_left_out_loudly(self, session, project, tmp_path):
        held_out = tmp_path / "eval.jsonl"
        held_out.write_bytes(_jsonl([{"text": "gold one", "label": "timer"}]))
        import_items(session, project_id=project.id, path=held_out, evaluation=True)
        path = tmp_path / "b.jsonl"
        path.write_bytes(_jsonl([{"text": "gold one", "label": "transfer"}]))
        report = import_items(session, project_id=project.id, path=path)
        assert (report.added, report.attached) == (0, 0)
        assert report.notes == [
            "1 label left out: the text is a held-out evaluation item, which is never trained on"
        ]
        assert session.scalar(select(func.count(Annotation.id))) == 0

    def test_an_evaluation_row_already_in_the_pool_is_left_out_loudly(
        self, session, project, tmp_path
    ):
        pool = tmp_path / "a.jsonl"
        pool.write_bytes(_jsonl([{"text": "in the pool"}]))
        import_items(session, project_id=project.id, path=pool)
        path = tmp_path / "eval.jsonl"
        path.write_bytes(_jsonl([{"text": "in the pool", "label": "timer"}]))
        report = import_items(session, project_id=project.id, path=path, evaluation=True)
        assert (report.added, report.duplicates) == (0, 1)
        assert report.notes == [
            "1 row left out: the text is already in the project, and an evaluation item "
            "must be new (its label was not kept)"
        ]


def test_the_inline_import_reports_progress_and_leaves_a_done_job(session, project, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(_jsonl([{"text": f"t {i}"} for i in range(3)]))
    phases: list[str] = []
    import_items(
        session, project_id=project.id, path=path, on_progress=lambda p: phases.append(p["phase"])
    )
    assert phases[0] == "reading" and phases[-2:] == ["publishing", "done"]
    job = session.scalars(select(Job).where(Job.kind == "import")).one()
    assert job.status is JobStatus.DONE and job.progress["report"]["added"] == 3
