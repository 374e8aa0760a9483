"""``labelwise ingest``: production messages in from a JSONL file or standard input,
and ``labelwise service-tokens``: the credentials production bots send them with."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, open_session, resolve_project
from labelwise.cli.errors import SHOWN_ERRORS, reporting_errors
from labelwise.exceptions import InputError

if TYPE_CHECKING:
    from labelwise.service.traffic import IngestReport

#: Messages per transaction: large batches are fast; this keeps each under a second.
DEFAULT_BATCH = 2_000


def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _batches(
    stream: IO[str], size: int
) -> Iterator[tuple[list[Any], list[int], list[tuple[int, str]]]]:
    """Messages in batches of ``size``, each with its file lines and the unreadable lines."""
    messages: list[Any] = []
    lines: list[int] = []
    unreadable: list[tuple[int, str]] = []
    for number, line in _lines(stream):
        try:
            messages.append(json.loads(line))
            lines.append(number)
        except json.JSONDecodeError as exc:
            unreadable.append((number, f"not JSON ({exc.msg} at column {exc.colno})"))
        if len(messages) == size:
            yield messages, lines, unreadable
            messages, lines, unreadable = [], [], []
    if messages or unreadable:
        yield messages, lines, unreadable


def ingest(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    file: Annotated[
        str,
        typer.Argument(
            help='JSONL of messages ({"text": ..., "external_id": ..., "timestamp": ..., '
            '"conversation_id": ..., "channel": ..., "prediction": ..., '
            '"confidence": ..., "metadata": {...}}), or - for standard input.'
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=10_000, help="Messages per transaction.")
    ] = DEFAULT_BATCH,
    db: DatabaseOption = None,
) -> None:
    """Add production messages as the API does: a text seen before raises its count, an
    external id seen before is ignored, a bad line is reported (file, line, field) and the
    rest stored. Exits 1 when any line was refused."""
    from labelwise.service.traffic import IngestReport, MessageError, ingest_traffic

    source = "<stdin>" if file == "-" else file
    total = IngestReport()
    refused: list[tuple[int, str, str]] = []
    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        if file == "-":
            stream: IO[str] = sys.stdin
        else:
            path = Path(file)
            if not path.is_file():
                raise InputError("no such file", file=path)
            stream = path.open(encoding="utf-8")
        with stream, make_console().status(f"ingesting {escape(source)}") as status:
            for messages, lines, unreadable in _batches(stream, batch_size):
                refused.extend((line, "(line)", why) for line, why in unreadable)
                total.rejected += len(unreadable)
                if messages:
                    report = ingest_traffic(session, project_id=found.id, messages=messages)
                    errors: list[MessageError] = report.errors
                    refused.extend((lines[e.index], e.field, e.message) for e in errors)
                    report.errors = []
                    total.add(report)
                status.update(
                    f"ingesting {escape(source)}: {total.accepted:,} stored, "
                    f"{total.rejected:,} refused"
                )
    _render(total, refused, source)
    if refused:
        raise typer.Exit(1)


def _render(total: IngestReport, refused: list[tuple[int, str, str]], source: str) -> None:
    console = make_console()
    table = Table(title=f"ingest of {source}")
    columns = ("accepted", "new items", "repeats", "duplicate", "rejected")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        *(
            f"{n:,}"
            for n in (
                total.accepted,
                total.new_items,
                total.repeats,
                total.duplicate,
                total.rejected,
            )
        )
    )
    console.print(table)
    for line, field, message in sorted(refused)[:SHOWN_ERRORS]:
        console.print(f"  {escape(source)}, line {line}, field {field!r}: {escape(message)}")
    if len(refused) > SHOWN_ERRORS:
        console.print(f"  ... and {len(refused) - SHOWN_ERRORS:,} more refused lines")


tokens_app = typer.Typer(
    no_args_is_help=True,
    help="Service tokens: what a production bot sends to ingest, report feedback and predict.",
)


@tokens_app.command("create")
def create_token(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    name: Annotated[str, typer.Option(help="Which bot uses it.")],
    scope: Annotated[
        list[str], typer.Option(help="ingest, feedback or predict; repeat for several.")
    ],
    db: DatabaseOption = None,
) -> None:
    """Create a token and print its secret (shown this once)."""
    from labelwise.service import service_tokens

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        row, secret = service_tokens.create_service_token(
            session, project_id=found.id, name=name, scopes=scope, created_by_id=None
        )
    console = make_console()
    console.print(
        f"service token {row.id} ({escape(', '.join(row.scopes))}) for {escape(found.name)}:"
    )
    console.print(secret, markup=False, highlight=False)


@tokens_app.command("list")
def list_tokens(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    db: DatabaseOption = None,
) -> None:
    """The project's service tokens, revoked ones included."""
    from labelwise.service import service_tokens

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        rows = service_tokens.list_service_tokens(session, project_id=found.id)
    table = Table(title=f"service tokens of {found.name}")
    for column in ("id", "name", "scopes", "created", "last used", "revoked"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            escape(row.name),
            ", ".join(row.scopes),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            "-" if row.last_used_at is None else f"{row.last_used_at:%Y-%m-%d %H:%M}",
            "-" if row.revoked_at is None else f"{row.revoked_at:%Y-%m-%d %H:%M}",
        )
    make_console().print(table)


@tokens_app.command("revoke")
def revoke_token(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    token_id: Annotated[int, typer.Argument(help="The token's id (see list).")],
    db: DatabaseOption = None,
) -> None:
    """Revoke a token at once."""
    from labelwise.service import service_tokens

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        service_tokens.revoke_service_token(
            session, project_id=found.id, token_id=token_id, user_id=None
        )
    make_console().print(f"revoked service token {token_id}")
