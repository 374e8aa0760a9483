"""The one error body every failing request returns."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    """What went wrong.

    ``file``/``line``/``field`` locate bad input; ``errors`` lists each problem (bad
    request fields, or bad rows of an import, of which there were ``n_errors`` in all).
    """

    type: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    n_errors: int | None = None
    errors: list[dict[str, Any]] | None = None


def public_file_name(file: str | None) -> str | None:
    """A server-side path as the client knows the file: its name alone."""
    return None if file is None else PurePath(file).name


class ErrorBody(BaseModel):
    error: ErrorDetail


# Documented on every route; the handlers in ``labelwise.server.errors`` produce them.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "A body that could not be parsed (not UTF-8, or a broken form)"),
        (401, "Missing, unknown or revoked token"),
        (403, "The caller lacks the role this needs"),
        (404, "Not found, or not visible to the caller"),
        (409, "Clashes with stored state"),
        (
            422,
            "Invalid request or input: a missing or malformed field, a string with a NUL "
            "character, an id outside 1..2**31-1, an offset beyond 2**63-1",
        ),
        (503, "The server is saturated; retry after the Retry-After header's seconds"),
    ]
}
