"""The rich Console the CLI prints to; tests pass one that writes to a StringIO."""

from __future__ import annotations

import sys

from rich.console import Console


def make_console() -> Console:
    # Piped output (CI logs, `| tee`) gets a width that fits the summary table, not 80.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def make_error_console() -> Console:
    return Console(stderr=True, highlight=False)
