"""A project's pool features on disk, appended as items arrive.

Each item is featurized once. The retrain worker appends its MiniLM vector and its TF-IDF
row to files under ``data_dir/projects/<id>/features/`` the first time it sees the item;
every later retrain, and a restarted server, reads them back a chunk of rows at a time
through memory maps (:class:`StoredRows`). Nothing holds the pool's matrix in memory, and
a restart embeds nothing again.

TF-IDF is fitted on the items there are (a seeded sample of at most :data:`FIT_SAMPLE` of
them) and then frozen: new items are transformed with the frozen vocabulary and idf. It is
refitted, and its stored rows rewritten, only while the fit is young: when the pool has
doubled since the fit and that fit saw fewer than :data:`FIT_SAMPLE` items. A project that
starts from 20 items and then imports 100,000 gets the vocabulary of its real pool; from
then on growth never refits. Over a project's life the refits rewrite fewer than
``2 * FIT_SAMPLE`` rows beyond the one pass every item gets anyway.

Layout (one writer, the worker thread)::

    manifest.json                 what is valid: kind, rows, widths, TF-IDF generation
    sentence.f32                  rows x width float32 sentence vectors (minilm kinds)
    tfidf-<g>.json                generation g's frozen vocabulary and idf, per block
    tfidf-<g>-data.f32, tfidf-<g>-indices.i32, tfidf-<g>-indptr.i64
                                  generation g's rows, as CSR arrays

Rows are appended first and the manifest replaced atomically after them, so a crash in
the middle of an append leaves the previous manifest, and opening the store cuts the torn
tail off.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from labelwise.data.joined import JoinedRows, join_blocks
from labelwise.features import TfidfFeaturizer
from labelwise.recipes.classification import (
    BLOCK_WEIGHTS,
    SENTENCE_FEATURES,
    classification_featurizer,
)

__all__ = ["FIT_SAMPLE", "FeatureStore", "StoredRows", "store_directory"]

log = logging.getLogger(__name__)

#: Most items TF-IDF is fitted on; a fit that saw this many is never redone.
FIT_SAMPLE: Final = 50_000
#: Items featurized and appended at a time: bounds the memory a large import takes.
BATCH: Final = 8_192
#: Version of the layout; a store of another version is rebuilt.
FORMAT: Final = 1
#: Folder of a project's store, under ``data_dir/projects/<id>/``.
FEATURES_DIR: Final = "features"
_MANIFEST: Final = "manifest.json"
_SENTENCE: Final = "sentence.f32"


def store_directory(data_dir: Path, project_id: int) -> Path:
    """Where a project's feature store lives."""
    return Path(data_dir) / "projects" / str(project_id) / FEATURES_DIR


@dataclasses.dataclass(frozen=True)
class _Manifest:
    """What the files hold; everything past it is a torn append."""

    kind: str
    #: Which project the rows are of (a new database may reuse the data directory).
    identity: str = ""
    #: Made afresh whenever the store is (re)built: rows of one epoch never change.
    epoch: str = ""
    #: Items with every block stored.
    rows: int = 0
    sentence_width: int = 0
    #: TF-IDF generation (0: never fitted), its width, rows, nonzeros and fit pool size.
    #: A refit writes the TF-IDF rows of the items it was given before their sentence
    #: vectors, so ``tfidf_rows`` may run ahead of ``rows``.
    generation: int = 0
    tfidf_width: int = 0
    tfidf_rows: int = 0
    nnz: int = 0
    fitted_on: int = 0

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **dataclasses.asdict(self)}, sort_keys=True)


