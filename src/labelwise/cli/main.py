"""The ``labelwise`` command: one Typer app with a module per command group.

Command modules import the service and the library inside their functions, so ``--help``
(and any one command) pays only for what it uses: well under a second, where importing
scikit-learn for every command took seconds.
"""

from __future__ import annotations

from typing import Annotated

import typer

from labelwise.cli import data, db, label, project, serve, simulate, traffic, users

#: Plain help (no Rich markup): option help may hold brackets (``[default: ...]``) and the
#: Rich renderer printed a ``<bool>`` type after every flag.
HELP_SETTINGS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Active learning for labeling.",
    rich_markup_mode=None,
    context_settings=HELP_SETTINGS,
)
app.command("simulate")(simulate.simulate)
app.command("init")(db.init)
app.add_typer(users.app, name="users")
app.add_typer(project.app, name="project")
app.command("import")(data.import_file)
app.command("export")(data.export)
app.command("export-model")(data.export_model)
app.command("status")(project.status)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo_command)
app.command("label")(label.label)
app.command("retrain")(label.retrain)
app.command("ingest")(traffic.ingest)
app.add_typer(traffic.tokens_app, name="service-tokens")


def _print_version(value: bool) -> None:
    if value:
        from labelwise import __version__

        typer.echo(f"labelwise {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """labelwise: label less, learn as much."""


def main() -> None:
    app()
