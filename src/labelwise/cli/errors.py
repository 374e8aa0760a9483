"""How a command reports a refusal: the error's location on stderr, then exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from labelwise.cli.console import make_error_console
from labelwise.exceptions import LabelwiseError

if TYPE_CHECKING:
    from labelwise.service.importing import ImportFailedError

#: Row errors printed for a failed import; the rest are counted.
SHOWN_ERRORS = 20


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn domain and database errors into a message and ``typer.Exit(code=2)``."""
    try:
        yield
    except LabelwiseError as exc:
        # Imported on the error path only: not worth loading for every command.
        from labelwise.service.importing import ImportFailedError

        if isinstance(exc, ImportFailedError):
            _print_failed_import(exc)
        else:
            # soft_wrap: a path or a command in the message stays one copyable line.
            make_error_console().print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    except Exception as exc:
        # Only a database error becomes a message; SQLAlchemy is imported when one may be.
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        reason = str(getattr(exc, "orig", None) or exc).strip()
        make_error_console().print(
            f"[red]database error:[/red] {escape(reason.splitlines()[0] if reason else '')}\n"
            "Is the database reachable, and created with `labelwise init`?"
        )
        raise typer.Exit(code=2) from None


def _print_failed_import(exc: ImportFailedError) -> None:
    err = make_error_console()
    err.print(
        f"[red]error:[/red] {escape(str(exc.file))}: {plural(exc.n_errors, 'bad row')}; "
        "nothing was imported"
    )
    for row in exc.errors[:SHOWN_ERRORS]:
        err.print(f"  {escape(_location(row.line, row.field))}: {escape(row.message)}")
    if exc.n_errors > SHOWN_ERRORS:
        err.print(
            f"  ... and {exc.n_errors - SHOWN_ERRORS:,} more; --skip-bad-rows imports the rest"
        )


def plural(n: int, noun: str) -> str:
    """``1 bad row``, ``2 bad rows``: a count with its noun."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _location(line: int | None, field: str | None) -> str:
    parts = [f"line {line}" if line is not None else "file"]
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)
