"""Batch-aware strategies that spread a batch over the pool: core-set, BADGE, cluster-margin.

Pointwise scores pick near-duplicates: ten paraphrases of one confusing utterance all score
high together. These strategies choose the batch as a whole, trading uncertainty against
coverage. None of them builds an ``n_pool x n_pool`` matrix: each keeps one distance per
unlabeled item and updates it after every pick, walking the feature rows in chunks.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from labelwise._rows import as_float_rows, row_dots, squared_row_norms
from labelwise._typing import IndexArray, Learner, RandomStateLike
from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.exceptions import NotFittedError
from labelwise.strategies._select import top_k
from labelwise.strategies.base import Query, QueryStrategy
from labelwise.strategies.context import QueryContext
from labelwise.strategies.uncertainty import MarginSampling

#: Labeled rows compared at once when seeding core-set distances: a block of distances holds
#: at most ``chunk_size x _CENTRE_BLOCK`` floats.
_CENTRE_BLOCK = 256


def _rows(pool: Pool, positions: IndexArray) -> Any:
    """Feature rows at ``positions`` as float64 (dense ndarray or CSR), shape (m, n_features)."""
    return as_float_rows(pool.rows(positions))


class _ChunkedRows:
    """The feature rows at ``positions``, served ``chunk_size`` rows at a time.

    The rows are kept in memory only when a single chunk holds them all; otherwise each pass
    gathers them again, so no more than one chunk of rows exists at once.
    """

    def __init__(self, pool: Pool, positions: IndexArray, chunk_size: int) -> None:
        self.pool = pool
        self.positions = positions
        self.chunk_size = chunk_size
        self._cached = _rows(pool, positions) if positions.size <= chunk_size else None

    def __iter__(self) -> Iterator[tuple[slice, Any]]:
        size = self.positions.size
        if self._cached is not None:
            yield slice(0, size), self._cached
            return
        for start in range(0, size, self.chunk_size):
            stop = min(start + self.chunk_size, size)
            yield slice(start, stop), _rows(self.pool, self.positions[start:stop])


def _argmax_tiebreak(values: NDArray[np.float64], keys: NDArray[np.float64]) -> int:
    """Position of the largest of ``values``; ties go to the smallest random ``keys``."""
    ties = np.flatnonzero(values == values.max())
    return int(ties[np.argmin(keys[ties])])


def _check_proba_learner(learner: Any, owner: str) -> Learner:
    """``learner`` narrowed to a classifier once its predict_proba is checked.

    Only predict_proba is read downstream, so ``classes_`` is not required.
    """
    if learner is None or not hasattr(learner, "predict_proba"):
        raise NotFittedError(
            f"{owner} needs a fitted learner with predict_proba; "
            "start from a seed set or a cold-start strategy."
        )
    return cast(Learner, learner)


class CoreSet(QueryStrategy):
    """k-center greedy core-set (Sener & Savarese, 2018) on the pool's feature rows.

    Each pick is the unlabeled item farthest (Euclidean) from every labeled or already
    chosen item, so the batch covers the feature space like a set of ``k`` centres. One
    distance per unlabeled item (to its nearest centre) is kept and lowered after each pick,
    which costs ``O(n_unlabeled x n_features)`` per pick, computed ``chunk_size`` rows at a
    time. Distances use ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b``, so sparse CSR rows cost
    only their non-zeros. The learner is not used.

    With no labeled items the first pick is the unlabeled item nearest the unlabeled mean.

    Parameters
    ----------
    random_state : int, Generator or None
        Used when ``query`` is given no ``random_state``; breaks exact distance ties.
    chunk_size : int, default 16384
        Feature rows handled at once.

    Notes
    -----
    A pick's score is its distance to the nearest labeled-or-chosen item at the moment it
    was picked, in feature units; greedy picks make these non-increasing. The first pick of
    a pool with no labeled items has no such distance (it would be infinite), so it is
    scored with the covering radius it leaves, the largest distance from it to any other
    unlabeled item, which keeps scores finite and still non-increasing.

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> pool = Pool(np.array([[0.0], [1.0], [2.0], [10.0]]))
    >>> q = CoreSet().query(None, pool, [0], [1, 2, 3], 2, random_state=0)
    >>> q.indices.tolist(), q.scores.tolist()
    ([3, 2], [10.0, 2.0])
    """

    requires_learner = False

    def __init__(self, *, random_state: RandomStateLike = None, chunk_size: int = 16384) -> None:
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _own_random_state(self) -> RandomStateLike:
        return self.random_state

    def _select(self, ctx: QueryContext, n: int) -> Query:
        pool, labeled, unlabeled, rng = ctx.pool, ctx.labeled, ctx.unlabeled, ctx.rng
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", "CoreSet")
        keys = rng.random(unlabeled.size)
        rows = _ChunkedRows(pool, unlabeled, chunk_size)
        sq = np.empty(unlabeled.size, dtype=np.float64)
        for part, x in rows:
            sq[part] = squared_row_norms(x)

        min_d2 = np.full(unlabeled.size, np.inf)
        if labeled.size:
            self._seed_from_labeled(pool, labeled, rows, sq, min_d2)

        available = np.ones(unlabeled.size, dtype=bool)
        chosen = np.empty(n, dtype=np.intp)
        scores = np.empty(n, dtype=np.float64)
        for t in range(n):
            if t == 0 and labeled.size == 0:
                pick = self._nearest_mean(rows, sq, keys)
            else:
                pick = _argmax_tiebreak(np.where(available, min_d2, -np.inf), keys)
                scores[t] = np.sqrt(max(float(min_d2[pick]), 0.0))
            chosen[t] = pick
            available[pick] = False
            # The last update is only needed to score a lone first pick (no labeled items).
            if t < n - 1 or (t == 0 and labeled.size == 0):
                centre = _rows(pool, unlabeled[[pick]])
                centre_sq = float(squared_row_norms(centre)[0])
                for part, x in rows:
                    d2 = sq[part] + centre_sq - 2.0 * row_dots(x, centre)[:, 0]
                    np.minimum(min_d2[part], d2, out=min_d2[part])
                min_d2[pick] = 0.0
            if t == 0 and labeled.size == 0:
                rest = min_d2[available]
                scores[0] = np.sqrt(max(float(rest.max()), 0.0)) if rest.size else 0.0
        return Query(indices=unlabeled[chosen], scores=scores, strategy=repr(self))

    @staticmethod
    def _seed_from_labeled(
        pool: Pool,
        labeled: IndexArray,
        rows: _ChunkedRows,
        sq: NDArray[np.float64],
        min_d2: NDArray[np.float64],
    ) -> None:
        """Lower ``min_d2`` (n_unlabeled,) to the squared distance to the nearest labeled item."""
        for part, x in rows:
            for start in range(0, labeled.size, _CENTRE_BLOCK):
                centres = _rows(pool, labeled[start : start + _CENTRE_BLOCK])
                d2 = (
                    sq[part, None]
                    + squared_row_norms(centres)[None, :]
                    - 2.0 * row_dots(x, centres)
                )
                np.minimum(min_d2[part], d2.min(axis=1), out=min_d2[part])

    @staticmethod
    def _nearest_mean(
        rows: _ChunkedRows, sq: NDArray[np.float64], keys: NDArray[np.float64]
    ) -> int:
        """Position (into the unlabeled set) of the item nearest the unlabeled mean."""
        total = np.zeros(rows.pool.features.shape[1], dtype=np.float64)
        for _, x in rows:
            total += np.asarray(x.sum(axis=0), dtype=np.float64).reshape(-1)
        mean = (total / sq.size)[None, :]
        d2 = np.empty(sq.size, dtype=np.float64)
        for part, x in rows:
            # ||mean||^2 is the same for every row, so it does not change the order.
            d2[part] = sq[part] - 2.0 * row_dots(x, mean)[:, 0]
        return _argmax_tiebreak(-d2, keys)


def _grad_sq_distances(
    a: NDArray[np.float64],
    x: Any,
    g2: NDArray[np.float64],
    a_centre: NDArray[np.float64],
    x_centre: Any,
    g2_centre: float,
) -> NDArray[np.float64]:
    """Squared distances between gradient embeddings, without building them.

    With ``g = a (x) [x, 1]`` (Kronecker product),
    ``||g_i - g_c||^2 = ||g_i||^2 + ||g_c||^2 - 2 (a_i . a_c) (x_i . x_c + 1)``.

    Parameters
    ----------
    a : ndarray of shape (m, n_classes)
        ``p - e_yhat`` per item.
    x : ndarray or CSR matrix of shape (m, n_features)
    g2 : ndarray of shape (m,)
        ``||a||^2 (||x||^2 + 1)``, the squared embedding norms.
    a_centre : ndarray of shape (n_classes,)
    x_centre : ndarray or CSR matrix of shape (1, n_features)
    g2_centre : float

    Returns
    -------
    d2 : ndarray of shape (m,)
        Clipped at 0; values within rounding error of 0 are set to exactly 0.
    """
    cross = (a @ a_centre) * (row_dots(x, x_centre)[:, 0] + 1.0)
    d2 = g2 + g2_centre - 2.0 * cross
    # Cancellation leaves noise of order eps * (||g_i||^2 + ||g_c||^2) for identical items.
    d2[d2 <= 1e-9 * (g2 + g2_centre)] = 0.0
    return d2


class BADGE(QueryStrategy):
    """Batch Active learning by Diverse Gradient Embeddings (Ash et al., 2020).

    Each unlabeled item is represented by the gradient of the cross-entropy loss with
    respect to the last linear layer, taking the predicted class as the label:
    ``g_i = (p_i - e_yhat_i) (x) [x_i, 1]``, where ``x_i`` is the item's feature row (the
    input of the linear model). Its norm grows with uncertainty and its direction encodes
    the item; k-means++ seeding over these vectors yields a batch that is both uncertain
    and diverse. The ``(n, n_classes * (n_features + 1))`` embedding is never built: squared
    distances factorise into ``a_i . a_j`` and ``x_i . x_j`` terms, so a pick costs
    ``O(n_unlabeled x (n_classes + n_features))``, computed ``chunk_size`` rows at a time.
    Multi-label learners (``learner.multilabel``) use ``a = p - [p >= 0.5]``.

    Seeding: the first centre is the item with the largest gradient norm; each later
    centre is drawn with probability proportional to ``D^2``, its squared distance to the
    nearest centre so far. When every remaining ``D^2`` is 0 (duplicates, or a model that
    is certain everywhere) the next centre is drawn uniformly from the items not yet
    chosen, so a batch never repeats an item.

    Parameters
    ----------
    random_state : int, Generator or None
        Used when ``query`` is given no ``random_state``; drives the ``D^2`` sampling.
    chunk_size : int, default 16384
        Feature rows (and probability rows) handled at once.

    Notes
    -----
    ``a`` is kept for every unlabeled item: ``n_unlabeled x n_classes`` floats.

    A pick's score is its ``D^2`` when it was chosen (the first centre: its squared
    gradient norm). Sampling makes these go up and down, so the batch is returned sorted
    by score, highest first (stable, so equal scores keep their pick order); the batch as a
    set is exactly the k-means++ seeding.

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> X = np.array([[0.0, 0.0], [4.0, 4.0], [2.0, 1.9], [2.1, 2.0], [1.9, 2.1], [0.2, 4.0]])
    >>> clf = ProbabilisticClassifier(classes=["a", "b"]).fit(X[:2], ["a", "b"])
    >>> q = BADGE().query(clf, Pool(X), [0, 1], [2, 3, 4, 5], 2, random_state=0)
    >>> 5 in q.indices, len(set(q.indices.tolist()))  # the far item, plus one of the middle three
    (True, 2)
    """

    def __init__(self, *, random_state: RandomStateLike = None, chunk_size: int = 16384) -> None:
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _own_random_state(self) -> RandomStateLike:
        return self.random_state

    def _select(self, ctx: QueryContext, n: int) -> Query:
        pool, unlabeled, rng = ctx.pool, ctx.unlabeled, ctx.rng
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", "BADGE")
        learner = _check_proba_learner(ctx.learner, "BADGE")
        keys = rng.random(unlabeled.size)
        rows = _ChunkedRows(pool, unlabeled, chunk_size)
        a, g2 = self._gradient_factors(learner, pool, unlabeled, rows, chunk_size)

        available = np.ones(unlabeled.size, dtype=bool)
        d2_min = np.full(unlabeled.size, np.inf)
        chosen = np.empty(n, dtype=np.intp)
        scores = np.empty(n, dtype=np.float64)
        for t in range(n):
            if t == 0:
                pick = _argmax_tiebreak(g2, keys)
                scores[t] = g2[pick]
            else:
                pick = self._sample_d2(np.where(available, d2_min, 0.0), available, rng)
                scores[t] = d2_min[pick]
            chosen[t] = pick
            available[pick] = False
            if t == n - 1:
                break
            x_centre = _rows(pool, unlabeled[[pick]])
            for part, x in rows:
                d2 = _grad_sq_distances(a[part], x, g2[part], a[pick], x_centre, float(g2[pick]))
                np.minimum(d2_min[part], d2, out=d2_min[part])
            d2_min[pick] = 0.0
        order = np.argsort(-scores, kind="stable")
        return Query(indices=unlabeled[chosen[order]], scores=scores[order], strategy=repr(self))

    @staticmethod
    def _gradient_factors(
        learner: Learner, pool: Pool, unlabeled: IndexArray, rows: _ChunkedRows, chunk_size: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``a = p - e_yhat`` (n_unlabeled, n_classes) and squared embedding norms (n_unlabeled,)."""
        multilabel = bool(getattr(learner, "multilabel", False))
        parts: list[NDArray[np.float64]] = []
        for start in range(0, unlabeled.size, chunk_size):
            block = unlabeled[start : start + chunk_size]
            proba = np.asarray(learner.predict_proba(pool.rows(block)), dtype=np.float64)
            if multilabel:
                hard = (proba >= 0.5).astype(np.float64)
            else:
                hard = np.zeros_like(proba)
                hard[np.arange(block.size), np.argmax(proba, axis=1)] = 1.0
            parts.append(proba - hard)
        a = np.concatenate(parts, axis=0)
        s = np.empty(unlabeled.size, dtype=np.float64)
        for part, x in rows:
            s[part] = squared_row_norms(x) + 1.0
        return a, np.einsum("ij,ij->i", a, a) * s

    @staticmethod
    def _sample_d2(
        weights: NDArray[np.float64], available: NDArray[np.bool_], rng: Generator
    ) -> int:
        """Draw a position with probability proportional to ``weights`` (0 where unavailable)."""
        total = float(weights.sum())
        if not np.isfinite(total) or total <= 0.0:
            candidates = np.flatnonzero(available)
            return int(candidates[rng.integers(candidates.size)])
        cdf = np.cumsum(weights)
        pick = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        # side="right" never lands on a zero weight; only rounding at the top end can overshoot.
        return min(pick, int(np.flatnonzero(weights > 0.0)[-1]))


