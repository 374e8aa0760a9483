"""Strategies around strategies: near-duplicate suppression, class balance, candidate sets.

Each wrapper is a :class:`~labelwise.strategies.base.QueryStrategy` that holds another
one and changes *what it is asked* or *what of its answer is kept*, so strategies compose
through small wrappers instead of copies (the small-text decorator style)::

    Shortlisted(MarginSampling(), CoreSet(), factor=10)      # uncertainty, then diversity
    DeduplicatedBatch(Subsampled(MarginSampling(), size=20_000))

The wrappers that need neighbours share a small :class:`NeighborIndex` protocol with an
exact, chunked numpy implementation and an approximate one over faiss HNSW graphs.
"""

from __future__ import annotations

import importlib
import numbers
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from labelwise._rows import to_dense, unit_rows
from labelwise._typing import FeatureMatrix, IndexArray, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.data.pool import Pool
from labelwise.exceptions import MissingDependencyError, NotFittedError
from labelwise.strategies.base import Query, QueryStrategy
from labelwise.strategies.context import QueryContext

#: Pools at least this large get an approximate (faiss HNSW) index by default.
ANN_MIN_POOL = 50_000

# Rows x columns of neighbour ids asked of an index in one search call (~32 MiB of intp).
_SEARCH_BUDGET = 1 << 22

# Candidates compared against each other at once by the greedy de-duplication.
_DEDUP_BLOCK = 512


# -- helpers ----------------------------------------------------------------------------


def _check_strategy(value: Any, name: str, owner: str) -> QueryStrategy:
    if not isinstance(value, QueryStrategy):
        raise TypeError(
            f"The {name!r} parameter of {owner} must be a QueryStrategy. Got {value!r} instead."
        )
    return value


def _check_real(value: Any, name: str, owner: str, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not low <= float(value) <= high
    ):
        raise ValueError(
            f"The {name!r} parameter of {owner} must be a float in [{low:g}, {high:g}]. "
            f"Got {value!r} instead."
        )
    return float(value)


class _Wrapper(QueryStrategy):
    """Bookkeeping shared by the wrappers: a repr of the parameters only, best first."""

    #: Constructor parameters shown without a name, then those shown as ``name=value``.
    _positional: ClassVar[tuple[str, ...]] = ("base",)
    _keywords: ClassVar[tuple[str, ...]] = ()

    base: QueryStrategy

    def _bases(self) -> tuple[Any, ...]:
        """The wrapped strategies (the positional parameters), checked or not."""
        return tuple(getattr(self, name) for name in self._positional)

    @property
    def requires_learner(self) -> bool:  # type: ignore[override]
        """A wrapper needs a model exactly when a strategy it wraps does, at any depth."""
        return any(bool(getattr(b, "requires_learner", True)) for b in self._bases())

    @property
    def learner_capability(self) -> str | None:  # type: ignore[override]
        """The capability a wrapped strategy needs, at any depth (the first one, in
        parameter order, should two bases ever need different ones)."""
        needs = (getattr(b, "learner_capability", None) for b in self._bases())
        return next((need for need in needs if need is not None), None)

    def __repr__(self) -> str:
        parts = [repr(getattr(self, name)) for name in self._positional]
        parts += [f"{name}={getattr(self, name)!r}" for name in self._keywords]
        return f"{type(self).__name__}({', '.join(parts)})"


# -- near-duplicate suppression ---------------------------------------------------------


def _greedy_distinct(rows: Any, threshold: float, n: int) -> IndexArray:
    """Positions (into ``rows``) kept by a greedy pass: each is kept iff its cosine
    similarity to every row kept before it is ``<= threshold``; stops at ``n`` kept.

    ``rows`` (m, n_features) must be L2-normalised, dense or CSR. Memory is bounded by
    ``_DEDUP_BLOCK x max(_DEDUP_BLOCK, n)`` similarities.
    """
    kept: list[int] = []
    for start in range(0, rows.shape[0], _DEDUP_BLOCK):
        block = rows[start : start + _DEDUP_BLOCK]
        alive = np.ones(block.shape[0], dtype=bool)
        if kept:
            to_kept = to_dense(block @ rows[np.asarray(kept)].T)
            alive &= to_kept.max(axis=1) <= threshold
        survivors = np.flatnonzero(alive)
        if survivors.size == 0:
            continue
        sub = block[survivors]
        gram = to_dense(sub @ sub.T)
        # Greedy independent set in base order; inherently sequential, but only over one
        # block of candidates that already passed the check against earlier blocks.
        dropped = np.zeros(survivors.size, dtype=bool)
        for j in range(survivors.size):
            if dropped[j]:
                continue
            kept.append(start + int(survivors[j]))
            if len(kept) == n:
                return np.asarray(kept, dtype=np.intp)
            dropped |= gram[j] > threshold
    return np.asarray(kept, dtype=np.intp)


