"""An import's publish: short batched write transactions, resumed after a crash, all rows.

The writer lock of SQLite is held for one batch of ``PUBLISH_BATCH`` staged rows at a
time (annotators' writes interleave), and a worker killed mid-publish finishes the
import when it starts again: the outcome is still all of the file's rows or none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from labelwise.service import import_jobs, importing, projects, users
from labelwise.service.import_jobs import recover_imports
from labelwise.service.importing import import_items
from labelwise.service.training import RetrainWorker
from labelwise.service.transactions import begin_write
from labelwise.store import Annotation, Event, ImportRow, Item, Job, JobStatus, Project, User


class _Killed(BaseException):
    """Stands in for the worker's process dying: no handler of the service runs."""


@pytest.fixture
def owner(session: Session) -> User:
    return users.create_user(session, username="owner", password="owner-password")


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return projects.create_project(
        session, name="intents", labels=["translate", "transfer", "timer"], owner=owner
    )


def _rows(n: int) -> list[dict[str, Any]]:
    # Every third row labeled; rows 20 and 21 repeat earlier texts (their labels attach).
    rows: list[dict[str, Any]] = [
        {"text": f"row {i}", "label": "timer" if i % 3 == 0 else None} for i in range(n)
    ]
    rows[20] = {"text": "ROW 1", "label": "transfer"}
    rows[21] = {"text": "row 2", "label": "translate"}
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _counts(session_factory: sessionmaker[Session], project_id: int) -> tuple[int, int, int]:
    with session_factory() as other:
        items = other.scalar(select(func.count()).where(Item.project_id == project_id)) or 0
        labels = other.scalar(select(func.count()).where(Annotation.project_id == project_id)) or 0
        staged = other.scalar(select(func.count()).select_from(ImportRow)) or 0
        other.rollback()
    return items, labels, staged


def _restart(session_factory: sessionmaker[Session], data_dir: Path) -> RetrainWorker:
    """What ``RetrainWorker.start`` does before its thread runs, then one pass of jobs."""
    worker = RetrainWorker(session_factory, data_dir=data_dir)
    worker.fail_interrupted()
    recover_imports(session_factory, data_dir)
    worker.run_pending()
    return worker


def _check_whole_file(session: Session, project_id: int, n: int) -> None:
    session.rollback()
    positions = session.scalars(
        select(Item.position).where(Item.project_id == project_id).order_by(Item.position)
    ).all()
    assert positions == list(range(n - 2))  # dense, every new text once
    labeled = session.scalars(
        select(Item.text)
        .join(Annotation, Annotation.item_id == Item.id)
        .where(Item.project_id == project_id)
        .order_by(Annotation.id)
    ).all()
    # Labels of the new items, then (same batch or later) the duplicates' attached ones.
    assert sorted(labeled) == sorted(
        [f"row {i}" for i in range(n) if i % 3 == 0 and i not in (20, 21)] + ["row 1", "row 2"]
    )
    session.rollback()


