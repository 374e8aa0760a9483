"""Progress of a long command: a live bar on a terminal, plain lines everywhere else.

A rich progress bar draws nothing useful into a log file or a CI console (it is either
dropped or repainted as escape codes), so a simulation run with its output redirected
looked hung for an hour. Off a terminal the same updates become plain lines, at most
one every :data:`PLAIN_EVERY_SECONDS` plus every milestone and the last one.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

#: Off a terminal: the shortest gap between two plain progress lines (milestones and the
#: last step are always printed).
PLAIN_EVERY_SECONDS = 10.0


class StepProgress:
    """Count ``total`` steps under ``label``; use as a context manager.

    Parameters
    ----------
    console : rich Console
        Where to draw. A terminal gets a transient bar; anything else gets lines such as
        ``simulating: 12/40 margin seed 0: 1,350 labels, 0.812 (35 s)``.
    label : str
    total : int
        Steps expected; ``update`` may be called with ``completed`` beyond it.
    """

    def __init__(self, console: Console, label: str, total: int) -> None:
        self.console = console
        self.label = label
        self.total = max(int(total), 1)
        self._live = console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._done = 0
        self._started = 0.0
        self._last_line = float("-inf")

    def __enter__(self) -> StepProgress:
        self._started = time.monotonic()
        if self._live:
            self._bar = Progress(
                TextColumn(escape(self.label)),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)

    def update(
        self,
        *,
        advance: int = 0,
        completed: int | None = None,
        description: str = "",
        milestone: bool = False,
    ) -> None:
        """Move to ``completed`` (or by ``advance``) steps; ``milestone`` forces a plain line."""
        self._done = completed if completed is not None else self._done + advance
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self._done, description=escape(description))
            return
        now = time.monotonic()
        last = self._done >= self.total
        if not (milestone or last or now - self._last_line >= PLAIN_EVERY_SECONDS):
            return
        self._last_line = now
        detail = f" {description}" if description else ""
        self.console.print(
            f"{escape(self.label)}: {self._done:,}/{self.total:,}{escape(detail)} "
            f"({now - self._started:.0f} s)",
            soft_wrap=True,
        )