class FeatureStore:
    """One project's feature rows on disk, by item position (0..n-1, dense).

    Parameters
    ----------
    directory : Path
        The store's folder (:func:`store_directory`); made when missing.
    kind : str
        The project's ``features`` setting: ``tfidf``, ``minilm`` or ``minilm+tfidf``.
        A store written for another kind (the setting changed), or in another layout, is
        emptied and rebuilt.
    embedder : callable, optional
        Returns the sentence embedder (``transform(texts)`` → rows of shape (n, width)),
        called the first time a minilm kind needs one.
    seed : int, default 0
        Seeds the TF-IDF fit sample (the project id), so a rebuilt store is the same.
    identity : str, default ""
        Names the project the rows are of (its name and creation time): a store written
        for another (a new database over the same data directory) is rebuilt.

    Examples
    --------
    >>> import tempfile
    >>> store = FeatureStore(Path(tempfile.mkdtemp()), "tfidf")
    >>> texts = ["book a flight", "cancel it"]
    >>> store.extend(texts, every_text=lambda: texts)
    >>> store.rows().shape[0]
    2
    """

    def __init__(
        self,
        directory: Path,
        kind: str,
        *,
        embedder: Callable[[], Any] | None = None,
        seed: int = 0,
        identity: str = "",
    ) -> None:
        self.directory = Path(directory)
        self.kind = kind
        self.embedder = embedder
        self.seed = seed
        self.identity = identity
        self._tfidf: TfidfFeaturizer | None = None
        self._manifest = self._open()

    # -- what is stored

    def __len__(self) -> int:
        return self._manifest.rows

    @property
    def fitted_on(self) -> int:
        """Pool size when TF-IDF was last fitted (0: never, or no TF-IDF in this kind)."""
        return self._manifest.fitted_on

    def featurizer(self) -> Any:
        """The featurizer whose ``transform`` gives the stored rows, saved with each model:
        the frozen TF-IDF, the sentence embedder, or both side by side. None while a kind
        with TF-IDF has stored nothing."""
        tfidf = self._frozen_tfidf()
        if self._has_tfidf and tfidf is None:
            return None
        sentence = self._embedder() if self._has_sentence else None
        return classification_featurizer(self.kind, embedder=sentence, tfidf=tfidf)

    def rows(self) -> StoredRows:
        """The stored rows as a row-addressable matrix for ``Pool(features=...)``."""
        m = self._manifest
        return StoredRows(
            self.directory,
            n_rows=m.rows,
            sentence_width=m.sentence_width if self._has_sentence else None,
            tfidf=(m.generation, m.tfidf_width, m.nnz) if self._has_tfidf else None,
            epoch=m.epoch,
        )

    # -- appending

    def refit_due(self, n_items: int) -> bool:
        """Whether growing to ``n_items`` fits TF-IDF again (pass ``every_text`` then)."""
        m = self._manifest
        if not self._has_tfidf or n_items == 0:
            return False
        return m.generation == 0 or (m.fitted_on < FIT_SAMPLE and n_items >= 2 * m.fitted_on)

    def extend(
        self,
        texts: Sequence[str],
        *,
        every_text: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        """Append the rows of ``texts``: the items at positions ``len(self)`` onwards.

        Parameters
        ----------
        texts : sequence of str
            The new items' texts, by position.
        every_text : callable, optional
            Returns the texts of every item, positions 0 to ``len(self) + len(texts) - 1``.
            Called only when :meth:`refit_due`: TF-IDF is fitted on a sample of them and
            every item's TF-IDF row rewritten.

        Raises
        ------
        ValueError
            When a refit is due and ``every_text`` is missing or returns another number of
            texts, or the embedder returns rows of another shape.
        """
        stored = len(self)
        total = stored + len(texts)
        if self.refit_due(total):
            if every_text is None:
                raise ValueError(f"TF-IDF is fitted again at {total} items: pass every_text.")
            everything = every_text()
            if len(everything) != total:
                raise ValueError(
                    f"every_text returned {len(everything)} texts; the store expects {total} "
                    f"({stored} stored and {len(texts)} new)."
                )
            self._refit(everything)
        # A refit of a TF-IDF-only store stored the new items whole already.
        texts = texts[len(self) - stored :]
        for start in range(0, len(texts), BATCH):
            self._append(list(texts[start : start + BATCH]))

    def _append(self, texts: list[str]) -> None:
        m = self._manifest
        changes: dict[str, Any] = {"rows": m.rows + len(texts)}
        if self._has_sentence:
            vectors = np.ascontiguousarray(self._embedder().transform(texts), dtype=np.float32)
            width = m.sentence_width or (vectors.shape[1] if vectors.ndim == 2 else 0)
            if vectors.shape != (len(texts), width):
                raise ValueError(
                    f"The sentence embedder returned rows of shape {vectors.shape} for "
                    f"{len(texts)} texts; the store holds rows of width {width}."
                )
            _write_at(self.directory / _SENTENCE, m.rows * width * 4, vectors)
            changes["sentence_width"] = width
        if self._has_tfidf and m.tfidf_rows < changes["rows"]:
            # A refit wrote the TF-IDF rows of the items it was given (the first of these
            # texts, when it was cut short before their sentence vectors): the rest now.
            tfidf = self._frozen_tfidf()
            assert tfidf is not None
            fresh = texts[m.tfidf_rows - m.rows :]
            changes["nnz"] = self._append_csr(
                m.generation, tfidf.transform(fresh), m.tfidf_rows, m.nnz
            )
            changes["tfidf_rows"] = changes["rows"]
        self._commit(dataclasses.replace(m, **changes))

    # -- TF-IDF

    def _refit(self, texts: Sequence[str]) -> None:
        """Fit TF-IDF on a seeded sample of ``texts`` (every item's) and write every item's
        TF-IDF row as a new generation; the sentence vectors stored so far stay."""
        n = len(texts)
        fit_on: Sequence[str] = texts
        if n > FIT_SAMPLE:
            sample = np.random.default_rng(self.seed).choice(n, FIT_SAMPLE, replace=False)
            fit_on = [texts[int(i)] for i in np.sort(sample)]
        tfidf = TfidfFeaturizer().fit(fit_on)
        m = self._manifest
        generation = m.generation + 1
        state = [{"terms": terms, "idf": idf.tolist()} for terms, idf in tfidf.fitted_state()]
        _write_atomic(self.directory / f"tfidf-{generation}.json", json.dumps(state))
        nnz = 0
        for start in range(0, n, BATCH):
            nnz = self._append_csr(
                generation, tfidf.transform(list(texts[start : start + BATCH])), start, nnz
            )
        self._tfidf = tfidf
        self._commit(
            dataclasses.replace(
                m,
                rows=m.rows if self._has_sentence else n,
                generation=generation,
                tfidf_width=tfidf.n_features_,
                tfidf_rows=n,
                nnz=nnz,
                fitted_on=n,
            )
        )
        # Readers of the old generation keep their maps: unlinking leaves the data on disk
        # until they close them.
        for path in self.directory.glob("tfidf-*"):
            if not path.name.startswith(f"tfidf-{generation}"):
                path.unlink(missing_ok=True)
        log.info(
            "feature store %s: TF-IDF fitted on %d of %d items", self.directory, len(fit_on), n
        )

    def _append_csr(self, generation: int, block: Any, rows: int, nnz: int) -> int:
        """Write ``block``'s CSR rows as rows ``rows``.. of ``generation``, after ``nnz``
        stored values; returns the nonzeros stored then."""
        block = sp.csr_matrix(block)
        data, indices, pointers = _csr_paths(self.directory, generation)
        if rows == 0:
            _write_at(pointers, 0, np.zeros(1, dtype=np.int64))
        _write_at(data, nnz * 4, block.data.astype(np.float32))
        _write_at(indices, nnz * 4, block.indices.astype(np.int32))
        _write_at(pointers, (rows + 1) * 8, block.indptr[1:].astype(np.int64) + nnz)
        return nnz + int(block.nnz)

    def _frozen_tfidf(self) -> TfidfFeaturizer | None:
        generation = self._manifest.generation
        if self._tfidf is None and generation:
            state = json.loads((self.directory / f"tfidf-{generation}.json").read_text())
            self._tfidf = TfidfFeaturizer.from_fitted_state(
                [(block["terms"], np.asarray(block["idf"])) for block in state]
            )
        return self._tfidf

    # -- bookkeeping

    @property
    def _has_sentence(self) -> bool:
        return self.kind in SENTENCE_FEATURES

    @property
    def _has_tfidf(self) -> bool:
        return self.kind != "minilm"

    def _embedder(self) -> Any:
        if self.embedder is None:
            raise ValueError(f"A {self.kind!r} feature store needs a sentence embedder.")
        return self.embedder()

    def _open(self) -> _Manifest:
        """The stored manifest with every file cut to it, or a new empty store."""
        manifest: _Manifest | None = None
        try:
            stored = json.loads((self.directory / _MANIFEST).read_text())
            layout = stored.pop("format", None)
            manifest = _Manifest(**stored)
            if (layout, manifest.kind, manifest.identity) != (FORMAT, self.kind, self.identity):
                log.info("feature store %s is rebuilt for %s features", self.directory, self.kind)
                manifest = None
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("feature store %s is unreadable and rebuilt: %s", self.directory, exc)
        if manifest is not None and not manifest.epoch:
            # Written before epochs existed: its rows stand, it only needs a name.
            manifest = dataclasses.replace(manifest, epoch=uuid.uuid4().hex)
            _write_atomic(self.directory / _MANIFEST, manifest.to_json())
        if manifest is None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory.mkdir(parents=True, exist_ok=True)
            manifest = _Manifest(self.kind, self.identity, epoch=uuid.uuid4().hex)
            _write_atomic(self.directory / _MANIFEST, manifest.to_json())
            return manifest
        _truncate(self.directory / _SENTENCE, manifest.rows * manifest.sentence_width * 4)
        if manifest.generation:
            data, indices, pointers = _csr_paths(self.directory, manifest.generation)
            _truncate(data, manifest.nnz * 4)
            _truncate(indices, manifest.nnz * 4)
            _truncate(pointers, (manifest.tfidf_rows + 1) * 8)
        return manifest

    def _commit(self, manifest: _Manifest) -> None:
        _write_atomic(self.directory / _MANIFEST, manifest.to_json())
        self._manifest = manifest


class StoredRows:
    """A feature store's rows ``0..n_rows-1`` as a row-addressable matrix.

    ``rows[slice or index array]`` reads those rows from the memory-mapped files: dense
    float32 sentence vectors (``minilm``), float64 CSR TF-IDF rows (``tfidf``), or both
    joined as :class:`~labelwise.features.ConcatenatedFeaturizer` joins them
    (``minilm+tfidf``). Later appends do not change what it holds. It pickles as its folder
    and sizes, so a Dask worker that sees the server's data directory at the same path
    maps the files itself instead of receiving the rows.

    Parameters
    ----------
    directory : Path
    n_rows : int
    sentence_width : int or None
        Width of the sentence block; None without one.
    tfidf : (generation, width, nnz) or None
        The TF-IDF generation to read, its width and stored nonzeros; None without one.
    epoch : str, default ""
        The store's build (:attr:`lineage`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        n_rows: int,
        sentence_width: int | None,
        tfidf: tuple[int, int, int] | None,
        epoch: str = "",
    ) -> None:
        self.directory = Path(directory)
        self.n_rows = n_rows
        self.sentence_width = sentence_width
        self.tfidf = tfidf
        self.epoch = epoch
        self._maps: dict[str, NDArray[Any]] | None = None

    @property
    def lineage(self) -> tuple[Any, ...] | None:
        """Equal for two row sets of one store build and TF-IDF generation: the longer
        holds the shorter's rows unchanged, then the items appended since (what a
        neighbour index extends instead of rebuilding). None without an epoch."""
        if not self.epoch:
            return None
        generation = None if self.tfidf is None else self.tfidf[:2]
        return (str(self.directory), self.epoch, self.sentence_width, generation)

    def sentence(self) -> StoredRows:
        """The sentence block alone (the rows' meaning, for neighbour search)."""
        if self.sentence_width is None:
            raise ValueError(f"{self!r} has no sentence vectors (its features are TF-IDF only).")
        return StoredRows(
            self.directory,
            n_rows=self.n_rows,
            sentence_width=self.sentence_width,
            tfidf=None,
            epoch=self.epoch,
        )

    @property
    def shape(self) -> tuple[int, int]:
        width = (self.sentence_width or 0) + (self.tfidf[1] if self.tfidf else 0)
        return (self.n_rows, width)

    def __getitem__(self, rows: slice | NDArray[np.integer[Any]]) -> Any:
        blocks = self._blocks(rows)
        return join_blocks(blocks, BLOCK_WEIGHTS) if len(blocks) == 2 else _alone(blocks[0])

    def joined_rows(self, rows: slice | NDArray[np.integer[Any]]) -> Any:
        """The rows of :meth:`__getitem__`, with both blocks kept apart as
        :class:`~labelwise.data.joined.JoinedRows` (``minilm+tfidf``; one block is given as
        it is): a softmax model multiplies the dense sentence block through BLAS instead
        of as 384 stored values a row of one CSR matrix."""
        blocks = self._blocks(rows)
        return JoinedRows(blocks, BLOCK_WEIGHTS) if len(blocks) == 2 else _alone(blocks[0])

    def _blocks(self, rows: slice | NDArray[np.integer[Any]]) -> list[Any]:
        # A slice becomes its positions only: never an arange over the whole store.
        index = (
            np.arange(*rows.indices(self.n_rows)) if isinstance(rows, slice) else np.asarray(rows)
        )
        if index.ndim != 1:
            raise IndexError(f"StoredRows takes a slice or a 1-d array of rows, not {rows!r}.")
        if index.size and (index.min() < 0 or index.max() >= self.n_rows):
            raise IndexError(f"Rows out of range for {self.n_rows} stored items.")
        maps = self._mapped()
        blocks: list[Any] = []
        if self.sentence_width is not None:
            sentence = maps["sentence"]
            # A run of rows is a view of the map (no copy); scattered rows are gathered.
            blocks.append(
                np.asarray(sentence[rows] if isinstance(rows, slice) else sentence[index])
            )
        if self.tfidf is not None:
            blocks.append(self._csr_rows(maps, index))
        return blocks

    def _csr_rows(self, maps: dict[str, NDArray[Any]], index: NDArray[Any]) -> sp.csr_matrix:
        """The TF-IDF rows at ``index``, float32 as stored (joined rows scale them in
        float32, ``join_blocks`` widens them itself)."""
        assert self.tfidf is not None
        pointers = maps["indptr"]
        starts = np.asarray(pointers[index], dtype=np.int64)
        lengths = np.asarray(pointers[index + 1], dtype=np.int64) - starts
        indptr = np.zeros(index.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # Each row's run of stored values: its start repeated, plus 0..length-1.
        take = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return sp.csr_matrix(
            (np.asarray(maps["data"][take]), maps["indices"][take], indptr),
            shape=(index.size, self.tfidf[1]),
        )

    def _mapped(self) -> dict[str, NDArray[Any]]:
        if self._maps is None:
            if not self.directory.is_dir():
                raise FileNotFoundError(
                    f"The feature store {self.directory} is not there: a Dask worker must see "
                    "the server's data directory at the same path (mount it on every worker)."
                )
            maps: dict[str, NDArray[Any]] = {}
            if self.sentence_width is not None:
                maps["sentence"] = _map(
                    self.directory / _SENTENCE, np.float32, (self.n_rows, self.sentence_width)
                )
            if self.tfidf is not None:
                generation, _, nnz = self.tfidf
                data, indices, pointers = _csr_paths(self.directory, generation)
                maps["data"] = _map(data, np.float32, (nnz,))
                maps["indices"] = _map(indices, np.int32, (nnz,))
                maps["indptr"] = _map(pointers, np.int64, (self.n_rows + 1,))
            self._maps = maps
        return self._maps

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_maps": None}  # the maps are made again where unpickled

    def __repr__(self) -> str:
        return f"StoredRows({str(self.directory)!r}, shape={self.shape})"


def _alone(block: Any) -> Any:
    """A store's only block as its rows are read: TF-IDF rows widened to float64, as
    scikit-learn's float64 path reads them; sentence vectors as stored (float32)."""
    return block.astype(np.float64) if sp.issparse(block) else block


def _csr_paths(directory: Path, generation: int) -> tuple[Path, Path, Path]:
    stem = directory / f"tfidf-{generation}"
    return (
        stem.with_name(stem.name + "-data.f32"),
        stem.with_name(stem.name + "-indices.i32"),
        stem.with_name(stem.name + "-indptr.i64"),
    )


def _map(path: Path, dtype: Any, shape: tuple[int, ...]) -> NDArray[Any]:
    if 0 in shape:  # a zero-length file cannot be mapped
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape)


def _write_at(path: Path, offset: int, values: NDArray[Any]) -> None:
    """Write ``values``' bytes at byte ``offset`` of ``path`` (made when missing), cutting
    off whatever followed, and flush them to disk."""
    with open(path, "ab+") as file:
        file.truncate(offset)
    with open(path, "rb+") as file:
        file.seek(offset)
        file.write(np.ascontiguousarray(values).tobytes())
        file.flush()
        os.fsync(file.fileno())


def _truncate(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size > size:
        with open(path, "rb+") as file:
            file.truncate(size)


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
