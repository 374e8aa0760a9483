"""``labelwise import`` and ``labelwise export``: items in, labels out; and
``labelwise export-model``: a trained model out, for use without the server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, open_session, resolve_project
from labelwise.cli.errors import SHOWN_ERRORS, reporting_errors
from labelwise.data import LabelSource
from labelwise.exceptions import InputError

if TYPE_CHECKING:
    from labelwise.service.importing import ImportReport


def import_file(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    file: Annotated[Path, typer.Argument(help=".jsonl, .csv or .parquet", dir_okay=False)],
    text_field: Annotated[str, typer.Option(help="Text column / key.")] = "text",
    label_field: Annotated[str, typer.Option(help="Label column / key (optional).")] = "label",
    skip_bad_rows: Annotated[
        bool,
        typer.Option("--skip-bad-rows", help="Import the good rows and list the bad ones."),
    ] = False,
    source: Annotated[
        LabelSource, typer.Option(help="Who produced the file's labels.")
    ] = LabelSource.HUMAN,
    user: Annotated[
        str | None, typer.Option(help="Record this user as the labels' annotator.")
    ] = None,
    evaluation: Annotated[
        bool,
        typer.Option(
            "--evaluation",
            help="A held-out evaluation set: every row labeled, never served or trained on; "
            "every model version is scored on it (the dashboard's learning curve).",
        ),
    ] = False,
    db: DatabaseOption = None,
) -> None:
    """Add a file's rows as items (and its labels as annotations): all of them, or none."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from labelwise.service import users
    from labelwise.service.importing import import_items

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=make_console(),
        transient=True,
    )
    task = progress.add_task(f"reading {escape(file.name)}", total=None)

    def show(state: dict[str, Any]) -> None:
        bad = state.get("n_errors", 0)
        progress.update(
            task,
            description=f"{state['phase']} {escape(file.name)}: {state['rows_read']:,} rows read"
            + (f", {bad:,} bad" if bad else ""),
        )

    with reporting_errors(), open_session(db) as session, progress:
        found = resolve_project(session, project)
        annotator = None if user is None else users.get_user(session, username=user)
        report = import_items(
            session,
            project_id=found.id,
            path=file,
            user=annotator,
            text_field=text_field,
            label_field=label_field,
            on_error="skip" if skip_bad_rows else "abort",
            source=source,
            evaluation=evaluation,
            on_progress=show,
        )
    render_report(report)


def render_report(report: ImportReport) -> None:
    console = make_console()
    role = " (held-out evaluation set)" if report.evaluation else ""
    table = Table(title=f"import of {report.file}{role}")
    for column in ("rows", "added", "duplicates", "labeled", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(
        *(f"{n:,}" for n in (report.rows, report.added, report.duplicates, report.labeled)),
        f"{len(report.skipped):,}",
    )
    console.print(table)
    if report.attached:
        console.print(f"  attached to existing items: {report.attached:,}")
    for note in report.notes:
        console.print(f"  {escape(note)}")
    for row in report.skipped[:SHOWN_ERRORS]:
        where = f"line {row['line']}" + (f", field {row['field']!r}" if row["field"] else "")
        console.print(f"  skipped {escape(where)}: {escape(row['message'])}")
    if len(report.skipped) > SHOWN_ERRORS:
        console.print(f"  ... and {len(report.skipped) - SHOWN_ERRORS:,} more skipped rows")


def export(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    file: Annotated[Path, typer.Argument(help=".jsonl, .csv or .parquet", dir_okay=False)],
    include_undone: Annotated[
        bool, typer.Option("--include-undone", help="Also undone labels, with undone_at.")
    ] = False,
    with_skips_and_flags: Annotated[
        bool,
        typer.Option(
            "--with-skips-and-flags",
            help="Also skips and flags as rows, with kind and comment columns "
            "(--include skips,flags).",
        ),
    ] = False,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            metavar="<names>",
            help="More rows, comma-separated or repeated: skips, flags (decisions, with "
            "kind and comment), rules (each labeling function vote, source rule, with the "
            "function's name, version and whether it is enabled).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Span projects' training data, one example per labeled item: 'spans' "
            "(JSONL with character spans, for spaCy / Argilla), 'conll' (token<TAB>tag "
            "lines) or 'rasa' (Rasa NLU YAML, intents and entities). Default: from the "
            "suffix (.conll, .yml/.yaml), else one row per label.",
        ),
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Write a project's labels, one row per label with its provenance (or, with
    --format, a span project's labeled items as training data)."""
    from labelwise.service.exports import export_labels
    from labelwise.service.span_exports import (
        EXAMPLE_FORMATS,
        SUFFIX_FORMATS,
        ExampleFormat,
        export_examples,
    )

    included = [*(include or ()), *(["skips,flags"] if with_skips_and_flags else [])]
    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        fmt = file_format or SUFFIX_FORMATS.get(file.suffix.lower())
        if fmt is not None:
            if fmt not in EXAMPLE_FORMATS:
                raise InputError(
                    f"unknown format {fmt!r}; use one of {list(EXAMPLE_FORMATS)}", field="format"
                )
            done = export_examples(
                session,
                project_id=found.id,
                path=file,
                fmt=cast("ExampleFormat", fmt),
                overwrite=force,
            )
            skipped = f" ({done.left_out:,} left out: not representable)" if done.left_out else ""
            make_console().print(
                f"wrote {done.written:,} examples to {escape(str(file))}{escape(skipped)}"
            )
            return
        count = export_labels(
            session,
            project_id=found.id,
            path=file,
            include_undone=include_undone,
            include=included,
            overwrite=force,
        )
    what = "rows" if included else "labels"
    make_console().print(f"wrote {count:,} {what} to {escape(str(file))}")


def export_model(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    directory: Annotated[
        Path, typer.Argument(help="Folder to write (created when missing).", file_okay=False)
    ],
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            min=1,
            help="Model version [default: the one in production, else the newest].",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a model already in the folder.")
    ] = False,
    db: DatabaseOption = None,
) -> None:
    """Write a trained model (weights .npz, schema, featurizer; no pickle) that
    labelwise.load_model(DIR).predict_proba(texts) loads without the server."""
    from labelwise.service.model_versions import export_model as write_model

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        exported = write_model(
            session, project_id=found.id, directory=directory, version=version, overwrite=force
        )
    which = " (production)" if exported.production else ""
    console = make_console()
    console.print(
        f"wrote model v{exported.version}{which} of {escape(found.name)} to "
        f"{escape(str(directory))}",
        soft_wrap=True,
    )
    console.print(
        f"  load it with: labelwise.load_model({escape(repr(str(directory)))})", soft_wrap=True
    )
