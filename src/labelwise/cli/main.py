"""The ``labelwise`` command: one Typer app with a module per command group."""

from __future__ import annotations

import typer

from labelwise.cli import simulate

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Active learning for labeling.")
app.command("simulate")(simulate.simulate)


@app.callback()
def _root() -> None:
    """labelwise: label less, learn as much."""


def main() -> None:
    app()
