"""The root command: clean help, ``-h`` and ``--version``, and a start without heavy imports."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from labelwise import __version__
from labelwise.cli.main import app

COMMANDS = [
    [],
    ["label"],
    ["serve"],
    ["demo"],
    ["import"],
    ["export"],
    ["export-model"],
    ["retrain"],
    ["simulate"],
    ["project", "create"],
    ["users", "add"],
]


def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_reads_cleanly(command):
    text = help_text(*command)
    assert "<bool>" not in text
    # a default in the help text is shown, not eaten as markup (which left "cache .")
    assert re.search(r"\s\.(\s|$)", text) is None and " ]" not in text


def test_defaults_written_in_the_help_text_survive():
    assert "[default: sqlite:///labelwise.db]" in " ".join(help_text("label").split())
    assert "cache [default: LABELWISE_DATA_DIR]." in " ".join(help_text("serve").split())


def test_h_is_help_and_version_prints_it():
    runner = CliRunner()
    assert (
        runner.invoke(app, ["label", "-h"]).output
        == CliRunner().invoke(app, ["label", "--help"]).output
    )
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"labelwise {__version__}\n"


def test_importing_the_cli_loads_no_scientific_stack():
    # `labelwise --help` took 3.5-6.5 s when every command imported scikit-learn.
    code = (
        "import sys, labelwise.cli.main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sklearn', 'torch', 'pandas', 'scipy', 'pyarrow', 'sentence_transformers', 'argon2', "
        "'sqlalchemy', 'pydantic'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_simulate_lists_every_strategy_without_importing_them():
    from labelwise.cli.simulate import STRATEGY_NAMES
    from labelwise.strategies import STRATEGIES

    assert list(STRATEGY_NAMES) == list(STRATEGIES)


def test_simulate_defaults_are_the_recipes():
    from labelwise.cli.simulate import DEFAULT_FEATURES, DEFAULT_STRATEGIES
    from labelwise.recipes import DEFAULT_SPAN_FEATURES, classification

    assert DEFAULT_FEATURES["classification"] == classification.DEFAULT_FEATURES
    assert DEFAULT_FEATURES["spans"] == DEFAULT_SPAN_FEATURES
    assert DEFAULT_STRATEGIES["classification"] == f"{classification.DEFAULT_STRATEGY},random"


@pytest.mark.parametrize("port", ["0", "99999", "-1"])
def test_a_port_out_of_range_is_refused_in_one_line(port):
    result = CliRunner().invoke(app, ["serve", "--port", port])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    assert "Traceback" not in result.output