class DeduplicatedBatch(_Wrapper):
    """Never spend two labels on near-copies: no two chosen items are more similar than
    ``threshold`` (cosine similarity of their feature rows).

    Chatbot traffic is full of near-duplicates; a batch of 100 must not hold ten copies of
    "hi". The wrapper asks ``base`` for ``min(len(unlabeled), oversample * n)`` candidates,
    best first, and walks them in that order, keeping a candidate only when its similarity
    to every item already kept is ``<= threshold``. If fewer than ``n`` survive it asks
    ``base`` again for twice as many (up to the whole unlabeled pool) and starts over.
    Scores and order are the base strategy's; dropped items are simply skipped.

    **The one exception to "exactly n"**: the batch holds fewer than ``min(n,
    len(unlabeled))`` items only when a greedy pass over the *entire* unlabeled pool, in
    the base strategy's order, keeps fewer than ``n`` items, that is, when every unlabeled
    item is within ``threshold`` of an item already chosen (e.g. a pool of 40 items that
    are copies of 3 texts). No filling with near-duplicates is done then: a short batch is
    better than a wasted label.

    Parameters
    ----------
    base : QueryStrategy
        Ranks the candidates.
    threshold : float in [-1, 1], default 0.95
        Largest cosine similarity allowed between two chosen items. All-zero feature rows
        (e.g. an empty text under TF-IDF) have similarity 0 with everything.
    oversample : int >= 1, default 3
        Candidates first asked of ``base``, as a multiple of ``n``.

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> from labelwise.strategies import RandomSampling
    >>> pool = Pool(np.array([[1.0, 0.0]] * 10 + [[0.0, 1.0], [1.0, 1.0]]))
    >>> q = DeduplicatedBatch(RandomSampling()).query(None, pool, [], np.arange(12), 5)
    >>> len(q)  # only three distinct directions exist
    3
    """

    _keywords = ("threshold", "oversample")

    def __init__(
        self, base: QueryStrategy, *, threshold: float = 0.95, oversample: int = 3
    ) -> None:
        self.base = base
        self.threshold = threshold
        self.oversample = oversample

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        threshold = _check_real(self.threshold, "threshold", owner, -1.0, 1.0)
        oversample = check_positive_int(self.oversample, "oversample", owner)
        unlabeled = ctx.unlabeled
        # Every request starts from the same random state, so a larger request extends the
        # smaller one's order for strategies whose only randomness is the tie-break, and
        # without near-duplicates the answer is exactly the base strategy's (the stream is
        # left where the base's last request left it).
        start = ctx.rng.bit_generator.state
        request = min(unlabeled.size, oversample * n)
        while True:
            ctx.rng.bit_generator.state = start
            candidates = base._select(ctx, request)
            rows = unit_rows(ctx.pool.rows(candidates.indices))
            keep = _greedy_distinct(rows, threshold, n)
            # A base that returned fewer than asked (e.g. capped by its own candidate
            # sample) has nothing more to offer a larger request.
            if keep.size == n or request >= unlabeled.size or len(candidates) < request:
                break
            request = min(unlabeled.size, 2 * request)
        return Query(
            indices=candidates.indices[keep].astype(np.intp),
            scores=np.asarray(candidates.scores, dtype=np.float64)[keep],
            strategy=repr(self),
        )


# -- class balance ----------------------------------------------------------------------


