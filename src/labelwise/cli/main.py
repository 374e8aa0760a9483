"""The ``labelwise`` command: one Typer app with a module per command group."""

from __future__ import annotations

import typer

from labelwise.cli import data, db, label, project, serve, simulate, users

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Active learning for labeling.")
app.command("simulate")(simulate.simulate)
app.command("init")(db.init)
app.add_typer(users.app, name="users")
app.add_typer(project.app, name="project")
app.command("import")(data.import_file)
app.command("export")(data.export)
app.command("status")(project.status)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo_command)
app.command("label")(label.label)
app.command("retrain")(label.retrain)


@app.callback()
def _root() -> None:
    """labelwise: label less, learn as much."""


def main() -> None:
    app()
