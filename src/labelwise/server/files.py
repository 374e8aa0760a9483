"""Uploaded and exported files: scratch folders under ``settings.data_dir``, removed after use."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from fastapi import UploadFile

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


@contextmanager
def saved_upload(upload: UploadFile, settings: Settings) -> Iterator[Path]:
    """The upload saved under its own (safe) name, so errors name the file the client sent."""
    folder = scratch_dir(settings, "uploads")
    try:
        path = folder / safe_name(upload.filename)
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        yield path
    finally:
        remove_dir(folder)