class ClassBalanced(_Wrapper):
    """Spread a batch over predicted classes, so rare intents get labels too.

    Asks ``base`` for ``min(len(unlabeled), oversample * n)`` candidates, predicts each
    candidate's class (``argmax`` of ``learner.predict_proba``), and deals the batch out
    round-robin: classes in order of their best candidate's score (best first; the
    strategy is not given labels, so it cannot favour classes with few labels), one item
    per class per round, best first within a class, until ``n`` are chosen.

    Scores are the base strategy's and the batch is returned best first, as every query
    is: **the balance is in which items are chosen, not in their order**.

    Parameters
    ----------
    base : QueryStrategy
        Ranks the candidates.
    oversample : int >= 1, default 5
        Candidates asked of ``base``, as a multiple of ``n``; the more, the more classes
        can be reached.

    Notes
    -----
    Always needs a fitted learner with ``predict_proba`` (``NotFittedError`` otherwise),
    even around a strategy that does not. For multi-label learners the "predicted class"
    is the most probable label.
    """

    _keywords = ("oversample",)

    def __init__(self, base: QueryStrategy, *, oversample: int = 5) -> None:
        self.base = base
        self.oversample = oversample

    @property
    def requires_learner(self) -> bool:  # type: ignore[override]
        return True

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        oversample = check_positive_int(self.oversample, "oversample", owner)
        learner = ctx.learner
        if learner is None or not callable(getattr(learner, "predict_proba", None)):
            raise NotFittedError(
                f"{owner} needs a fitted learner with predict_proba to predict classes; "
                "start from a seed set or a cold-start strategy."
            )
        request = min(ctx.unlabeled.size, oversample * n)
        candidates = base._select(ctx, request)
        try:
            proba = np.asarray(learner.predict_proba(ctx.pool.rows(candidates.indices)))
        except SklearnNotFittedError as exc:
            raise NotFittedError(f"{owner} needs a fitted learner: {exc}") from exc
        predicted = np.argmax(proba, axis=1)
        # Candidates arrive best first, so a class's first appearance is its best score
        # (ties settled by the base's own tie-break) and within-class rank is base order.
        _, first_pos, inverse = np.unique(predicted, return_index=True, return_inverse=True)
        class_key = first_pos[inverse]
        by_class = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse)
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
        rank = np.empty(predicted.size, dtype=np.intp)
        rank[by_class] = np.arange(predicted.size) - starts
        chosen = np.sort(np.lexsort((class_key, rank))[:n])  # back to base order = best first
        return Query(
            indices=candidates.indices[chosen].astype(np.intp),
            scores=np.asarray(candidates.scores, dtype=np.float64)[chosen],
            strategy=repr(self),
        )


# -- a random share -----------------------------------------------------------------------


class RandomShare(_Wrapper):
    """Spend a share of every batch on items drawn at random, the rest on ``base``'s choice.

    Actively chosen labels suit the model that chose them; a random share keeps part of
    the labeled set like the pool, for the other models the labels may later train
    (Lowell et al. 2019 found actively chosen labels do not always help another model)
    and for the items the chooser is confidently wrong about.

    ``base`` chooses ``n - round(share * n)`` items first; the rest are drawn uniformly,
    under the query's random state, from the unlabeled items it did not choose. The batch
    is the base's picks, best first, then the random ones, which carry the lowest of the
    base's scores (0 when the base chose none): a random item never outranks a chosen one.

    Parameters
    ----------
    base : QueryStrategy
    share : float in [0, 1], default 0.3
        Share of each batch drawn at random.
    """

    _keywords = ("share",)

    def __init__(self, base: QueryStrategy, *, share: float = 0.3) -> None:
        self.base = base
        self.share = share

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        share = _check_real(self.share, "share", owner, 0.0, 1.0)
        n_random = int(round(share * n))
        chosen = base._select(ctx, n - n_random) if n > n_random else None
        picked = np.zeros(0, dtype=np.intp) if chosen is None else chosen.indices
        scores = np.zeros(0) if chosen is None else np.asarray(chosen.scores, dtype=np.float64)
        rest = np.setdiff1d(ctx.unlabeled, picked)
        drawn = ctx.rng.choice(rest, size=min(n_random, rest.size), replace=False)
        floor = float(scores.min()) if scores.size else 0.0
        return Query(
            indices=np.concatenate([picked, drawn]).astype(np.intp),
            scores=np.concatenate([scores, np.full(drawn.size, floor)]),
            strategy=repr(self),
        )


# -- candidate restriction --------------------------------------------------------------


class Subsampled(_Wrapper):
    """Score only a random subsample of the unlabeled pool (for large pools).

    ``base`` is queried with ``unlabeled`` replaced by ``max(size, n)`` positions drawn
    without replacement (at least ``n``, so the batch is always full). When ``size`` covers
    the unlabeled pool the call passes straight through.

    Parameters
    ----------
    base : QueryStrategy
    size : int >= 1, default 10000
        Unlabeled positions scored per query.
    random_state : int, Generator or None, default None
        Seeds the subsample. ``None`` uses the query's ``random_state``, so the loop's
        per-round seed decides it; the base strategy always gets the query's.
    """

    _keywords = ("size", "random_state")

    def __init__(
        self, base: QueryStrategy, *, size: int = 10000, random_state: RandomStateLike = None
    ) -> None:
        self.base = base
        self.size = size
        self.random_state = random_state

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        size = max(check_positive_int(self.size, "size", owner), n)
        if size < ctx.unlabeled.size:
            rng = ctx.rng if self.random_state is None else check_random_state(self.random_state)
            ctx = ctx.restrict(np.sort(rng.choice(ctx.unlabeled, size=size, replace=False)))
        result = base._select(ctx, n)
        return Query(indices=result.indices, scores=result.scores, strategy=repr(self))


