"""The rich Console the CLI prints to; tests pass one that writes to a StringIO."""

from __future__ import annotations

import sys

from rich.console import Console


def make_console() -> Console:
    # Piped output (CI logs, `| tee`) gets a width that fits the summary table, not 80.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def make_error_console() -> Console:
    # Soft wrap: an error line is never broken by the console (a long path would be split
    # mid-name); the terminal wraps it, and a log or grep sees it whole.
    return Console(stderr=True, highlight=False, soft_wrap=True)
