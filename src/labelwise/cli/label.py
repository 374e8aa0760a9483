"""``labelwise label``: label a project's queue in the terminal, and ``labelwise retrain``.

In a terminal each decision is one keypress (no Enter); with piped input (scripts, tests)
each line is one answer, so the same keys work from a file.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, connect, resolve_project
from labelwise.cli.errors import plural, reporting_errors

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from labelwise.service.queue import ServedItem
    from labelwise.service.training import RetrainWorker
    from labelwise.store import Job, ModelVersion, Project, User

HELP = (
    "[dim]1-9 pick a suggestion · Enter = first suggestion · type a label name or a prefix "
    "(any case; / first when it starts with s, f, u, q or a digit) · s skip · f flag · "
    "u undo · ? keys · q quit[/dim]"
)
#: Single keys that are commands; any other printable key starts typing a label name.
COMMANDS = frozenset("sfuq?/")
_ESCAPE = "\x1b"


def match_labels(answer: str, served: ServedItem, labels: list[str]) -> list[str]:
    """The labels an answer may mean: one is a decision, none or several ask again.

    A suggestion number or Enter (the first suggestion) names one label; otherwise the
    answer is a label name or a prefix of one, in any case. An exact name wins over the
    longer names it is a prefix of (``transfer`` beside ``transfer_money``).
    """
    answer = answer.strip()
    if not answer:
        return [served.suggestions[0][0]] if served.suggestions else []
    if answer.isdigit():
        n = int(answer)
        return [served.suggestions[n - 1][0]] if 1 <= n <= len(served.suggestions) else []
    wanted = answer.casefold()
    exact = [label for label in labels if label.casefold() == wanted]
    if exact:
        return exact[:1]
    return [label for label in labels if label.casefold().startswith(wanted)]


class _Answers:
    """Reads answers: single keypresses on a terminal, whole lines otherwise."""

    def __init__(self, console: Console, *, keypress: bool | None = None) -> None:
        self.console = console
        self.keypress = _stdin_is_terminal() if keypress is None else keypress

    def answer(self) -> str | None:
        """One answer: a command key, a digit, "" (Enter) or a label name; None: cancelled."""
        if not self.keypress:
            return _read_line("label")
        self.console.print("[bold]label>[/bold] ", end="")
        key = _read_key()
        if key in ("\r", "\n"):
            self.console.print()
            return ""
        if key == _ESCAPE:
            self.console.print()
            return None
        if key == "/":
            return self._type_name("")
        if key.isdigit() or key in COMMANDS:
            self.console.print(escape(key))
            return key
        if key.isprintable():
            return self._type_name(key)
        self.console.print()
        return None

    def _type_name(self, typed: str) -> str | None:
        """Finish typing a label name in raw mode: Enter takes it, Esc cancels."""
        _echo(typed)
        while True:
            key = _read_key()
            if key in ("\r", "\n"):
                _echo("\n")
                # A leading "/" only says "a name follows"; never a command from here on.
                return typed if typed.strip() else None
            if key == _ESCAPE:
                _echo(" (cancelled)\n")
                return None
            if key in ("\x7f", "\b"):
                if typed:
                    typed = typed[:-1]
                    _echo("\b \b")
                continue
            if key.isprintable():
                typed += key
                _echo(key)

    def confirm(self, question: str) -> bool:
        """Yes only for y (a keypress, or a line starting with y)."""
        if not self.keypress:
            return (_read_line(f"{question} [y/N]") or "").strip().lower().startswith("y")
        self.console.print(f"{question} [dim]\\[y/N][/dim] ", end="")
        key = _read_key()
        yes = key.lower() == "y"
        self.console.print("yes" if yes else "no")
        return yes

    def text(self, prompt: str) -> str:
        """A free-text line (cooked mode even on a terminal)."""
        return _read_line(prompt) or ""


def _echo(text: str) -> None:
    # Raw characters as typed (backspace included), bypassing Rich's rendering.
    sys.stdout.write(text)
    sys.stdout.flush()


def _stdin_is_terminal() -> bool:
    try:
        import termios  # noqa: F401 - POSIX only; elsewhere answers are lines
    except ImportError:
        return False
    return sys.stdin.isatty()


def _read_key() -> str:
    """One keypress from the terminal, unbuffered and unechoed; Ctrl-C / Ctrl-D quit."""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        key = sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if key in ("\x03", "\x04", ""):
        raise _Quit
    return key


def _read_line(prompt: str) -> str | None:
    """A line of input; end of input quits."""
    try:
        return str(typer.prompt(prompt, default="", show_default=False))
    except typer.Abort:
        raise _Quit from None


class _Quit(Exception):
    """The person labeling is done (q, Ctrl-C, Ctrl-D or the end of piped input)."""


def _show(console: Console, served: ServedItem) -> None:
    version = "" if served.model_version is None else f" (model v{served.model_version})"
    # The plain-words reason the web page shows, not the strategy's repr and raw score.
    why = served.why or served.strategy
    console.rule(f"[dim]why this item: {escape(why)}{version}[/dim]")
    console.print(f"[bold]{escape(served.text)}[/bold]")
    for i, (label, p) in enumerate(served.suggestions[:9], start=1):
        console.print(f"  [cyan]{i}[/cyan] {escape(label)}  [dim]{p:.0%}[/dim]")


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
    from labelwise.service import users
    from labelwise.store import make_session_factory

    console = make_console()
    with reporting_errors():
        # Checked before the worker starts: a missing database is one line, not a thread's
        # traceback.
        engine = connect(db)
        try:
            factory = make_session_factory(engine)
            with factory() as session:
                found = resolve_project(session, project)
                annotator = users.get_user(session, username=user)
                background = None
                if worker:
                    background = _worker(factory, data_dir)
                    background.start()
                try:
                    console.print(HELP)
                    _label_loop(console, session, found, annotator, _Answers(console))
                finally:
                    if background is not None:
                        background.stop()
                        background.close()
        finally:
            engine.dispose()


class _Session:
    """What this sitting has done: the counter shown after every decision."""

    def __init__(self) -> None:
        self.decided = 0
        self.labeled = 0


def _label_loop(
    console: Console, session: Session, project: Project, annotator: User, answers: _Answers
) -> None:
    from labelwise.service import queue

    tally = _Session()
    try:
        while True:
            served = queue.lease_next(session, project_id=project.id, annotator=annotator)
            if served is None:
                console.print("Nothing left to label in this project.")
                return
            _show(console, served)
            started = time.monotonic()
            while not _answer_once(
                console, session, project, annotator, served, answers, tally, started
            ):
                pass
            console.print(_counter(session, project, tally))
    except _Quit:
        console.print()
    finally:
        console.print(
            f"{plural(tally.decided, 'decision')} this session ({plural(tally.labeled, 'label')})."
        )


def _answer_once(
    console: Console,
    session: Session,
    project: Project,
    annotator: User,
    served: ServedItem,
    answers: _Answers,
    tally: _Session,
    started: float,
) -> bool:
    """Read and carry out one answer; True once the item is decided."""
    from labelwise.service import queue

    answer = answers.answer()
    if answer is None:
        return False
    key = str(uuid.uuid4())
    if answer == "q":
        raise _Quit
    if answer == "?":
        console.print(HELP)
        return False
    if answer == "u":
        undone = queue.undo_annotation(session, project_id=project.id, annotator=annotator)
        tally.decided = max(0, tally.decided - 1)
        if undone.kind.value == "label":
            tally.labeled = max(0, tally.labeled - 1)
        console.print(f"[yellow]undone[/yellow] decision on item {undone.item_id}")
        return False
    if answer == "s":
        if not answers.confirm("skip this item?"):
            return False
        queue.skip_item(
            session,
            project_id=project.id,
            annotator=annotator,
            item_id=served.item_id,
            client_key=key,
        )
        console.print("[yellow]skipped[/yellow]")
        tally.decided += 1
        return True
    if answer == "f":
        if not answers.confirm("flag this item for review?"):
            return False
        comment = answers.text("comment (what is wrong with it)")
        queue.flag_item(
            session,
            project_id=project.id,
            annotator=annotator,
            item_id=served.item_id,
            comment=comment,
            client_key=key,
        )
        console.print("[yellow]flagged[/yellow]")
        tally.decided += 1
        return True
    matches = match_labels(answer, served, project.labels)
    if len(matches) != 1:
        console.print(_no_single_match(answer, matches))
        return False
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=annotator,
        item_id=served.item_id,
        value=matches[0],
        client_key=key,
        seconds_spent=time.monotonic() - started,
    )
    console.print(f"[green]✓[/green] {escape(matches[0])}")
    tally.decided += 1
    tally.labeled += 1
    return True


def _no_single_match(answer: str, matches: list[str]) -> str:
    shown = escape(repr(answer.strip()))
    if not matches:
        if answer.strip().isdigit():
            return f"[red]no suggestion {shown}[/red]"
        return f"[red]no label matches {shown}[/red] (? lists the keys)"
    listed = ", ".join(escape(m) for m in matches[:12])
    more = f" and {len(matches) - 12} more" if len(matches) > 12 else ""
    return f"[yellow]{shown} matches {len(matches)} labels: {listed}{more}; type more[/yellow]"


def _counter(session: Session, project: Project, tally: _Session) -> str:
    from labelwise.service import projects

    progress = projects.project_status(session, project_id=project.id)
    left = max(0, progress.items - progress.labeled_items)
    return (
        f"[dim]{tally.decided} this session · {left:,} of {progress.items:,} items "
        "still unlabeled[/dim]"
    )


def retrain(
    project: Annotated[str, typer.Argument(help="Project name or id.")],
    db: DatabaseOption = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Train here and now, and report.")
    ] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Model artifacts.")] = None,
) -> None:
    """Queue a retrain (a running server's worker picks it up), or with --wait run it here."""
    from labelwise.service import training
    from labelwise.store import make_session_factory

    console = make_console()
    with reporting_errors():
        engine = connect(db)
        try:
            factory = make_session_factory(engine)
            with factory() as session:
                found = resolve_project(session, project)
                job = training.request_retrain(session, project_id=found.id)
            console.print(f"retrain job {job.id} queued for {escape(found.name)}")
            if not wait:
                return
            background = _worker(factory, data_dir)
            try:
                background.run_pending()
            finally:
                background.close()
            with factory() as session:
                finished = next(
                    j for j in training.list_jobs(session, project_id=found.id) if j.id == job.id
                )
                versions = training.list_model_versions(session, project_id=found.id)
        finally:
            engine.dispose()
    status = finished.status.value
    # A skipped job's plain note is in progress["message"] (training.py), not in error.
    reason = (finished.error or finished.progress.get("message") or "").strip().splitlines()
    if status == "failed" or (status == "done" and not versions):
        console.print(
            f"[red]job {finished.id} {status}[/red]" + (f": {escape(reason[0])}" if reason else "")
        )
        # Whoever runs the CLI on the database is an operator: show the admins' detail.
        detail = finished.progress.get("detail")
        if detail:
            console.print(f"  {escape(str(detail))}", soft_wrap=True)
        raise typer.Exit(code=1)
    if status == "skipped":
        console.print(
            f"[yellow]job {finished.id} skipped[/yellow]"
            + (f": {escape(reason[0])}" if reason else ": nothing to train on yet")
        )
        return
    produced = next((v for v in versions if v.id == finished.model_version_id), versions[-1])
    console.print(_version_summary(finished, produced))


def _worker(factory: sessionmaker[Session], data_dir: Path | None) -> RetrainWorker:
    """A retrain worker as the server builds one: ``LABELWISE_DATA_DIR``, and the Dask
    cluster at ``LABELWISE_DASK_SCHEDULER`` when set."""
    # Imported here: the CLI's --help should not load the service (and numpy, sklearn).
    from labelwise.service import training
    from labelwise.settings import Settings

    settings = Settings()
    return training.RetrainWorker(
        factory,
        data_dir=data_dir or settings.data_dir,
        scorer=training.pool_scorer(settings.dask_scheduler),
    )


def _version_summary(job: Job, version: ModelVersion) -> Table:
    """A model version's numbers as a two-column table (lists and histograms left out)."""
    took = ""
    if job.started_at is not None and job.finished_at is not None:
        took = f", {(job.finished_at - job.started_at).total_seconds():.1f} s"
    title = f"model v{version.version}: {plural(version.label_count, 'label')} (job {job.id}{took})"
    table = Table(
        title=title,
        show_header=False,
        title_justify="left",
        # A narrow table (few metrics) would fold its title over two lines.
        min_width=len(title),
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    metrics = version.metrics
    for name, value in metrics.items():
        if name.endswith(("_ci95", "_n")) or isinstance(value, dict | list) or value is None:
            continue
        shown = _number(value)
        prefix = name.removesuffix("_accuracy")
        if prefix != name:
            ci, n = metrics.get(f"{prefix}_ci95"), metrics.get(f"{prefix}_n")
            if isinstance(ci, list) and len(ci) == 2:
                shown += f"  (95% CI {_number(ci[0])}–{_number(ci[1])})"
            if n is not None:
                shown += f"  on {plural(int(n), 'item')}"
        table.add_row(name.replace("_", " "), shown)
    return table


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(str(value))
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