@runtime_checkable
class NeighborIndex(Protocol):
    """A nearest-neighbour index by cosine similarity over feature rows.

    ``build`` takes the raw rows (n_items, n_features) and returns the index itself;
    ``search`` takes raw query rows (n_queries, n_features) and returns, per query, the
    positions of its ``k`` most similar items, most similar first, shape (n_queries, k).
    Slots the index cannot fill (``k`` > n_items, or an approximate search that ran out)
    hold ``-1``, as in faiss. Implementations normalise rows themselves.

    An index may also offer ``extend(features, start)``: index rows ``start:`` of
    ``features``, whose first ``start`` rows are the ones already indexed, and return the
    index. :class:`~labelwise.strategies.IncrementalRescoring` uses it when its pool has
    only grown, instead of building again.
    """

    def build(self, features: FeatureMatrix) -> Self: ...

    def search(self, queries: FeatureMatrix, k: int) -> IndexArray: ...


class ExactNeighborIndex:
    """Exact cosine neighbours by brute force, in chunks of queries (numpy only).

    At most ``chunk_size x n_items`` similarities exist at once. Works on dense and sparse
    rows. Equal similarities are ordered by ascending position.

    Parameters
    ----------
    chunk_size : int >= 1, default 1024
        Queries compared with the whole index at once.

    Attributes
    ----------
    features_ : ndarray or sparse matrix of shape (n_items, n_features)
        The L2-normalised rows.

    Examples
    --------
    >>> import numpy as np
    >>> index = ExactNeighborIndex().build(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]]))
    >>> index.search(np.array([[1.0, 0.0]]), 2).tolist()
    [[0, 2]]
    """

    def __init__(self, *, chunk_size: int = 1024) -> None:
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"ExactNeighborIndex(chunk_size={self.chunk_size!r})"

    def build(self, features: FeatureMatrix) -> Self:
        """Store the normalised rows of ``features`` (n_items, n_features); return self."""
        check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)
        if len(getattr(features, "shape", ())) != 2:
            raise ValueError(
                f"ExactNeighborIndex.build needs a 2-d feature matrix. "
                f"Got shape {getattr(features, 'shape', None)}."
            )
        self.features_ = unit_rows(_every_row(features))
        return self

    def extend(self, features: FeatureMatrix, start: int) -> Self:  # noqa: ARG002
        """Index every row of ``features`` again: normalising rows is all a build does."""
        return self.build(features)

    def search(self, queries: FeatureMatrix, k: int) -> IndexArray:
        """Positions of the ``k`` most similar rows per query, shape (n_queries, k)."""
        if not hasattr(self, "features_"):
            raise NotFittedError("This ExactNeighborIndex is not built yet; call build() first.")
        owner = type(self).__name__
        k = check_positive_int(k, "k", f"{owner}.search")
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", owner)
        queries = unit_rows(queries)
        n_items = self.features_.shape[0]
        n_queries = queries.shape[0]
        k_found = min(k, n_items)
        out = np.full((n_queries, k), -1, dtype=np.intp)
        if k_found == 0:
            return out
        for start in range(0, n_queries, chunk_size):
            sims = to_dense(queries[start : start + chunk_size] @ self.features_.T)
            if k_found < n_items:
                top = np.argpartition(-sims, k_found - 1, axis=1)[:, :k_found]
            else:
                top = np.broadcast_to(np.arange(n_items), sims.shape)
            top_sims = np.take_along_axis(sims, top, axis=1)
            order = np.lexsort((top, -top_sims), axis=1)
            out[start : start + sims.shape[0], :k_found] = np.take_along_axis(top, order, axis=1)
        return out


#: Rows normalised and added to a faiss index at a time.
_ADD_CHUNK = 65_536


def _every_row(features: FeatureMatrix) -> Any:
    """``features`` as an array or sparse matrix (a stored or memory-mapped pool read)."""
    if isinstance(features, np.ndarray) or sp.issparse(features):
        return features
    return Pool(features).rows(np.arange(features.shape[0]))


