"""The pool: index-addressed items with their feature rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelwise._typing import FeatureMatrix, IndexArray


@dataclass(frozen=True, eq=False)
class Pool:
    """Items addressed by position, with one feature row each.

    Every index array in labelwise (labeled, unlabeled, a query's result) holds positions
    in a pool. The pool never changes size while a loop runs over it.

    Parameters
    ----------
    features : ndarray or sparse matrix of shape (n_items, n_features)
    texts : sequence of str, optional
        The raw items, for display and for featurizers that work on text.
    """

    features: FeatureMatrix
    texts: Sequence[str] | None = None

    def __post_init__(self) -> None:
        shape = getattr(self.features, "shape", None)
        if shape is None or len(shape) != 2:
            raise ValueError(
                f"Pool features must be a 2-d array (n_items, n_features). Got shape {shape}."
            )
        if self.texts is not None and len(self.texts) != shape[0]:
            raise ValueError(f"Pool has {shape[0]} feature rows but {len(self.texts)} texts.")

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def rows(self, indices: IndexArray) -> Any:
        """Feature rows at ``indices``: a CSR slice for sparse features; for dense ones a
        view when ``indices`` is a run of consecutive positions, else a copy."""
        if sp.issparse(self.features):
            return self.features[indices]
        dense = np.asarray(self.features)
        idx = np.asarray(indices)
        if (
            idx.ndim == 1
            and idx.size > 1
            and idx[-1] - idx[0] == idx.size - 1
            and (np.diff(idx) == 1).all()
        ):
            return dense[int(idx[0]) : int(idx[-1]) + 1]
        return dense[idx]

    def complement(self, *index_sets: IndexArray) -> IndexArray:
        """Positions in none of ``index_sets``, ascending."""
        mask = np.ones(len(self), dtype=bool)
        for idx in index_sets:
            mask[idx] = False
        return np.flatnonzero(mask).astype(np.intp)