def test_the_publish_is_many_short_write_transactions_each_bounded_in_rows(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # raising=False: on code without batches the test fails on what it sees, not here.
    monkeypatch.setattr(importing, "PUBLISH_BATCH", 4, raising=False)
    path = _write(tmp_path / "rows.jsonl", _rows(30))
    # After each publishing step another session sees what that step committed.
    steps: list[tuple[int, int, int]] = []

    def watch(progress: dict[str, Any]) -> None:
        if progress["phase"] == "publishing":
            steps.append(_counts(session_factory, project.id))

    report = import_items(session, project_id=project.id, path=path, on_progress=watch)

    assert (report.rows, report.added, report.duplicates) == (30, 28, 2)
    assert (report.labeled, report.attached) == (9, 2)
    # The first step is the phase change (nothing published yet); then one step per batch
    # of at most four staged rows, each committed before the next began.
    assert steps[0] == (0, 0, 30)
    batches = steps[1:]
    assert len(batches) == 8  # ceil(30 / 4)
    staged_left = [30] + [staged for _, _, staged in batches]
    assert all(0 < a - b <= 4 for a, b in zip(staged_left, staged_left[1:], strict=False))
    items = [0] + [n_items for n_items, _, _ in batches]
    assert all(0 <= b - a <= 4 for a, b in zip(items, items[1:], strict=False))
    assert batches[-1] == (28, 11, 0)
    _check_whole_file(session, project.id, 30)
    events = session.scalars(select(Event).where(Event.kind == "import")).all()
    assert len(events) == 1 and events[0].payload["added"] == 28
    assert events[0].payload["first_position"] == 0


@pytest.mark.parametrize("killed_at", [1, 3])
def test_a_worker_killed_mid_publish_finishes_the_whole_import_when_it_starts_again(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    owner: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    killed_at: int,
) -> None:
    monkeypatch.setattr(importing, "PUBLISH_BATCH", 5)
    data_dir = tmp_path / "data"
    path = _write(data_dir / "imports" / "tok" / "rows.jsonl", _rows(23))
    # Already in the pool: row 18's label attaches to it, the item is not added again.
    import_items(
        session, project_id=project.id, path=_write(tmp_path / "a.jsonl", [{"text": "row 18"}])
    )
    job = import_jobs.queue_import(session, project_id=project.id, path=path, user=owner)

    real = importing._publish_batch
    calls = 0

    def dies(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == killed_at:
            raise _Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "_publish_batch", dies)
    # A dead process runs no handler: the job is left as the kill found it.
    monkeypatch.setattr(importing, "_publish_stopped", lambda *_args, **_kwargs: None)
    with pytest.raises(_Killed):
        RetrainWorker(session_factory, data_dir=data_dir).run_pending()
    session.rollback()
    stopped = session.get_one(Job, job.id, populate_existing=True)
    assert stopped.status is JobStatus.RUNNING and stopped.progress["phase"] == "publishing"
    items, _, staged = _counts(session_factory, project.id)
    assert items == 1 + 5 * (killed_at - 1) and staged == 23 - 5 * (killed_at - 1)
    monkeypatch.undo()
    monkeypatch.setattr(importing, "PUBLISH_BATCH", 5)

    _restart(session_factory, data_dir)

    session.rollback()
    done = session.get_one(Job, job.id, populate_existing=True)
    assert done.status is JobStatus.DONE, done.error
    report = done.progress["report"]
    # The report covers the whole file, the batches before the kill included.
    assert (report["rows"], report["added"], report["duplicates"]) == (23, 20, 3)
    assert (report["labeled"], report["attached"]) == (6, 3)
    positions = session.scalars(
        select(Item.position).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    assert positions == list(range(21))
    assert _counts(session_factory, project.id) == (21, 9, 0)
    kinds = session.scalars(select(Event.kind).where(Event.kind.like("import%"))).all()
    assert sorted(kinds) == ["import", "import", "import_resumed"]
    session.rollback()


def test_a_database_error_mid_publish_queues_the_job_and_the_worker_finishes_it(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "PUBLISH_BATCH", 5)
    data_dir = tmp_path / "data"
    path = _write(data_dir / "imports" / "tok" / "rows.jsonl", _rows(23))
    job = import_jobs.queue_import(session, project_id=project.id, path=path)
    real = importing._publish_batch
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "_publish_batch", flaky)
    RetrainWorker(session_factory, data_dir=data_dir).run_pending()
    session.rollback()
    done = session.get_one(Job, job.id, populate_existing=True)
    assert done.status is JobStatus.DONE and done.progress["report"]["added"] == 21
    assert done.progress["publish_attempts"] == 1
    _check_whole_file(session, project.id, 23)


def test_a_publish_that_keeps_failing_ends_failed_and_says_what_got_in(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "PUBLISH_BATCH", 5)
    data_dir = tmp_path / "data"
    path = _write(data_dir / "imports" / "tok" / "rows.jsonl", _rows(23))
    job = import_jobs.queue_import(session, project_id=project.id, path=path)
    real = importing._publish_batch
    calls = 0

    def broken(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "_publish_batch", broken)
    RetrainWorker(session_factory, data_dir=data_dir).run_pending()
    session.rollback()
    failed = session.get_one(Job, job.id, populate_existing=True)
    assert failed.status is JobStatus.FAILED and calls == 1 + importing.PUBLISH_ATTEMPTS
    assert "5 new items of the file are in the project" in failed.progress["note"]
    assert _counts(session_factory, project.id)[2] == 0  # the staged rest is removed


def test_an_import_interrupted_before_its_publish_fails_as_an_import(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    path = _write(data_dir / "imports" / "tok" / "rows.jsonl", _rows(23))
    job = import_jobs.queue_import(session, project_id=project.id, path=path)
    begin_write(session)
    running = session.get_one(Job, job.id)
    running.status = JobStatus.RUNNING
    running.progress = {**running.progress, "phase": "reading"}
    session.commit()

    assert RetrainWorker(session_factory, data_dir=data_dir).fail_interrupted() == 1

    session.rollback()
    failed = session.get_one(Job, job.id, populate_existing=True)
    assert failed.status is JobStatus.FAILED and failed.progress["phase"] == "failed"
    kinds = session.scalars(select(Event.kind).where(Event.kind.like("%_failed"))).all()
    assert kinds == ["import_failed"]
    session.rollback()


def test_a_server_worker_does_not_claim_the_clis_inline_import(
    session: Session,
    session_factory: sessionmaker[Session],
    project: Project,
    tmp_path: Path,
) -> None:
    worker = RetrainWorker(session_factory, data_dir=tmp_path / "data")
    claimed: list[int | None] = []

    def meanwhile(progress: dict[str, Any]) -> None:
        if progress["phase"] == "reading" and not claimed:
            claimed.append(worker._claim())

    path = _write(tmp_path / "rows.jsonl", _rows(23))
    report = import_items(session, project_id=project.id, path=path, on_progress=meanwhile)
    assert claimed == [None]
    assert report.added == 21
    _check_whole_file(session, project.id, 23)
