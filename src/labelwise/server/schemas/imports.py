"""What an import did, and how far a queued import job has got."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime
from labelwise.store import JobStatus


class ImportReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    file: str
    rows: int
    added: int
    duplicates: int
    labeled: int
    skipped: list[dict[str, Any]]
    evaluation: bool
    attached: int = 0
    notes: list[str] = []


class ImportProgressOut(BaseModel):
    """``phase``: queued, reading, publishing, done or failed.

    ``rows_published`` counts staged rows moved into the project so far (the publish runs
    in short batches); ``note`` says what got in when a publish failed part-way.
    """

    phase: str = "queued"
    file: str | None = None
    rows_read: int = 0
    rows_staged: int = 0
    rows_published: int = 0
    bytes_total: int = 0
    n_errors: int = 0
    note: str | None = None


class ImportJobOut(BaseModel):
    """An import job: its status and progress; ``report`` once done, ``errors`` if failed.

    ``errors`` lists the first bad rows (file, line, field, message); ``n_errors`` in the
    progress counts them all. A failed import stored nothing.
    """

    id: int
    project_id: int
    status: JobStatus
    progress: ImportProgressOut
    report: ImportReportOut | None = None
    errors: list[dict[str, Any]] = []
    error: str | None = None
    created_at: UtcDateTime
    started_at: UtcDateTime | None = None
    finished_at: UtcDateTime | None = None
