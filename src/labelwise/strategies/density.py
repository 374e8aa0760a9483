"""Information density: weight any pointwise utility by how typical an item is of the pool."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._rows import as_float_rows, squared_row_norms
from labelwise._typing import IndexArray
from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.strategies.base import PointwiseStrategy
from labelwise.strategies.context import QueryContext


def _inverse_norms(x: Any) -> NDArray[np.float64]:
    """``1 / ||x_i||`` per row (m,), 0 for all-zero rows (their cosine counts as 0)."""
    sq = squared_row_norms(x)
    out = np.zeros(sq.size, dtype=np.float64)
    np.divide(1.0, np.sqrt(sq), out=out, where=sq > 0)
    return out


def _matvec(x: Any, v: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(x @ v, dtype=np.float64).reshape(-1)


class InformationDensity(PointwiseStrategy):
    """Information density (Settles & Craven, 2008) around any pointwise strategy.

    ``score(x) = base_score(x) * density(x) ** beta``, where ``density(x)`` is the mean
    cosine similarity of ``x`` to every item of the pool (labeled ones and ``x`` itself
    included). Outliers are uncertain too, but labelling them teaches the model little
    about the rest of the pool; the density factor discounts them.

    No ``n_pool x n_pool`` similarity matrix is built: with rows scaled to unit length,
    ``mean_j cos(x, x_j) = x_hat . mean_j x_hat_j``, so each query first sums the unit rows
    of the pool (``chunk_size`` rows at a time) into one vector of shape (n_features,) and
    each item's density is then a single dot product.

    Parameters
    ----------
    base : PointwiseStrategy
        The utility to weight, e.g. ``MarginSampling()``; what its ``prepare`` returns is
        passed through to its ``score_block``. The wrapper's ``chunk_size`` governs the chunking.
    beta : float, default 1.0
        Weight of the density term, in [0, inf); 0 gives back ``base``.
    chunk_size : int, default 16384
        Rows per chunk, both for the pool sum and for scoring.

    Notes
    -----
    A mean similarity below 0 (possible with features that take negative values, such as
    centred embeddings) is clipped to 0 before the power, so a fractional ``beta`` stays
    real and anti-typical items rank last rather than flipping the sign of the utility.
    All-zero feature rows have no direction; they count as similarity 0 to everything.

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> from labelwise.strategies import MarginSampling
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.8], [-1.0, -1.0], [1.0, 1.0]])
    >>> clf = ProbabilisticClassifier(classes=["a", "b"]).fit(X[:2], ["a", "b"])
    >>> args = (clf, Pool(X), [0, 1], [2, 3, 4], 2)
    >>> sorted(MarginSampling().query(*args, random_state=0).indices.tolist())
    [3, 4]
    >>> InformationDensity(MarginSampling()).query(*args, random_state=0).indices.tolist()
    [4, 2]

    Item 3 sits on the decision boundary but points away from the rest of the pool, so its
    density (clipped at 0) removes it.
    """

    def __init__(
        self, base: PointwiseStrategy, *, beta: float = 1.0, chunk_size: int = 16384
    ) -> None:
        super().__init__(chunk_size=chunk_size)
        self.base = base
        self.beta = beta

    @property
    def learner_capability(self) -> str | None:  # type: ignore[override]
        """The base's: density weighting needs nothing more of the learner."""
        return getattr(self.base, "learner_capability", None)

    def _check_learner(self, learner: Any) -> None:
        self._check_base()
        self.base._check_learner(learner)

    def _check_base(self) -> None:
        if not isinstance(self.base, PointwiseStrategy):
            raise TypeError(
                "The 'base' parameter of InformationDensity must be a PointwiseStrategy "
                f"(e.g. MarginSampling()). Got {self.base!r} instead."
            )
        beta = self.beta
        if (
            isinstance(beta, bool)
            or not isinstance(beta, numbers.Real)
            or not np.isfinite(float(beta))
            or beta < 0
        ):
            raise ValueError(
                "The 'beta' parameter of InformationDensity must be a float in [0, inf). "
                f"Got {beta!r} instead."
            )

    def prepare(self, ctx: QueryContext) -> tuple[Any, NDArray[np.float64]]:
        """The base's prepared set-up and the mean unit-length pool row (n_features,)."""
        self._check_base()
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", "InformationDensity")
        base_prepared = self.base.prepare(ctx)
        pool = ctx.pool
        n_pool = len(pool)
        total = np.zeros(pool.features.shape[1], dtype=np.float64)
        for start in range(0, n_pool, chunk_size):
            x = as_float_rows(pool.rows(np.arange(start, min(start + chunk_size, n_pool))))
            # x.T @ (1 / ||x_i||) is the sum of the unit rows, for dense and CSR alike.
            total += np.asarray(x.T @ _inverse_norms(x), dtype=np.float64).reshape(-1)
        return base_prepared, total / n_pool

    def density(
        self, pool: Pool, block: IndexArray, mean_unit: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Mean cosine similarity to the pool of the items at ``block`` (n_block,), clipped at 0."""
        x = as_float_rows(pool.rows(block))
        return np.maximum(_matvec(x, mean_unit) * _inverse_norms(x), 0.0)

    def score_block(
        self, ctx: QueryContext, block: IndexArray, prepared: Any
    ) -> NDArray[np.float64]:
        base_prepared, mean_unit = prepared
        base = np.asarray(self.base.score_block(ctx, block, base_prepared), dtype=np.float64)
        weight = self.density(ctx.pool, block, mean_unit) ** float(self.beta)
        return np.asarray(base * weight, dtype=np.float64)