def _import_faiss() -> Any:
    try:
        return importlib.import_module("faiss")
    except ImportError as exc:
        raise MissingDependencyError(
            "FaissNeighborIndex needs faiss: pip install 'labelwise[ann]'"
        ) from exc


class _FaissIndex:
    """What the faiss indexes share: unit float32 rows, and searching the built index."""

    index_: Any

    def _float32_units(self, rows: Any, what: str) -> NDArray[np.float32]:
        if sp.issparse(rows):
            raise TypeError(
                f"{type(self).__name__}.{what} needs dense features; got a sparse matrix. "
                "Use ExactNeighborIndex for sparse (e.g. TF-IDF) pools."
            )
        return np.ascontiguousarray(unit_rows(rows), dtype=np.float32)

    def _add(self, index: Any, features: FeatureMatrix, start: int, chunk_size: int) -> None:
        """Add rows ``start:`` of ``features`` to ``index``, a chunk of rows at a time, so
        a memory-mapped or stored pool is never read whole."""
        pool = Pool(features)
        for first in range(start, len(pool), chunk_size):
            rows = pool.rows(np.arange(first, min(len(pool), first + chunk_size)))
            index.add(self._float32_units(rows, "build"))

    def extend(self, features: FeatureMatrix, start: int) -> Self:
        """Add rows ``start:`` of ``features`` (its first ``start`` rows are indexed)."""
        if not hasattr(self, "index_"):
            raise NotFittedError(f"This {type(self).__name__} is not built yet; call build().")
        if self.index_.ntotal != start:
            raise ValueError(
                f"{type(self).__name__} holds {self.index_.ntotal} rows; it cannot extend "
                f"from row {start}."
            )
        self._add(self.index_, features, start, self._add_chunk())
        return self

    def _add_chunk(self) -> int:
        return _ADD_CHUNK

    def search(self, queries: FeatureMatrix, k: int) -> IndexArray:
        """Approximate positions of the ``k`` most similar rows per query, (n_queries, k)."""
        owner = type(self).__name__
        if not hasattr(self, "index_"):
            raise NotFittedError(f"This {owner} is not built yet; call build() first.")
        k = check_positive_int(k, "k", f"{owner}.search")
        _, found = self.index_.search(self._float32_units(queries, "search"), k)
        return np.asarray(found, dtype=np.intp)


