"""How a failed background job is described: one line for everyone, the detail for admins.

``Job.error`` is shown to every project member (the job list, the CLI), so it holds a
fixed, path-free sentence. What went wrong (the exception's type and message, which may
name server paths or data) goes to ``Job.progress["detail"]``, which only project admins
see. The traceback goes to the log only: the worker logs it with ``logger.exception``.
"""

from __future__ import annotations

from typing import Any

from labelwise.store import Job

#: The key in ``Job.progress`` that holds the admins' detail of a failure.
DETAIL = "detail"
#: Longest detail kept: an exception's message can embed a whole input.
MAX_DETAIL_CHARS = 2000


def failure_message(what: str) -> str:
    """The one-line message every member sees, e.g. ``failure_message("Retraining")``."""
    return f"{what} failed on the server; a project admin can see why in the job's detail."


def failure_detail(exc: BaseException) -> str:
    """The exception's type and message on one line, without its traceback."""
    text = " ".join(str(exc).split())
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
    return detail


def record_failure(job: Job, exc: BaseException, *, what: str) -> None:
    """Set the job's member-facing error and its admin-facing detail (status is the caller's)."""
    job.error = failure_message(what)
    # A new dict, so the ORM sees the JSON column change.
    job.progress = {**(job.progress or {}), DETAIL: failure_detail(exc)}


def job_detail(job: Job) -> str | None:
    """The admins' detail of a failed job; None when there is none."""
    progress: dict[str, Any] = job.progress or {}
    detail = progress.get(DETAIL)
    return detail if isinstance(detail, str) else None
