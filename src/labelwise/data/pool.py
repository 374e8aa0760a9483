"""The pool: index-addressed items with their feature rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from labelwise._typing import FeatureMatrix, IndexArray

#: What :meth:`Pool.open` maps: floating-point features only.
_MAPPED_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True, eq=False)
class Pool:
    """Items addressed by position, with one feature row each.

    Every index array in labelwise (labeled, unlabeled, a query's result) holds positions
    in a pool. The pool never changes size while a loop runs over it.

    Parameters
    ----------
    features : ndarray, sparse matrix or row-addressable matrix, shape (n_items, n_features)
        A row-addressable matrix is any object with ``shape`` whose ``[...]`` takes a
        slice or an index array of rows and returns those rows (read or computed on
        demand); :meth:`rows` asks it for the rows a chunk needs, never for the whole.
    texts : sequence of str, optional
        The raw items, for display and for featurizers that work on text.
    sequences : sequence of token sequences, optional
        The tokens of each item, for sequence taggers and the sequence strategies
        (:mod:`labelwise.strategies.sequence`). ``features`` then holds whatever the
        wrappers compare items by (sentence embeddings, say), or has 0 columns.
    mapped_from : Path, optional
        The ``.npy`` file ``features`` is memory-mapped from (set by :meth:`open`). Such a
        pool pickles as that path, not its rows: a Dask worker or a process pool maps the
        file itself.

    Examples
    --------
    >>> import numpy as np
    >>> pool = Pool(np.zeros((2, 0)), sequences=[["play", "jazz"], []])
    >>> pool.sequences_at(np.array([1, 0]))
    [[], ['play', 'jazz']]
    """

    features: FeatureMatrix
    texts: Sequence[str] | None = None
    sequences: Sequence[Sequence[str]] | None = None
    mapped_from: Path | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shape = getattr(self.features, "shape", None)
        if shape is None or len(shape) != 2:
            raise ValueError(
                f"Pool features must be a 2-d array (n_items, n_features). Got shape {shape}."
            )
        if self.texts is not None and len(self.texts) != shape[0]:
            raise ValueError(f"Pool has {shape[0]} feature rows but {len(self.texts)} texts.")
        if self.sequences is not None and len(self.sequences) != shape[0]:
            raise ValueError(
                f"Pool has {shape[0]} feature rows but {len(self.sequences)} token sequences."
            )

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        column: str | None = None,
        texts: Sequence[str] | None = None,
        sequences: Sequence[Sequence[str]] | None = None,
    ) -> Pool:
        """A pool over a feature matrix on disk, never read whole.

        A ``.npy`` file is memory-mapped read-only; a ``.parquet`` file's ``column`` of
        vectors is read a row group at a time (:class:`~labelwise.data.parquet.ParquetRows`).
        Either way :meth:`rows` reads the rows asked for, and the query strategies score
        the pool in chunks of rows (``chunk_size``), converting one chunk at a time to the
        learner's precision. float16 halves the disk and page cache float32 takes (10
        million MiniLM vectors: 7.7 GB against 15.4 GB).

        Parameters
        ----------
        path : str or Path
            A 2-d float16, float32 or float64 array saved by ``numpy.save``, or a Parquet
            file.
        column : str, optional
            The Parquet column holding one vector per row (Parquet files only).
        texts, sequences : optional
            As for the constructor.

        Raises
        ------
        ValueError
            Naming the file (and the column), when it holds no such matrix.
        """
        path = Path(path)
        if path.suffix == ".parquet":
            if column is None:
                raise ValueError(
                    f"{path}: name the column of vectors, Pool.open(path, column=...)."
                )
            from labelwise.data.parquet import ParquetRows

            return cls(ParquetRows(path, column), texts=texts, sequences=sequences)
        if column is not None:
            raise ValueError(f"{path}: 'column' is for Parquet files; a .npy holds one matrix.")
        try:
            features = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a NumPy .npy feature matrix ({exc}).") from None
        if features.ndim != 2 or features.dtype not in _MAPPED_DTYPES:
            raise ValueError(
                f"{path}: a pool's features must be a 2-d float16, float32 or float64 "
                f"array; this one is {features.ndim}-d {features.dtype}."
            )
        return cls(features, texts=texts, sequences=sequences, mapped_from=path.resolve())

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        if self.mapped_from is None:
            return super().__reduce_ex__(protocol)
        # Pickling the memmap would copy every row; the path is enough to map them again.
        return (_reopen, (self.mapped_from, self.texts, self.sequences))

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def rows(self, indices: IndexArray, *, joined: bool = False) -> Any:
        """Feature rows at ``indices``: a CSR slice for sparse features (and what a
        row-addressable matrix returns: sparse rows stay sparse); for dense ones a view
        when ``indices`` is a run of consecutive positions, else a copy.

        ``joined=True`` asks for :class:`~labelwise.data.joined.JoinedRows` where the
        features keep blocks apart (a row-addressable matrix with a ``joined_rows(rows)``
        method, as the server's feature store has): for learners that read them
        (``reads_joined_rows``). Other features give their usual rows.
        """
        joined_rows = getattr(self.features, "joined_rows", None) if joined else None
        if joined_rows is not None:
            return joined_rows(_as_run(np.asarray(indices)))
        if sp.issparse(self.features):
            return self.features[indices]
        idx = np.asarray(indices)
        # Arrays and row-addressable matrices alike are asked for these rows only; a run
        # of consecutive positions is a slice (a view of an array, not a copy).
        rows = self.features[_as_run(idx)]
        return rows if sp.issparse(rows) else np.asarray(rows)

    def sequences_at(self, indices: IndexArray) -> list[Sequence[str]]:
        """The token sequences at ``indices``, in that order.

        Raises
        ------
        ValueError
            When the pool was built without ``sequences``.
        """
        if self.sequences is None:
            raise ValueError(
                "This pool has no token sequences; build it with Pool(features, sequences=...)."
            )
        sequences = self.sequences
        return [sequences[int(i)] for i in np.asarray(indices).reshape(-1)]

    def complement(self, *index_sets: IndexArray) -> IndexArray:
        """Positions in none of ``index_sets``, ascending."""
        mask = np.ones(len(self), dtype=bool)
        for idx in index_sets:
            mask[idx] = False
        return np.flatnonzero(mask).astype(np.intp)


def _as_run(idx: NDArray[np.integer[Any]]) -> slice | NDArray[np.integer[Any]]:
    """``idx`` as a slice when it is a run of consecutive positions (a view, not a copy),
    else ``idx`` itself."""
    if idx.ndim == 1 and idx.size > 1 and idx[-1] - idx[0] == idx.size - 1:
        if (np.diff(idx) == 1).all():
            return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _reopen(
    path: Path, texts: Sequence[str] | None, sequences: Sequence[Sequence[str]] | None
) -> Pool:
    return Pool.open(path, texts=texts, sequences=sequences)
