"""Cold start: choose the first batch to label before any model can be trained.

All strategies here are model-free or use a zero-shot model, and are index-based like the
query strategies: :meth:`SeedSetStrategy.select` returns pool positions, best first, with
a score (higher = more representative). Each is also a :class:`QueryStrategy` whose
``query`` selects among the unlabeled positions without a trained learner, so the loop can
run one as its first round.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.cluster import MiniBatchKMeans
from sklearn.preprocessing import normalize

from labelwise._rows import squared_row_norms
from labelwise._typing import IndexArray, IndexLike, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.data.pool import Pool
from labelwise.exceptions import EmptyPoolError, NotFittedError, PoolExhaustedError, QueryError
from labelwise.strategies._select import top_k
from labelwise.strategies.base import Query, QueryStrategy
from labelwise.strategies.context import QueryContext

_METHODS = ("kmeans", "typical")
_DOT_CHUNK = 16384


class SeedSetStrategy(QueryStrategy):
    """Choose the first ``n`` items to label, with no trained model.

    Subclasses write :meth:`select`. :meth:`query` is the same selection restricted to
    the unlabeled positions (the learner and labels are ignored), so a seed-set strategy
    can stand wherever a query strategy is expected, wrapped or not.
    """

    requires_learner = False

    @abstractmethod
    def select(
        self,
        pool: Pool,
        n: int,
        *,
        candidates: IndexLike | None = None,
        random_state: RandomStateLike = None,
    ) -> Query:
        """Return ``min(n, n_candidates)`` distinct positions, most representative first.

        Parameters
        ----------
        pool : Pool
        n : int, >= 1
        candidates : array-like of int, optional
            Positions to choose from (default: the whole pool).
        random_state : int, Generator or None

        Returns
        -------
        Query
            ``indices`` (n,) pool positions and ``scores`` (n,) sorted non-increasing.
        """

    def _select(self, ctx: QueryContext, n: int) -> Query:
        return self.select(ctx.pool, n, candidates=ctx.unlabeled, random_state=ctx.rng)

    def _check_select_args(
        self, pool: Pool, n: int, candidates: IndexLike | None
    ) -> tuple[IndexArray, int]:
        """Validate; return the candidate positions as intp and the batch size."""
        owner = type(self).__name__
        n = check_positive_int(n, "n", f"{owner}.select")
        n_pool = len(pool)
        if n_pool == 0:
            raise EmptyPoolError(f"{owner}.select was given an empty pool.")
        if candidates is None:
            return np.arange(n_pool, dtype=np.intp), min(n, n_pool)
        cand = np.asarray(candidates, dtype=np.intp).reshape(-1)
        if cand.size == 0:
            raise PoolExhaustedError(f"No candidates are left in the pool of {n_pool} items.")
        if cand.min() < 0 or cand.max() >= n_pool:
            raise QueryError(f"candidates holds positions outside a pool of {n_pool} items.")
        counts = np.bincount(cand, minlength=n_pool)
        if counts.max() > 1:
            raise QueryError(
                f"candidates holds repeated positions: {np.flatnonzero(counts > 1)[:10].tolist()}."
            )
        return cand, min(n, cand.size)


class RandomSeedSet(SeedSetStrategy):
    """Draw the first batch uniformly without replacement; every score is 0.

    The baseline for the other seed sets, and a sound default for balanced data.
    """

    def select(
        self,
        pool: Pool,
        n: int,
        *,
        candidates: IndexLike | None = None,
        random_state: RandomStateLike = None,
    ) -> Query:
        cand, n = self._check_select_args(pool, n, candidates)
        rng = check_random_state(random_state)
        chosen = rng.choice(cand, size=n, replace=False).astype(np.intp)
        return Query(indices=chosen, scores=np.zeros(n), strategy=repr(self))


class RepresentativeSeedSet(SeedSetStrategy):
    """One typical item per k-means cluster of the pool features, largest clusters first.

    The candidates are split into ``n`` clusters with scikit-learn's ``MiniBatchKMeans``
    (``n_init=3``, seeded) on the features as they are (dense or CSR). From each cluster
    the most central member is taken:

    - ``method="kmeans"``: the member nearest (Euclidean) to the cluster mean;
    - ``method="typical"``: the member with the highest typicality, its mean cosine
      similarity to the cluster. For unit rows this is ``x . mean(cluster)``, so it is
      computed from one mean per cluster, never from pairwise similarities.

    The score of a pick is the number of candidates it stands for: the cluster size.
    When duplicate rows leave fewer non-empty clusters than ``n``, the batch is filled
    with the next-most-central members, each extra pick of a cluster of size ``s`` being
    the ``r``-th from it scoring ``s / r`` (the largest clusters give up members first),
    so exactly ``min(n, n_candidates)`` distinct positions come back.

    Parameters
    ----------
    method : {"kmeans", "typical"}, default "kmeans"
    random_state : int, Generator or None
        Used when :meth:`select` is given no ``random_state`` of its own.

    Notes
    -----
    ``MiniBatchKMeans`` rather than full ``KMeans``: its time and memory per iteration are
    bounded by the batch size, so the same code serves 1,000 or 10,000,000 items, dense or
    sparse, and results do not change character at a size threshold. Its clusters are a
    little coarser than Lloyd's, which does not matter here: only the most central member
    of each is used. (Full ``KMeans`` also warns on pools with duplicate rows, which
    MiniBatchKMeans handles by itself.)

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
    >>> q = RepresentativeSeedSet(random_state=0).select(Pool(X), 2)
    >>> sorted(q.indices.tolist()) in ([0, 2], [1, 2], [0, 4], [1, 4])
    True
    >>> q.scores.tolist()
    [3.0, 2.0]
    """

    def __init__(self, *, method: str = "kmeans", random_state: RandomStateLike = None) -> None:
        self.method = method
        self.random_state = random_state

    def _own_random_state(self) -> RandomStateLike:
        return self.random_state

    def select(
        self,
        pool: Pool,
        n: int,
        *,
        candidates: IndexLike | None = None,
        random_state: RandomStateLike = None,
    ) -> Query:
        cand, k = self._check_select_args(pool, n, candidates)
        if self.method not in _METHODS:
            raise ValueError(
                f"The 'method' parameter of {type(self).__name__} must be one of "
                f"{', '.join(repr(m) for m in _METHODS)}. Got {self.method!r} instead."
            )
        rng = check_random_state(self.random_state if random_state is None else random_state)
        kmeans_seed = int(rng.integers(0, 2**31 - 1))
        keys = rng.random(cand.size)
        if k == cand.size:
            # Every candidate is returned; clustering them into singletons would add nothing.
            order = top_k(np.ones(k), keys, k)
            return Query(indices=cand[order], scores=np.ones(k), strategy=repr(self))
        X = _float_features(pool, cand)
        model = MiniBatchKMeans(n_clusters=k, n_init=3, random_state=kmeans_seed)
        labels = np.asarray(model.fit(X).labels_, dtype=np.intp)
        if self.method == "typical":
            unit = normalize(X)
            centrality = _rowwise_dot(unit, _cluster_means(unit, labels, k), labels)
        else:
            # ||x - m||^2 ranks members of one cluster; the larger, the less central.
            means = _cluster_means(X, labels, k)
            sq_dist = (
                squared_row_norms(X)
                - 2.0 * _rowwise_dot(X, means, labels)
                + np.einsum("ij,ij->i", means, means)[labels]
            )
            centrality = -sq_dist
        chosen, scores = _central_picks(labels, centrality, keys, k)
        order = top_k(scores, keys[chosen], k)
        return Query(indices=cand[chosen[order]], scores=scores[order], strategy=repr(self))


def _float_features(pool: Pool, cand: IndexArray) -> Any:
    """Candidate rows as float (CSR stays CSR), without a copy for the whole pool."""
    X = (
        pool.features
        if cand.size == len(pool) and np.all(cand[1:] > cand[:-1])
        else pool.rows(cand)
    )
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)
    X = np.asarray(X)
    return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)


def _cluster_means(X: Any, labels: IndexArray, k: int) -> NDArray[np.float64]:
    """Mean row of each cluster, shape (k, n_features); empty clusters get zeros."""
    n = labels.size
    members = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(k, n))
    sums = members @ X
    sums = sums.toarray() if sp.issparse(sums) else np.asarray(sums)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    return np.asarray(sums / np.maximum(sizes, 1.0)[:, None], dtype=np.float64)


def _rowwise_dot(X: Any, centers: NDArray[np.float64], labels: IndexArray) -> NDArray[np.float64]:
    """``X[i] . centers[labels[i]]`` for every row, shape (n,), in bounded memory."""
    n = X.shape[0]
    if sp.issparse(X):
        # Only the stored entries contribute: O(nnz), never a dense (n, n_features) block.
        rows = np.repeat(np.arange(n), np.diff(X.indptr))
        values = X.data * centers[labels[rows], X.indices]
        return np.bincount(rows, weights=values, minlength=n).astype(np.float64)
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _DOT_CHUNK):
        stop = start + _DOT_CHUNK
        out[start:stop] = np.einsum("ij,ij->i", X[start:stop], centers[labels[start:stop]])
    return out


def _central_picks(
    labels: IndexArray, centrality: NDArray[np.float64], keys: NDArray[np.float64], k: int
) -> tuple[IndexArray, NDArray[np.float64]]:
    """The most central member of every non-empty cluster, plus fill-ups to reach ``k``.

    Returns positions into ``labels`` and their scores (cluster size for a first pick,
    ``size / r`` for the ``r``-th pick of a cluster), unordered.
    """
    sizes = np.bincount(labels, minlength=k)
    # Grouped by cluster, most central first; exact ties (duplicate rows) settled by key.
    order = np.lexsort((keys, -centrality, labels))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(labels.size, dtype=np.intp)
    rank[order] = np.arange(labels.size) - starts[labels[order]]
    quota = sizes[labels] / (rank + 1.0)
    first = np.flatnonzero(rank == 0)
    missing = k - first.size
    if missing > 0:
        rest = np.flatnonzero(rank > 0)
        extra = rest[top_k(quota[rest], keys[rest], missing)]
        first = np.concatenate([first, extra])
    return first.astype(np.intp), quota[first]


class ZeroShotSeedSet(SeedSetStrategy):
    """Cover the label schema: the items a zero-shot model finds most typical of each class.

    For each class, in order of its best probability (descending), the ``per_class``
    candidates with the highest probability for it are taken; an item already taken by an
    earlier class is passed over for that class's next best, so every class gets its own
    items. With 150 intents and ``n=150`` the first batch then holds one likely example
    of every intent instead of a random draw dominated by the frequent ones. When ``n``
    exceeds ``per_class x n_classes``, further passes of ``per_class`` items per class
    follow in the same order, so exactly ``min(n, n_candidates)`` items come back; when it
    is smaller, the classes the model is least sure about go without.

    Parameters
    ----------
    classifier : fitted ZeroShotClassifier
        Or any fitted classifier with ``classes_`` and ``predict_proba`` over the pool's
        features.
    per_class : int, default 1
    chunk_size : int, default 16384
        Candidates scored per ``predict_proba`` call; at most
        ``(chunk_size + n) x n_classes`` probabilities exist at once.

    Notes
    -----
    A pick's score is its probability for the class it was taken for; the batch is
    returned sorted by that score.
    """

    def __init__(self, classifier: Any, *, per_class: int = 1, chunk_size: int = 16384) -> None:
        self.classifier = classifier
        self.per_class = per_class
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        # scikit-learn pretty-prints estimators over several lines; provenance wants one.
        classifier = " ".join(repr(self.classifier).split())
        return (
            f"{type(self).__name__}(chunk_size={self.chunk_size!r}, classifier={classifier}, "
            f"per_class={self.per_class!r})"
        )

    def select(
        self,
        pool: Pool,
        n: int,
        *,
        candidates: IndexLike | None = None,
        random_state: RandomStateLike = None,
    ) -> Query:
        cand, k = self._check_select_args(pool, n, candidates)
        owner = type(self).__name__
        per_class = check_positive_int(self.per_class, "per_class", owner)
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", owner)
        clf = self.classifier
        if not hasattr(clf, "classes_") or not callable(getattr(clf, "predict_proba", None)):
            raise NotFittedError(
                f"{owner} needs a fitted classifier with classes_ and predict_proba; "
                "call ZeroShotClassifier(classes=...).fit() first."
            )
        rng = check_random_state(random_state)
        ranked_pos, ranked_proba = self._ranked_per_class(clf, pool, cand, k, chunk_size, rng)
        n_classes = ranked_pos.shape[1]
        class_order = np.lexsort((rng.random(n_classes), -ranked_proba[0]))

        taken = np.zeros(len(pool), dtype=bool)
        next_rank = np.zeros(n_classes, dtype=np.intp)
        picked: list[int] = []
        scores: list[float] = []
        while len(picked) < k:
            before = len(picked)
            for c in class_order:
                for _ in range(per_class):
                    if len(picked) == k:
                        break
                    # At most k - 1 items are taken, so the top k of a class hold a free one.
                    free = np.flatnonzero(~taken[ranked_pos[next_rank[c] :, c]])
                    if free.size == 0:
                        break
                    r = next_rank[c] + free[0]
                    taken[ranked_pos[r, c]] = True
                    picked.append(int(ranked_pos[r, c]))
                    scores.append(float(ranked_proba[r, c]))
                    next_rank[c] = r + 1
                if len(picked) == k:
                    break
            if len(picked) == before:  # unreachable with k <= n_candidates; guards the loop
                break
        positions = np.asarray(picked, dtype=np.intp)
        proba = np.asarray(scores, dtype=np.float64)
        order = top_k(proba, rng.random(positions.size), positions.size)
        return Query(indices=positions[order], scores=proba[order], strategy=repr(self))

    @staticmethod
    def _ranked_per_class(
        clf: Any, pool: Pool, cand: IndexArray, k: int, chunk_size: int, rng: np.random.Generator
    ) -> tuple[IndexArray, NDArray[np.float64]]:
        """Per class, the ``k`` candidates of highest probability, best first.

        Returns pool positions and probabilities, both of shape (min(k, n_candidates),
        n_classes); built chunk by chunk, keeping a running top ``k`` per column.
        """
        best_pos: IndexArray | None = None
        best_proba = best_keys = np.zeros((0, 0))
        for start in range(0, cand.size, chunk_size):
            block = cand[start : start + chunk_size]
            proba = np.asarray(clf.predict_proba(pool.rows(block)), dtype=np.float64)
            block_keys = np.broadcast_to(rng.random(block.size)[:, None], proba.shape)
            block_pos = np.broadcast_to(block[:, None], proba.shape)
            if best_pos is not None:
                proba = np.concatenate([best_proba, proba])
                block_keys = np.concatenate([best_keys, block_keys])
                block_pos = np.concatenate([best_pos, block_pos])
            keep = np.lexsort((block_keys, -proba), axis=0)[:k]
            best_proba = np.take_along_axis(proba, keep, axis=0)
            best_keys = np.take_along_axis(block_keys, keep, axis=0)
            best_pos = np.take_along_axis(block_pos, keep, axis=0)
        if best_pos is None:  # unreachable: _check_select_args refuses empty candidates
            raise PoolExhaustedError("No candidates to score.")
        return best_pos, best_proba
