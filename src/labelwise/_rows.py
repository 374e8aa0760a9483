"""Row-wise linear algebra shared by strategies and cold start, for dense arrays and CSR.

Feature matrices are either dense embeddings or sparse TF-IDF rows; these helpers give one
answer for both, so no strategy carries its own sparse branch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.preprocessing import normalize


def as_float_rows(x: Any) -> Any:
    """``x`` as float64: a dense ndarray, or a CSR matrix when ``x`` is sparse."""
    if sp.issparse(x):
        return sp.csr_matrix(x, dtype=np.float64)
    return np.asarray(x, dtype=np.float64)


def squared_row_norms(x: Any) -> NDArray[np.float64]:
    """``||x_i||^2`` of every row, shape (n_rows,)."""
    if sp.issparse(x):
        return np.asarray(x.multiply(x).sum(axis=1), dtype=np.float64).reshape(-1)
    dense = np.asarray(x, dtype=np.float64)
    return np.asarray(np.einsum("ij,ij->i", dense, dense), dtype=np.float64)


def row_dots(a: Any, b: Any) -> NDArray[np.float64]:
    """All row dot products ``a @ b.T`` as a dense (n_a, n_b) array; cost follows non-zeros."""
    prod = a @ b.T
    if sp.issparse(prod):
        prod = prod.toarray()
    return np.asarray(prod, dtype=np.float64)


def unit_rows(x: Any) -> Any:
    """L2-normalised copy of ``x`` (dense or CSR); all-zero rows stay zero."""
    if x.shape[1] == 0:  # e.g. a span pool without sentence vectors: every row is zero
        return sp.csr_matrix(x, dtype=np.float64) if sp.issparse(x) else np.zeros(x.shape)
    if sp.issparse(x):
        return normalize(sp.csr_matrix(x), norm="l2", copy=True)
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return normalize(arr, norm="l2", copy=True)


def to_dense(x: Any) -> NDArray[Any]:
    """A dense ndarray of ``x``."""
    return np.asarray(x.toarray() if sp.issparse(x) else x)
