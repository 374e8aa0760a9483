"""A Parquet column of vectors as a pool's feature matrix, read a row group at a time."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Parquet value types a feature column may hold, as NumPy dtypes.
_VALUE_TYPES = {"halffloat": np.float16, "float": np.float32, "double": np.float64}


class ParquetRows:
    """The vectors in one column of a Parquet file, as a row-addressable matrix.

    Give it to :class:`~labelwise.data.Pool` (or use :meth:`Pool.open
    <labelwise.data.Pool.open>` on a ``.parquet`` path): the pool asks for the rows of one
    chunk at a time, and only the row groups holding them are read and decoded. The last
    row group read is kept, since chunks walk the pool in order; scoring threads share
    the file under a lock. Pickles as its path and column, so Dask workers read their own
    partitions from the file.

    Parameters
    ----------
    path : str or Path
    column : str
        A column of fixed-size lists (or lists of one length) of float16, float32 or
        float64 values: one vector per row.

    Attributes
    ----------
    shape : tuple of int
        ``(n_rows, n_columns)``.
    dtype : numpy dtype

    Raises
    ------
    ValueError
        Naming the file and the column, when the file is not Parquet, the column is
        missing, or it does not hold float vectors of one length.
    """

    def __init__(self, path: str | Path, column: str) -> None:
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.column = column
        try:
            self._file = pq.ParquetFile(self.path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: not a readable Parquet file ({exc}).") from None
        schema = self._file.schema_arrow
        if column not in schema.names:
            raise ValueError(
                f"{self.path}: no column {column!r}; the columns are {', '.join(schema.names)}."
            )
        kind = schema.field(column).type
        value = getattr(kind, "value_type", None)
        if value is None or str(value) not in _VALUE_TYPES:
            raise ValueError(
                f"{self.path}: column {column!r} holds {kind}; a feature column holds lists "
                "of float16, float32 or float64 values."
            )
        self.dtype = np.dtype(_VALUE_TYPES[str(value)])
        meta = self._file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._cached: tuple[int, NDArray[Any]] | None = None
        self._lock = threading.Lock()
        width = getattr(kind, "list_size", None)
        if width is None:  # variable-length lists: the first row group says the width
            width = self._group(0).shape[1] if sizes and sizes[0] else 0
        self.shape = (int(self._starts[-1]), int(width))

    def _group(self, i: int) -> NDArray[Any]:
        """Row group ``i`` as a (rows, width) array."""
        cached = self._cached  # one read: another scoring thread may replace it
        if cached is not None and cached[0] == i:
            return cached[1]
        with self._lock:  # one reader object, shared by the scoring threads
            table = self._file.read_row_group(i, columns=[self.column])
        values = table.column(0).combine_chunks()
        rows = len(values)
        if values.null_count:
            raise ValueError(
                f"{self.path}: column {self.column!r} has {values.null_count} empty (null) "
                f"vectors in row group {i}; every row needs one."
            )
        lengths = getattr(values, "value_lengths", None)
        if lengths is not None and rows and len(set(lengths().to_numpy().tolist())) > 1:
            raise ValueError(
                f"{self.path}: column {self.column!r} holds vectors of different lengths "
                f"in row group {i}."
            )
        flat = values.flatten().to_numpy(zero_copy_only=False)
        matrix = np.asarray(flat, dtype=self.dtype).reshape(rows, -1 if rows else 0)
        if getattr(self, "shape", None) is not None and rows and matrix.shape[1] != self.shape[1]:
            raise ValueError(
                f"{self.path}: column {self.column!r} holds vectors of {matrix.shape[1]} "
                f"values in row group {i}, {self.shape[1]} before."
            )
        self._cached = (i, matrix)
        return matrix

    def __getitem__(self, rows: Any) -> NDArray[Any]:
        if isinstance(rows, slice):
            positions = np.arange(*rows.indices(self.shape[0]))
        else:
            positions = np.asarray(rows, dtype=np.int64).reshape(-1)
        if positions.size and (positions.min() < 0 or positions.max() >= self.shape[0]):
            raise IndexError(f"{self.path}: rows outside 0..{self.shape[0] - 1}.")
        out = np.empty((positions.size, self.shape[1]), dtype=self.dtype)
        groups = np.searchsorted(self._starts, positions, side="right") - 1
        for group in np.unique(groups):
            here = groups == group
            out[here] = self._group(int(group))[positions[here] - self._starts[group]]
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (ParquetRows, (self.path, self.column))

    def __repr__(self) -> str:
        return f"ParquetRows({str(self.path)!r}, column={self.column!r})"
