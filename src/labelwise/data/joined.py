"""Feature blocks of the same rows side by side: joined into one CSR matrix, or kept apart.

A sentence embedding beside TF-IDF n-grams (``minilm+tfidf``) is one row of 384 dense
values and a few dozen sparse ones. Joined as one CSR matrix the dense block becomes 384
stored values a row, and a linear model's product over it runs through SciPy's sparse
loop: on a million rows and 150 classes, 10 s to build the matrix and 12.6 s to multiply,
on one core. Kept apart (:class:`JoinedRows`), the dense block goes through BLAS (1.3 s)
and the sparse block through the sparse loop with its own few values (1.5 s).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.preprocessing import normalize


def join_blocks(blocks: Sequence[Any], weights: Sequence[float]) -> sp.csr_matrix:
    """Blocks of the same rows side by side, each row of each block unit length times its
    block's weight: what :meth:`~labelwise.features.ConcatenatedFeaturizer.join` returns,
    for callers that keep the blocks apart (the server's feature store) and join the rows
    a chunk needs.

    Parameters
    ----------
    blocks : sequence of array-like or sparse matrix, each of shape (n_rows, width_i)
    weights : sequence of float, one per block

    Returns
    -------
    csr_matrix of shape (n_rows, sum of the widths), float64
    """
    _check_blocks(blocks, weights)
    scaled = []
    for block, weight in zip(blocks, weights, strict=True):
        rows = block.astype(np.float64) if sp.issparse(block) else np.asarray(block, np.float64)
        scaled.append(sp.csr_matrix(normalize(rows, norm="l2") * float(weight)))
    return sp.hstack(scaled, format="csr")


def _check_blocks(blocks: Sequence[Any], weights: Sequence[float]) -> None:
    if len(blocks) != len(weights):
        raise ValueError(f"{len(weights)} parts but {len(blocks)} blocks.")
    if len({b.shape[0] for b in blocks}) > 1:
        raise ValueError(f"Blocks differ in rows: {[b.shape[0] for b in blocks]}.")


class JoinedRows:
    """The rows :func:`join_blocks` would return, kept as their blocks.

    A pool whose features are stored as blocks (the server's feature store for
    ``minilm+tfidf``) hands these to a learner that reads them
    (``learner.reads_joined_rows``; :class:`~labelwise.learners.ProbabilisticClassifier`
    does) when :meth:`Pool.rows <labelwise.data.Pool.rows>` is asked for ``joined`` rows;
    every other consumer gets :meth:`tocsr`.

    Parameters
    ----------
    blocks : sequence of ndarray or sparse matrix, each of shape (n_rows, width_i)
        Dense blocks (float16, float32 or float64) and sparse ones, in column order.
    weights : sequence of float, one per block
        Each block's rows are scaled to unit length, then by this weight.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> rows = JoinedRows([np.array([[3.0, 4.0]]), sp.csr_matrix([[0.0, 2.0, 0.0]])], [1.0, 2.0])
    >>> rows.shape, rows.widths
    ((1, 5), (2, 3))
    >>> rows.tocsr().toarray().round(2).tolist()
    [[0.6, 0.8, 0.0, 2.0, 0.0]]
    """

    def __init__(self, blocks: Sequence[Any], weights: Sequence[float]) -> None:
        _check_blocks(blocks, weights)
        if not blocks:
            raise ValueError("JoinedRows needs at least one block.")
        self.blocks = tuple(b if sp.issparse(b) else np.asarray(b) for b in blocks)
        self.weights = tuple(float(w) for w in weights)

    @property
    def widths(self) -> tuple[int, ...]:
        """Columns of each block, in order."""
        return tuple(int(b.shape[1]) for b in self.blocks)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.blocks[0].shape[0]), sum(self.widths))

    def __len__(self) -> int:
        return self.shape[0]

    def tocsr(self) -> sp.csr_matrix:
        """The rows as one CSR matrix, float64: exactly :func:`join_blocks` of the blocks."""
        return join_blocks(self.blocks, self.weights)

    def scaled(self, start: int, stop: int) -> Iterator[tuple[int, Any]]:
        """``(first column, rows start:stop of a block, scaled)`` for each block in order:
        float32 rows of unit length times the block's weight, dense blocks as ndarrays and
        sparse ones as CSR. Each row is scaled by its own norm alone, so a row comes out
        the same whatever range it is read in."""
        column = 0
        for block, weight in zip(self.blocks, self.weights, strict=True):
            if sp.issparse(block):
                rows: Any = sp.csr_matrix(block[start:stop]).astype(np.float32)  # a copy
                norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).reshape(-1))
                rows.data *= np.repeat(_scales(norms, weight), np.diff(rows.indptr))
            else:
                rows = np.array(block[start:stop], dtype=np.float32)
                norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
                rows *= _scales(norms, weight)[:, None]
            yield column, rows
            column += int(block.shape[1])

    def __repr__(self) -> str:
        return f"JoinedRows(shape={self.shape}, widths={self.widths}, weights={self.weights})"


def _scales(norms: NDArray[np.floating[Any]], weight: float) -> NDArray[np.float32]:
    """``weight / norm`` per row; rows of norm 0 stay 0 (as ``normalize`` leaves them)."""
    safe = np.where(norms > 0, norms, 1.0)
    return np.asarray(weight / safe, dtype=np.float32)
