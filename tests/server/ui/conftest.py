"""Headless Debian Chromium driven by Playwright, against a real server process.

Browser tests are marked ``browser``. Without chromium (``/usr/bin/chromium``) or the
``playwright`` package they fail under ``CI=true`` and are skipped otherwise. Playwright's
own browser downloads are never used (no ``playwright install``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.live import LiveServer

CHROMIUM = Path(os.environ.get("LABELWISE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    data_dir = tmp_path / "live"
    data_dir.mkdir()
    with LiveServer(database_url, data_dir, LABELWISE_RUN_WORKER="false") as server:
        yield server


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """``new_page(**context_options)``: a page in a fresh browser context, closed afterwards."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = chromium.new_context(**options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