class ClusterMargin(QueryStrategy):
    """Margin shortlist, then a batch spread over clusters (after Citovsky et al., 2021).

    Scores every unlabeled item with :class:`MarginSampling`, keeps the
    ``M = shortlist_factor * n`` most uncertain, clusters their feature rows with k-means,
    then visits the clusters round-robin, smallest first, taking the most uncertain item
    left in each until ``n`` are chosen. Small clusters go first so that rare regions of
    the shortlist are represented before the big clusters fill the batch.

    Parameters
    ----------
    shortlist_factor : int, default 10
        Shortlist size as a multiple of ``n`` (capped at the number of unlabeled items).
    n_clusters : int or None, default None
        k-means clusters; ``None`` means ``n``. Capped at the shortlist size.
    random_state : int, Generator or None
        Used when ``query`` is given no ``random_state``; seeds tie-breaks and k-means.
    chunk_size : int, default 16384
        Rows per ``predict_proba`` call while scoring margins.

    Notes
    -----
    Unlike the original method, clusters are computed per query on the shortlist (not once
    on the whole pool with hierarchical clustering), which keeps memory at
    ``M x n_features``. A pick's score is its margin utility ``1 - (p_(1) - p_(2))``;
    round-robin order is not score order, so the batch is returned sorted by score, highest
    first (stable, so equal scores keep their round-robin order).

    Examples
    --------
    Items 2, 3 and 4 sit together on the decision boundary; margin alone takes two of them.

    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> from labelwise.strategies import MarginSampling
    >>> X = np.array([[0.0, 0.0], [4.0, 4.0], [2.0, 1.9], [2.1, 2.0], [1.9, 2.1], [0.2, 4.0]])
    >>> clf = ProbabilisticClassifier(classes=["a", "b"]).fit(X[:2], ["a", "b"])
    >>> args = (clf, Pool(X), [0, 1], [2, 3, 4, 5], 2)
    >>> MarginSampling().query(*args, random_state=0).indices.tolist()
    [4, 2]
    >>> ClusterMargin().query(*args, random_state=0).indices.tolist()
    [4, 5]
    """

    def __init__(
        self,
        *,
        shortlist_factor: int = 10,
        n_clusters: int | None = None,
        random_state: RandomStateLike = None,
        chunk_size: int = 16384,
    ) -> None:
        self.shortlist_factor = shortlist_factor
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.chunk_size = chunk_size

    def _own_random_state(self) -> RandomStateLike:
        return self.random_state

    def _select(self, ctx: QueryContext, n: int) -> Query:
        pool, unlabeled = ctx.pool, ctx.unlabeled
        factor = check_positive_int(self.shortlist_factor, "shortlist_factor", "ClusterMargin")
        n_clusters = n
        if self.n_clusters is not None:
            n_clusters = check_positive_int(self.n_clusters, "n_clusters", "ClusterMargin")
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", "ClusterMargin")
        _check_proba_learner(ctx.learner, "ClusterMargin")
        rng = ctx.rng

        utility = MarginSampling(chunk_size=chunk_size).score_all(ctx, unlabeled)
        shortlist = top_k(utility, rng.random(unlabeled.size), min(unlabeled.size, factor * n))
        n_clusters = min(n_clusters, shortlist.size)
        labels = self._cluster(pool.rows(unlabeled[shortlist]), n_clusters, rng)
        picked = shortlist[self._round_robin(labels, n_clusters)[:n]]
        order = np.argsort(-utility[picked], kind="stable")
        picked = picked[order]
        return Query(indices=unlabeled[picked], scores=utility[picked], strategy=repr(self))

    @staticmethod
    def _cluster(x: Any, n_clusters: int, rng: Generator) -> NDArray[np.intp]:
        """k-means cluster label of each shortlisted row (M,)."""
        if n_clusters == 1:
            return np.zeros(x.shape[0], dtype=np.intp)
        kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=int(rng.integers(2**31 - 1)))
        with warnings.catch_warnings():
            # Duplicate rows can leave fewer distinct clusters than asked; round-robin copes.
            warnings.filterwarnings(
                "ignore", message="Number of distinct clusters", category=ConvergenceWarning
            )
            labels = kmeans.fit_predict(x)
        return np.asarray(labels, dtype=np.intp)

    @staticmethod
    def _round_robin(labels: NDArray[np.intp], n_clusters: int) -> IndexArray:
        """Visiting order of shortlist positions: round by round, smallest cluster first.

        ``labels`` (M,) follows the shortlist, which is best first, so within a cluster the
        order of appearance is the order of uncertainty.
        """
        sizes = np.bincount(labels, minlength=n_clusters)
        turn_of_cluster = np.empty(n_clusters, dtype=np.intp)
        turn_of_cluster[np.argsort(sizes, kind="stable")] = np.arange(n_clusters)
        by_cluster = np.argsort(labels, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(labels.size, dtype=np.intp)
        rank[by_cluster] = np.arange(labels.size) - starts[labels[by_cluster]]
        return np.lexsort((turn_of_cluster[labels], rank)).astype(np.intp)
