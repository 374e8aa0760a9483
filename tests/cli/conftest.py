"""CLI helpers: run ``labelwise`` against the test database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labelwise.cli.main import app


@pytest.fixture
def cli(database_url):
    """``cli("project", "create", ...)`` runs the command with ``--db`` on the test database."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(
            app, [*args, "--db", database_url], input=input, env={"COLUMNS": "200"}
        )

    return invoke


@pytest.fixture
def admin(cli):
    """A site admin ``root`` and a project ``intents`` it owns."""
    assert cli("init", "--admin", "root", "--password", "root-password").exit_code == 0
    result = cli(
        "project", "create", "intents", "--labels", "translate,timer,transfer", "--owner", "root"
    )
    assert result.exit_code == 0, result.output
    return "root"
