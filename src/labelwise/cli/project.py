"""``labelwise project``: create projects, add members; ``labelwise status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, open_session, resolve_project
from labelwise.cli.errors import reporting_errors
from labelwise.exceptions import InputError
from labelwise.store.enums import Role, TaskType

app = typer.Typer(no_args_is_help=True, help="Create projects and manage their members.")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A unique project name.")],
    owner: Annotated[str, typer.Option(help="The user who becomes the project's admin.")],
    labels: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated label names (the intents of an intents_entities project; "
            "the entity types of a spans project, or give those with --entity-types)."
        ),
    ] = None,
    labels_file: Annotated[
        Path | None,
        typer.Option(help="Label names, one a line (or a .json list).", dir_okay=False),
    ] = None,
    multi_label: Annotated[
        bool, typer.Option("--multi-label", help="Items may take several labels.")
    ] = False,
    task: Annotated[
        TaskType | None,
        typer.Option(
            help="What a label is: single_label (default), multi_label (as --multi-label), "
            "spans (entity spans) or intents_entities (an intent plus entity spans)."
        ),
    ] = None,
    entity_types: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated entity types (spans and intents_entities projects; no "
            "spaces inside a type)."
        ),
    ] = None,
    strategy: Annotated[str | None, typer.Option(help="Query strategy [default: margin].")] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="'tfidf', 'minilm' or 'minilm+tfidf' (both side by side) [default: "
            "minilm+tfidf, tfidf for spans projects or without the embeddings extra]."
        ),
    ] = None,
    retrain_every: Annotated[
        int | None, typer.Option(help="New labels between retrains [default: 20].")
    ] = None,
    audit_share: Annotated[
        float | None,
        typer.Option(
            help="Share of items served from a random audit sample, never trained on, "
            "for an unbiased accuracy; 0 turns it off [default: 0.1].",
            min=0.0,
            max=0.5,
        ),
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Create a labeling project."""
    from labelwise.service import projects, users

    with reporting_errors():
        kind = _task(task, multi_label=multi_label)
        types = _split(entity_types)
        # A spans project's labels are its entity types: either option may give them.
        spans_by_types = (
            kind is TaskType.SPANS and bool(types) and labels is None and labels_file is None
        )
        names = [] if spans_by_types else _label_names(labels, labels_file)
        chosen = {
            "strategy": strategy,
            "features": features,
            "retrain_every": retrain_every,
            "audit_fraction": audit_share,
        }
        settings: dict[str, Any] = {k: v for k, v in chosen.items() if v is not None}
        with open_session(db) as session:
            user = users.get_user(session, username=owner)
            project = projects.create_project(
                session,
                name=name,
                labels=names,
                owner=user,
                task=kind,
                entity_types=types,
                settings=settings,
            )
    make_console().print(
        f"project {project.id} created: {project.name} ({len(project.labels)} labels, "
        f"{project.task.value}, strategy {project.settings['strategy']}, owner {owner})"
    )


def _task(task: TaskType | None, *, multi_label: bool) -> TaskType:
    if multi_label and task not in (None, TaskType.MULTI_LABEL):
        raise InputError(f"--multi-label contradicts --task {task}", field="task")
    if task is None:
        return TaskType.MULTI_LABEL if multi_label else TaskType.SINGLE_LABEL
    return task


def _split(names: str | None) -> list[str]:
    return [name.strip() for name in (names or "").split(",") if name.strip()]


def _label_names(labels: str | None, labels_file: Path | None) -> list[str]:
    if (labels is None) == (labels_file is None):
        raise InputError("give exactly one of --labels and --labels-file", field="labels")
    if labels_file is None:
        return _split(labels)
    try:
        text = labels_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the labels: {exc}", file=labels_file) from None
    if labels_file.suffix.lower() == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON: {exc.msg} at column {exc.colno}", file=labels_file, line=exc.lineno
            ) from None
        if not isinstance(loaded, list):
            raise InputError("expected a JSON list of label names", file=labels_file)
        return [str(name).strip() for name in loaded]
    return [line.strip() for line in text.splitlines() if line.strip()]


@app.command("add-member")
def add_member(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    user: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[Role, typer.Option(help="The member's role.")] = Role.ANNOTATOR,
    db: DatabaseOption = None,
) -> None:
    """Give a user a role in a project (changing an existing role)."""
    from labelwise.service import projects, users

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        member = users.get_user(session, username=user)
        projects.add_member(session, project_id=found.id, user=member, role=role)
        name = found.name
    make_console().print(f"{user} is now {role.value} of {name}")


def status(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    db: DatabaseOption = None,
) -> None:
    """Items, labels and models of a project, and whether active learning is helping."""
    from labelwise.service import learning_health, projects

    with reporting_errors(), open_session(db) as session:
        found = resolve_project(session, project)
        progress = projects.project_status(session, project_id=found.id)
        health = learning_health.learning_health(session, project_id=found.id)
    table = Table(title=f"{progress.name} (project {progress.project_id})", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    share = f" ({progress.labeled_items / progress.items:.1%})" if progress.items else ""
    table.add_row("items", f"{progress.items:,}")
    if progress.evaluation_items:
        table.add_row("evaluation items (held out)", f"{progress.evaluation_items:,}")
    table.add_row("labeled items", f"{progress.labeled_items:,}{share}")
    table.add_row("labels", f"{progress.annotations:,}")
    table.add_row("skipped", f"{progress.skipped:,}")
    table.add_row("flagged", f"{progress.flagged:,}")
    table.add_row(
        "model version",
        "none yet" if progress.model_version is None else str(progress.model_version),
    )
    for state, count in sorted(progress.jobs.items()):
        table.add_row(f"jobs {state}", f"{count:,}")
    console = make_console()
    console.print(table)
    # Plain text (the sentences are not markup), each on one line for grep and logs.
    if health.text is not None:
        console.print(f"Is active learning helping? {health.text}", markup=False, soft_wrap=True)
    for warning in health.signals.warnings:
        console.print(f"Warning: {warning}", markup=False, soft_wrap=True, style="yellow")
