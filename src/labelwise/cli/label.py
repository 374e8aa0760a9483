"""``labelwise label``: label a project's queue in the terminal, and ``labelwise retrain``."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, database_url, open_session, resolve_project
from labelwise.cli.errors import reporting_errors
from labelwise.service import queue, training, users
from labelwise.service.queue import ServedItem
from labelwise.settings import Settings
from labelwise.store import Project, User, make_engine, make_session_factory

HELP = (
    "[dim]1-9 pick a suggestion · Enter = first suggestion · a label name (or a unique "
    "prefix) · s skip · f flag · u undo · q quit[/dim]"
)


def _show(console: Console, served: ServedItem) -> None:
    version = "no model yet" if served.model_version is None else f"model v{served.model_version}"
    score = "" if served.score is None else f", score {served.score:.3f}"
    console.rule(f"[dim]why this item: {escape(served.strategy)}{score} ({version})[/dim]")
    console.print(f"[bold]{escape(served.text)}[/bold]")
    for i, (label, p) in enumerate(served.suggestions[:9], start=1):
        console.print(f"  [cyan]{i}[/cyan] {escape(label)}  [dim]{p:.0%}[/dim]")


def resolve_answer(answer: str, served: ServedItem, labels: list[str]) -> str | None:
    """The label an answer names: a suggestion number, Enter for the first, a (prefix of a) name."""
    answer = answer.strip()
    if not answer:
        return served.suggestions[0][0] if served.suggestions else None
    if answer.isdigit() and 1 <= int(answer) <= len(served.suggestions):
        return served.suggestions[int(answer) - 1][0]
    if answer in labels:
        return answer
    matches = [label for label in labels if label.startswith(answer)]
    return matches[0] if len(matches) == 1 else None


def label(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    user: Annotated[str, typer.Option(help="Who is labeling.")],
    db: DatabaseOption = None,
    worker: Annotated[
        bool,
        typer.Option("--worker/--no-worker", help="Retrain in the background while you label."),
    ] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Model artifacts.")] = None,
) -> None:
    """Label items one at a time from the active-learning queue, in the terminal."""
    console = make_console()
    url = database_url(db)
    engine = make_engine(url)
    background = None
    if worker:
        background = training.RetrainWorker(
            make_session_factory(engine), data_dir=data_dir or Settings().data_dir
        )
        background.start()
    try:
        with reporting_errors(), open_session(url) as session:
            found = resolve_project(session, project)
            annotator = users.get_user(session, username=user)
            console.print(HELP)
            _label_loop(console, session, found, annotator)
    finally:
        if background is not None:
            background.stop()
        engine.dispose()


def _label_loop(console: Console, session: Session, project: Project, annotator: User) -> None:
    done = 0
    while True:
        served = queue.lease_next(session, project_id=project.id, annotator=annotator)
        if served is None:
            console.print("Nothing left to label in this project.")
            return
        _show(console, served)
        started = time.monotonic()
        while True:
            answer = typer.prompt("label", default="", show_default=False)
            if answer == "q":
                console.print(f"{done} decisions this session.")
                return
            if answer == "u":
                undone = queue.undo_annotation(session, project_id=project.id, annotator=annotator)
                console.print(f"[yellow]undone[/yellow] decision on item {undone.item_id}")
                continue
            if not _decide(console, session, project, annotator, served, answer, started):
                continue
            done += 1
            break


def _decide(
    console: Console,
    session: Session,
    project: Project,
    annotator: User,
    served: ServedItem,
    answer: str,
    started: float,
) -> bool:
    """Store the decision an answer means; False when the answer names no single label."""
    key = str(uuid.uuid4())
    if answer == "s":
        queue.skip_item(
            session,
            project_id=project.id,
            annotator=annotator,
            item_id=served.item_id,
            client_key=key,
        )
        return True
    if answer == "f":
        comment = typer.prompt("comment", default="")
        queue.flag_item(
            session,
            project_id=project.id,
            annotator=annotator,
            item_id=served.item_id,
            comment=comment,
            client_key=key,
        )
        return True
    value = resolve_answer(answer, served, project.labels)
    if value is None:
        console.print(f"[red]no single label matches {escape(answer)!r}[/red]")
        return False
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=annotator,
        item_id=served.item_id,
        value=value,
        client_key=key,
        seconds_spent=time.monotonic() - started,
    )
    console.print(f"[green]✓[/green] {escape(value)}")
    return True


def retrain(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    db: DatabaseOption = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Train here and now, and report.")
    ] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Model artifacts.")] = None,
) -> None:
    """Queue a retrain (a running server's worker picks it up), or with --wait run it here."""
    console = make_console()
    url = database_url(db)
    with reporting_errors():
        with open_session(url) as session:
            found = resolve_project(session, project)
            job = training.request_retrain(session, project_id=found.id)
        console.print(f"retrain job {job.id} queued for {found.name}")
        if not wait:
            return
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            training.RetrainWorker(factory, data_dir=data_dir or Settings().data_dir).run_pending()
            with factory() as session:
                finished = training.list_jobs(session, project_id=found.id)[0]
                versions = training.list_model_versions(session, project_id=found.id)
        finally:
            engine.dispose()
    if finished.status.value == "failed" or (finished.error and not versions):
        console.print(f"job {finished.id}: {finished.status.value}: {escape(finished.error or '')}")
        raise typer.Exit(code=1)
    latest = versions[-1]
    console.print(
        f"model v{latest.version}: {latest.label_count} labels, "
        + ", ".join(f"{k} {v}" for k, v in latest.metrics.items() if not isinstance(v, list))
    )
