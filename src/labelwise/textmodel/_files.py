"""The files of a saved model folder: written whole or not at all, read with located errors.

A folder holds ``model.json`` (what the model is, as JSON), ``model.npz`` (its arrays,
read with ``allow_pickle=False``) and, for span tasks, ``tagger.npz`` (the CRF,
:meth:`~labelwise.learners.crf.CRFTagger.save`). ``model.json`` is written last and
records the SHA-256 of ``model.npz``, so a half-written save or files mixed from two
saves are told apart from a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import ModelFileError

FORMAT = "labelwise-text-model/1"
META = "model.json"
ARRAYS = "model.npz"
TAGGER = "tagger.npz"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file beside it, so a reader never sees half."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _save_arrays(path: Path, arrays: Mapping[str, NDArray[Any]]) -> None:
    # Compressed: an L2 logistic regression over TF-IDF leaves the coefficients of words
    # absent from the labeled items at exactly 0 (79% of them for CLINC150 with 300
    # labels: 43 MB became 7.8 MB). Through a handle: given a path, np.savez_compressed
    # would append ".npz" to the temporary name.
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


def write_folder(
    directory: Path,
    meta: dict[str, Any],
    arrays: Mapping[str, NDArray[Any]],
    *,
    tagger: Any = None,
    overwrite: bool = False,
) -> None:
    """Write a model folder (``model.json`` last); refuse to replace one unless ``overwrite``."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / META).exists() and not overwrite:
        raise FileExistsError(
            f"{directory} already holds a model ({META}); pass overwrite=True to replace it."
        )
    _atomic(directory / ARRAYS, lambda tmp: _save_arrays(tmp, arrays))
    if tagger is not None:
        _atomic(directory / TAGGER, tagger.save)
    else:
        (directory / TAGGER).unlink(missing_ok=True)  # a replaced span model's tagger
    meta = {**meta, "arrays": {"file": ARRAYS, "sha256": sha256(directory / ARRAYS)}}
    text = json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    _atomic(directory / META, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class FolderReader:
    """Reads one saved folder; every failure is a :class:`ModelFileError` naming file and field."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.meta = self._read_meta()
        self._arrays: Any = None

    def error(self, message: str, *, file: str = META, field: str | None = None) -> ModelFileError:
        return ModelFileError(message, file=self.directory / file, field=field)

    def _read_meta(self) -> dict[str, Any]:
        if not self.directory.is_dir():
            raise ModelFileError(
                "no such folder: a saved model is a folder holding model.json and model.npz",
                file=self.directory,
            )
        path = self.directory / META
        if not path.is_file():
            raise self.error(
                f"missing: {self.directory} is not a labelwise model folder "
                "(TextModel.save and `labelwise export-model` write one)"
            )
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise self.error("not UTF-8 text: not a labelwise model file") from None
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"not valid JSON: {exc.msg}", file=path, line=exc.lineno) from None
        if not isinstance(meta, dict):
            raise self.error(f"must hold a JSON object; got {type(meta).__name__}")
        if meta.get("format") != FORMAT:
            raise self.error(
                f"expected {FORMAT!r}, got {meta.get('format')!r}: not a labelwise model "
                "file, or one from another version of labelwise",
                field="format",
            )
        return meta

    def field(self, dotted: str, kind: type | tuple[type, ...]) -> Any:
        """The value at ``dotted`` (``"featurizer.kind"``) in model.json, of type ``kind``."""
        value: Any = self.meta
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                raise self.error("missing", field=dotted)
            value = value[part]
        # bool is an int to Python; a count or an index must not be one.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            names = " or ".join(k.__name__ for k in _kinds(kind))
            raise self.error(f"must be {names}; got {value!r:.80}", field=dotted)
        return value

    def strings(self, dotted: str) -> list[str]:
        """A list of strings in model.json (label names, entity types)."""
        values = self.field(dotted, list)
        if not all(isinstance(v, str) for v in values):
            raise self.error("must be a list of strings", field=dotted)
        return [str(v) for v in values]

    @contextmanager
    def opened(self) -> Iterator[FolderReader]:
        """model.npz opened (and checked against model.json) for :meth:`array` calls."""
        path = self.directory / ARRAYS
        if not path.is_file():
            raise self.error("missing", file=ARRAYS)
        expected = self.field("arrays.sha256", str)
        if sha256(path) != expected:
            raise self.error(
                f"does not match {META} (its SHA-256 differs from arrays.sha256): the file "
                "is damaged, or the two files come from different saves",
                file=ARRAYS,
            )
        try:
            self._arrays = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise self.error(f"not a NumPy .npz archive ({exc})", file=ARRAYS) from None
        try:
            yield self
        finally:
            self._arrays.close()
            self._arrays = None

    def array(self, name: str, kind: str, ndim: int) -> NDArray[Any]:
        """Array ``name`` of model.npz, its dtype kind in ``kind`` (``"f"``, ``"iu"``, ``"b"``)."""
        if name not in self._arrays.files:
            raise self.error("missing", file=ARRAYS, field=name)
        try:
            array: NDArray[Any] = self._arrays[name]
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            # allow_pickle=False refuses object arrays here: a model never holds any.
            raise self.error(f"cannot be read ({exc})", file=ARRAYS, field=name) from None
        if array.dtype.kind not in kind or array.ndim != ndim:
            raise self.error(
                f"must be a {ndim}-d array of dtype kind {kind!r}; got {array.ndim}-d {array.dtype}",
                file=ARRAYS,
                field=name,
            )
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise self.error("holds NaN or infinite values", file=ARRAYS, field=name)
        return array

    def shaped(self, name: str, kind: str, shape: tuple[int, ...]) -> NDArray[Any]:
        """:meth:`array`, which must have exactly ``shape``."""
        array = self.array(name, kind, len(shape))
        if array.shape != shape:
            raise self.error(f"has shape {array.shape}; expected {shape}", file=ARRAYS, field=name)
        return array


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
