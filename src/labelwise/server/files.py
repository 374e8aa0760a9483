"""Exported files' scratch folders under ``settings.data_dir`` (removed after use), safe names.

Uploads for imports are kept by :mod:`labelwise.service.import_jobs` until their job ends.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path, PurePath

from labelwise.settings import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def scratch_dir(settings: Settings, purpose: str) -> Path:
    """A new private folder ``data_dir/<purpose>/tmp…``; the caller removes it."""
    parent = settings.data_dir / purpose
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def safe_name(filename: str | None, default: str = "upload") -> str:
    """The client's file name without folders or odd characters; the suffix (format) stays."""
    name = _UNSAFE.sub("_", PurePath(filename or "").name).lstrip(".")
    return name or default
