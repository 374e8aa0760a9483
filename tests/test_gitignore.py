"""What the README's commands leave in a checkout is ignored by git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path",
    [
        "labelwise-demo.db",
        "labelwise-demo.db-wal",
        "labelwise-demo.db-shm",
        "labelwise.db",
        "labelwise-data/models/1.joblib",
    ],
)
def test_the_demo_database_and_data_folder_are_ignored(path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, f"{path} is not in .gitignore"
