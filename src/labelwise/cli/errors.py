"""How a command reports a refusal: the error's location on stderr, then exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from labelwise.cli.console import make_error_console
from labelwise.exceptions import LabelwiseError
from labelwise.service.importing import ImportFailedError

#: Row errors printed for a failed import; the rest are counted.
SHOWN_ERRORS = 20


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn domain and database errors into a message and ``typer.Exit(code=2)``."""
    try:
        yield
    except ImportFailedError as exc:
        err = make_error_console()
        err.print(
            f"[red]error:[/red] {escape(str(exc.file))}: {exc.n_errors:,} bad rows; nothing was imported"
        )
        for row in exc.errors[:SHOWN_ERRORS]:
            err.print(f"  {escape(_location(row.line, row.field))}: {escape(row.message)}")
        if exc.n_errors > SHOWN_ERRORS:
            err.print(
                f"  ... and {exc.n_errors - SHOWN_ERRORS:,} more; --skip-bad-rows imports the rest"
            )
        raise typer.Exit(code=2) from None
    except LabelwiseError as exc:
        make_error_console().print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        make_error_console().print(
            f"[red]database error:[/red] {escape(str(reason).strip())}\n"
            "Is the database reachable, and created with `labelwise init`?"
        )
        raise typer.Exit(code=2) from None


def _location(line: int | None, field: str | None) -> str:
    parts = [f"line {line}" if line is not None else "file"]
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)
