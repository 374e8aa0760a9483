"""The rich Console the CLI prints to; tests pass one that writes to a StringIO."""

from __future__ import annotations

from rich.console import Console


def make_console() -> Console:
    return Console(highlight=False)


def make_error_console() -> Console:
    return Console(stderr=True, highlight=False)
