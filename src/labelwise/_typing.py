"""Array aliases and capability protocols shared across the library."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

IndexArray: TypeAlias = NDArray[np.intp]
"""Positions in a pool, shape (n,)."""

IndexLike: TypeAlias = "IndexArray | Sequence[int]"
"""Anything ``np.asarray`` turns into positions: an index array or a list of ints."""

ProbaArray: TypeAlias = NDArray[np.float64]
"""Class probabilities, shape (n_samples, n_classes), columns in label-schema order."""

FeatureMatrix: TypeAlias = "NDArray[np.floating[Any]] | sp.csr_matrix"
"""Features, shape (n_samples, n_features): dense embeddings or sparse TF-IDF rows."""

RandomStateLike: TypeAlias = "int | np.random.Generator | None"


@runtime_checkable
class Learner(Protocol):
    """A fitted model as a query strategy sees it (the scikit-learn classifier contract).

    ``predict_proba(X)`` returns (n_samples, n_classes) with columns ordered as ``classes_``.
    Extra powers (``member_proba``, ``embed``) are checked where a strategy needs them.
    """

    classes_: NDArray[Any]

    def predict_proba(self, X: Any) -> ProbaArray: ...
