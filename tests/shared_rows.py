"""Rows of the read-only JSONL datasets in ../shared/data, for tests that check real data."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DATA


@cache
def shared_rows(dataset: str, split: str) -> tuple[dict[str, Any], ...]:
    """Every row of ``<shared data>/<dataset>/<split>.jsonl`` (read once per process)."""
    path = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED_DATA)) / dataset / f"{split}.jsonl"
    if not path.is_file():
        pytest.fail(f"{path} not found; the tests read ../shared/data beside the repo.")
    with path.open(encoding="utf-8") as handle:
        return tuple(json.loads(line) for line in handle)