class FaissNeighborIndex(_FaissIndex):
    """Approximate cosine neighbours from a faiss HNSW graph (``IndexHNSWFlat``, inner
    product on L2-normalised float32 rows). Needs the ``ann`` extra (faiss-cpu).

    Parameters
    ----------
    m : int >= 1, default 32
        Graph degree: more is slower to build, more accurate and larger.
    ef_search : int >= 1, default 64
        Breadth of each search (faiss uses ``max(ef_search, k)``): more is slower and more
        accurate.

    Attributes
    ----------
    index_ : faiss.IndexHNSWFlat

    Notes
    -----
    Dense features only: faiss stores every row densely, which TF-IDF rows would blow up;
    use :class:`ExactNeighborIndex` for sparse pools. Faiss builds the graph on all OpenMP
    threads (limit them with ``faiss.omp_set_num_threads``; on a busy machine one thread
    can be far faster), and the graph, hence which approximate neighbours are found, may
    differ with the number of threads.
    """

    def __init__(self, *, m: int = 32, ef_search: int = 64) -> None:
        self.m = m
        self.ef_search = ef_search

    def __repr__(self) -> str:
        return f"FaissNeighborIndex(m={self.m!r}, ef_search={self.ef_search!r})"

    def build(self, features: FeatureMatrix) -> Self:
        """Add the normalised rows of ``features`` (n_items, n_features) to a new graph."""
        owner = type(self).__name__
        m = check_positive_int(self.m, "m", owner)
        ef_search = check_positive_int(self.ef_search, "ef_search", owner)
        faiss = _import_faiss()
        if sp.issparse(features):
            self._float32_units(features, "build")  # raises, naming the index to use instead
        index = faiss.IndexHNSWFlat(features.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
        self._add(index, features, 0, _ADD_CHUNK)
        self.index_ = index
        return self


class FaissCompressedIndex(_FaissIndex):
    """Approximate cosine neighbours for pools too large to hold as float32: a faiss
    inverted file over product-quantised rows (``IndexIVFPQ``, inner product on
    L2-normalised rows). Needs the ``ann`` extra (faiss-cpu).

    It stores ``pq_bytes`` bytes per row (10 million rows at 32 bytes: 320 MB, against
    15.4 GB for HNSW's float32 copy) and is built chunk by chunk, so a memory-mapped pool
    is never read whole: the coarse quantiser and the codebooks are trained on
    ``train_size`` rows spread evenly over the pool, then every row is added in chunks of
    ``chunk_size``.

    Parameters
    ----------
    nlist : int >= 1, default 1024
        Inverted lists (coarse clusters).
    pq_bytes : int >= 1, default 32
        Bytes per row; must divide the number of columns (384 = 32 x 12).
    nprobe : int >= 1, default 16
        Lists visited per search: more is slower and more accurate.
    train_size : int >= 1, default 100000
    chunk_size : int >= 1, default 262144

    Attributes
    ----------
    index_ : faiss.IndexIVFPQ
    """

    def __init__(
        self,
        *,
        nlist: int = 1024,
        pq_bytes: int = 32,
        nprobe: int = 16,
        train_size: int = 100_000,
        chunk_size: int = 262_144,
    ) -> None:
        self.nlist = nlist
        self.pq_bytes = pq_bytes
        self.nprobe = nprobe
        self.train_size = train_size
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return (
            f"FaissCompressedIndex(nlist={self.nlist!r}, pq_bytes={self.pq_bytes!r}, "
            f"nprobe={self.nprobe!r})"
        )

    def _add_chunk(self) -> int:
        return check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)

    def build(self, features: FeatureMatrix) -> Self:
        """Train on a spread of rows, then add every row of ``features`` chunk by chunk."""
        owner = type(self).__name__
        nlist = check_positive_int(self.nlist, "nlist", owner)
        pq_bytes = check_positive_int(self.pq_bytes, "pq_bytes", owner)
        nprobe = check_positive_int(self.nprobe, "nprobe", owner)
        train_size = check_positive_int(self.train_size, "train_size", owner)
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", owner)
        if sp.issparse(features):
            self._float32_units(features, "build")  # raises, naming the index to use instead
        n_items, dim = features.shape
        if dim % pq_bytes:
            raise ValueError(
                f"{owner}: pq_bytes ({pq_bytes}) must divide the number of columns ({dim})."
            )
        if n_items < 39 * nlist:  # faiss wants about 39 training rows per list
            raise ValueError(
                f"{owner}: {n_items} rows are too few for {nlist} lists; use nlist <= "
                f"{max(1, n_items // 39)} or an ExactNeighborIndex."
            )
        faiss = _import_faiss()
        pool = Pool(features)
        spread = np.linspace(0, n_items - 1, min(n_items, train_size)).astype(np.intp)
        quantiser = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantiser, dim, nlist, pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(self._float32_units(pool.rows(np.unique(spread)), "build"))
        self._add(index, features, 0, chunk_size)
        index.nprobe = nprobe
        self._quantiser = quantiser  # faiss does not own it: keep it alive with the index
        self.index_ = index
        return self


class BackgroundIndex:
    """A :class:`NeighborIndex` that builds and extends on a thread of its own.

    ``build`` and ``extend`` return at once; ``ready`` says whether the work is done, and
    ``search`` waits for it (and raises what it raised).
    :class:`~labelwise.strategies.IncrementalRescoring` ranks the whole pool while its
    index is not ready, so a server's retrains never wait for a build: a million-row
    :class:`FaissCompressedIndex` takes about a minute on two cores.

    Parameters
    ----------
    index : NeighborIndex
        What is built; it needs ``extend`` for ``extend``.
    nice : int, default 19
        Niceness of the building thread (and of the threads it starts, such as faiss's
        OpenMP team), where the system sets it per thread (Linux): at 19 the build takes
        the cores when scoring and serving leave them idle. 0 leaves it as it is.
    """

    def __init__(self, index: NeighborIndex, *, nice: int = 19) -> None:
        self.index = index
        self.nice = nice
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None

    def __repr__(self) -> str:
        return f"BackgroundIndex({self.index!r}, nice={self.nice!r})"

    def __getstate__(self) -> dict[str, Any]:
        # A copy (a simulation copies its strategy per run) or a pickle holds the finished
        # work, never the thread.
        if self._thread is not None:
            self._thread.join()
        return {**self.__dict__, "_thread": None}

    @property
    def ready(self) -> bool:
        """Whether the last build or extension has finished (failed ones too)."""
        return self._thread is None or not self._thread.is_alive()

    @property
    def error(self) -> Exception | None:
        """What the last finished build or extension raised; None when it succeeded."""
        return self._error if self.ready else None

    def _start(self, work: Callable[[], Any]) -> Self:
        if self._thread is not None:
            self._thread.join()  # one piece of work at a time; a new one replaces an error

        def run() -> None:
            _lower_priority(self.nice)
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - kept for search, which raises it
                self._error = exc

        self._error = None
        self._thread = threading.Thread(target=run, name="labelwise-index", daemon=True)
        self._thread.start()
        return self

    def build(self, features: FeatureMatrix) -> Self:
        """Start building ``index`` over ``features`` (n_items, n_features); return self."""
        return self._start(lambda: self.index.build(features))

    def extend(self, features: FeatureMatrix, start: int) -> Self:
        """Start adding rows ``start:`` of ``features`` to the built index; return self."""
        extend = getattr(self.index, "extend", None)
        if extend is None:
            raise TypeError(f"{self.index!r} cannot extend; it has no extend().")
        return self._start(lambda: extend(features, start))

    def wait(self) -> None:
        """Block until the work under way is done; raise what it raised."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def search(self, queries: FeatureMatrix, k: int) -> IndexArray:
        """The built index's search, once the work under way is done."""
        self.wait()
        return self.index.search(queries, k)


