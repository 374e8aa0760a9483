"""Progress: a live bar on a terminal, plain lines (bounded in number) everywhere else."""

from __future__ import annotations

import io

from rich.console import Console

from labelwise.cli import progress as progress_module
from labelwise.cli.progress import StepProgress


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120), out


def test_off_a_terminal_the_first_milestones_and_last_steps_are_plain_lines():
    console, out = _console(terminal=False)
    with StepProgress(console, "simulating", 5) as bar:
        for i in range(1, 6):
            bar.update(advance=1, description=f"step {i}", milestone=i == 3)
    lines = out.getvalue().splitlines()
    # Within PLAIN_EVERY_SECONDS only the first, the milestone and the last are printed.
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "simulating: 1/5 step 1",
        "simulating: 3/5 step 3",
        "simulating: 5/5 step 5",
    ]
    assert all(line.endswith(" s)") for line in lines)


def test_off_a_terminal_lines_come_at_most_every_few_seconds(monkeypatch):
    console, out = _console(terminal=False)
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_SECONDS", 0.0)
    with StepProgress(console, "embedding", 3) as bar:
        for done in (1, 2, 3):
            bar.update(completed=done, description="texts")
    assert len(out.getvalue().splitlines()) == 3


def test_markup_in_a_description_is_printed_literally():
    console, out = _console(terminal=False)
    with StepProgress(console, "simulating", 1) as bar:
        bar.update(advance=1, description="[red]strategy[/red]")
    assert "[red]strategy[/red]" in out.getvalue()


def test_on_a_terminal_the_bar_is_transient_and_prints_no_lines():
    console, out = _console(terminal=True)
    with StepProgress(console, "simulating", 3) as bar:
        for _ in range(3):
            bar.update(advance=1, description="step")
    assert "simulating: " not in out.getvalue()
