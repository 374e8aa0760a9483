"""What a failed job says, and to whom (service/job_errors.py)."""

from __future__ import annotations

from labelwise.service import importing, job_errors, projects, users
from labelwise.service.transactions import begin_write
from labelwise.store import Job, JobStatus


def test_the_detail_is_one_line_without_a_traceback_and_bounded():
    assert job_errors.failure_detail(ValueError("bad\n  value\tthere")) == (
        "ValueError: bad value there"
    )
    assert job_errors.failure_detail(MemoryError()) == "MemoryError"
    long = job_errors.failure_detail(RuntimeError("x" * 10_000))
    assert len(long) == job_errors.MAX_DETAIL_CHARS and long.endswith("…")


def test_a_failed_import_tells_members_one_line_and_keeps_the_detail_for_admins(session):
    owner = users.create_user(session, username="owner", password="owner-password")
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    job = Job(project_id=project.id, kind=importing.IMPORT_KIND, status=JobStatus.RUNNING)
    begin_write(session)
    session.add(job)
    session.commit()
    disk_full = OSError(28, "No space left on device", "/srv/labelwise/staging/upload.jsonl")
    importing.fail_import_job(session, job_id=job.id, error=disk_full)
    session.refresh(job)
    assert job.status is JobStatus.FAILED
    assert job.error == job_errors.failure_message("The import")
    assert "/srv" not in job.error
    assert job_errors.job_detail(job) == (
        "OSError: [Errno 28] No space left on device: '/srv/labelwise/staging/upload.jsonl'"
    )