def _lower_priority(nice: int) -> None:
    """Raise the calling thread's niceness by ``nice`` where threads have their own (Linux,
    where ``setpriority`` on a thread id sets that thread's); elsewhere nothing."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:  # a sandbox without the call: the build runs at the caller's priority
        return


#: Above this many rows the default index is compressed (HNSW keeps a float32 copy of
#: every row: 2 million MiniLM rows are 3 GB).
COMPRESSED_MIN_POOL = 2_000_000


def default_index(features: FeatureMatrix) -> NeighborIndex:
    """Exact search below :data:`ANN_MIN_POOL` items or for sparse rows, faiss HNSW below
    :data:`COMPRESSED_MIN_POOL`, else :class:`FaissCompressedIndex`."""
    if sp.issparse(features) or features.shape[0] < ANN_MIN_POOL:
        return ExactNeighborIndex()
    if features.shape[0] >= COMPRESSED_MIN_POOL:
        return FaissCompressedIndex()
    return FaissNeighborIndex()


def _unlabeled_neighbors(
    index: NeighborIndex, pool: Pool, labeled: IndexArray, is_unlabeled: NDArray[np.bool_], k: int
) -> IndexArray:
    """Union of the first ``k`` unlabeled neighbours (in index order) of each labeled item.

    The index covers the whole pool, so a search may return labeled items too; a query
    whose first ``k_search`` results hold fewer than ``k`` unlabeled ones is searched again
    with twice the width, up to ``k + len(labeled)`` (which must contain ``k`` unlabeled).
    """
    n_pool = len(pool)
    k_max = min(n_pool, k + labeled.size)
    k_search = min(k_max, k + 1)  # + 1: a labeled item is usually its own first hit
    pending = labeled
    found: list[IndexArray] = []
    while pending.size:
        step = max(1, _SEARCH_BUDGET // k_search)
        still: list[IndexArray] = []
        for start in range(0, pending.size, step):
            queries = pending[start : start + step]
            hits = np.asarray(index.search(pool.rows(queries), k_search), dtype=np.intp)
            usable = (hits >= 0) & is_unlabeled[np.maximum(hits, 0)]
            done = (usable.sum(axis=1) >= k) | (k_search >= k_max)
            take = usable & (np.cumsum(usable, axis=1) <= k) & done[:, None]
            found.append(hits[take])
            still.append(queries[~done])
        pending = np.concatenate(still)
        k_search = min(k_max, 2 * k_search)
    return np.unique(np.concatenate(found)).astype(np.intp)


class NearestNeighborCandidates(_Wrapper):
    """Query ``base`` only on the unlabeled neighbours of labeled items (SEALS).

    Coleman et al. (2022), "Similarity Search for Efficient Active Learning and Search of
    Rare Concepts": the candidates are the union of the ``k`` nearest unlabeled neighbours
    (cosine similarity) of every labeled item, so each query scores about
    ``k x n_labeled`` items instead of the whole pool, and rare classes are found near the
    few examples already labeled.

    If the candidates number fewer than ``n`` (no labels yet, or a small ``k``), they are
    topped up with a random sample of the other unlabeled items, so the batch is always
    ``min(n, len(unlabeled))`` long.

    The neighbour index is built once over the whole pool and cached on this wrapper,
    keyed on ``id(pool.features)`` (and the ``index`` parameter); it is rebuilt only when
    a query comes with a different features object. The wrapper keeps a reference to that
    object so its id cannot be reused while cached. Features changed *in place* are not
    noticed: pass a new array.

    Parameters
    ----------
    base : QueryStrategy
        Ranks the candidates.
    k : int >= 1, default 100
        Unlabeled neighbours taken per labeled item.
    index : NeighborIndex or None, default None
        Built in place on the first query. ``None``: :class:`ExactNeighborIndex` for pools
        below 50,000 items or sparse features, else :class:`FaissNeighborIndex`.
    random_state : int, Generator or None, default None
        Seeds the top-up sample. ``None`` uses the query's ``random_state``; the base
        strategy always gets the query's.

    Attributes
    ----------
    index_ : NeighborIndex
        The built index, after the first query that had labeled items.
    """

    _keywords = ("k", "index", "random_state")

    index_: NeighborIndex
    # The cache key: the features object index_ was built on, and the ``index`` parameter.
    _index_key: tuple[Any, NeighborIndex | None]

    def __init__(
        self,
        base: QueryStrategy,
        *,
        k: int = 100,
        index: NeighborIndex | None = None,
        random_state: RandomStateLike = None,
    ) -> None:
        self.base = base
        self.k = k
        self.index = index
        self.random_state = random_state

    def _built_index(self, pool: Pool) -> NeighborIndex:
        features = pool.features
        cached = getattr(self, "_index_key", None)
        if cached is not None and cached[0] is features and cached[1] is self.index:
            return self.index_
        if self.index is None:
            index = default_index(features)
        elif callable(getattr(self.index, "build", None)) and callable(
            getattr(self.index, "search", None)
        ):
            index = self.index
        else:
            raise TypeError(
                f"The 'index' parameter of {type(self).__name__} must be a NeighborIndex "
                f"(with build() and search()) or None. Got {self.index!r} instead."
            )
        self.index_ = index.build(features)
        self._index_key = (features, self.index)
        return self.index_

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        k = check_positive_int(self.k, "k", owner)
        pool, labeled, unlabeled = ctx.pool, ctx.labeled, ctx.unlabeled
        is_unlabeled = np.zeros(len(pool), dtype=bool)
        is_unlabeled[unlabeled] = True
        if labeled.size:
            candidates = _unlabeled_neighbors(
                self._built_index(pool), pool, labeled, is_unlabeled, k
            )
        else:
            candidates = np.zeros(0, dtype=np.intp)
        if candidates.size < n:
            rng = ctx.rng if self.random_state is None else check_random_state(self.random_state)
            is_unlabeled[candidates] = False
            others = np.flatnonzero(is_unlabeled)
            extra = rng.choice(others, size=n - candidates.size, replace=False)
            candidates = np.sort(np.concatenate([candidates, extra])).astype(np.intp)
        result = base._select(ctx.restrict(candidates), n)
        return Query(indices=result.indices, scores=result.scores, strategy=repr(self))


# -- composition ------------------------------------------------------------------------


class Shortlisted(_Wrapper):
    """Two stages: ``first`` shortlists ``factor * n`` items, ``then`` picks ``n`` of them.

    The usual use is "uncertainty, then diversity": a cheap pointwise strategy (e.g.
    :class:`~labelwise.strategies.MarginSampling`) narrows the pool to the items worth
    labeling, and a batch-aware one chooses a varied batch among them. ``then`` receives
    the shortlist as its ``unlabeled`` positions; the scores are ``then``'s.

    Parameters
    ----------
    first : QueryStrategy
        Picks ``min(len(unlabeled), factor * n)`` items.
    then : QueryStrategy
        Picks the ``n`` items returned, among the shortlist.
    factor : int >= 1, default 10
    """

    _positional = ("first", "then")
    _keywords = ("factor",)

    def __init__(self, first: QueryStrategy, then: QueryStrategy, *, factor: int = 10) -> None:
        self.first = first
        self.then = then
        self.factor = factor

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        first = _check_strategy(self.first, "first", owner)
        then = _check_strategy(self.then, "then", owner)
        factor = check_positive_int(self.factor, "factor", owner)
        request = min(ctx.unlabeled.size, factor * n)
        shortlist = first._select(ctx, request)
        # The shortlist may be shorter than asked (a de-duplicating or capped ``first``).
        result = then._select(ctx.restrict(shortlist.indices), min(n, len(shortlist)))
        return Query(indices=result.indices, scores=result.scores, strategy=repr(self))
