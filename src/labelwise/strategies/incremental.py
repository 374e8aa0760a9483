"""Incremental rounds: between full rescorings, rank only what a retrain likely changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import FeatureMatrix, IndexArray, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.data.pool import Pool
from labelwise.strategies.base import Query, QueryStrategy
from labelwise.strategies.context import QueryContext
from labelwise.strategies.wrappers import (
    NeighborIndex,
    _check_strategy,
    _unlabeled_neighbors,
    _Wrapper,
    default_index,
)

#: Seeds searched in one call to the index.
_SEARCH_CHUNK = 4096


class IncrementalRescoring(_Wrapper):
    """Rank the whole pool every ``full_every`` queries, and in between only a candidate
    set: what the last full ranking put near the top, and what the new labels are near.

    On a pool of millions, a full exact rescoring after every retrain costs a pass over
    every row. A retrain moves the scores most near the items just labeled, so between
    full rescorings ``base`` ranks only the union of

    - the **shortlist**: the best ``keep_factor x n`` unlabeled items of the last full
      ranking, those still unlabeled;
    - the ``k`` nearest unlabeled neighbours of every item labeled since the previous
      query (SEALS: Coleman et al., 2022);
    - the ``k`` nearest unlabeled neighbours of ``anchors`` labeled items of each class,
      drawn at random each query (AnchorAL: Lesci and Vlachos, 2024), so every class the
      model knows keeps a region of the pool in play.

    The first query, then every ``full_every`` queries (the 1st, ``full_every + 1``-th,
    ...), and any whose candidates number fewer than ``n`` rank the whole pool instead. A full query takes ``base``'s best
    ``keep_factor x n`` (the new shortlist) and answers with ``base``'s best ``n`` of
    those, so it chooses exactly what ``base`` would for pointwise strategies.

    The wrapper keeps state between queries (the shortlist, what was labeled, the query
    count): give each loop its own. A loop resumed from a saved state starts with a full
    query.

    Parameters
    ----------
    base : QueryStrategy
    k : int >= 1, default 20
        Unlabeled neighbours taken per new label and per anchor.
    anchors : int >= 0, default 5
        Labeled items per class whose neighbours are candidates (0: none). Needs the
        query's ``labels``; without them no anchors are drawn.
    keep_factor : int >= 1, default 10
        The shortlist holds ``keep_factor x n`` items.
    full_every : int >= 1, default 5
        Every how many queries the whole pool is ranked (1: every query, as ``base``).
    index : NeighborIndex or None, default None
        Built in place on the first query (see
        :class:`~labelwise.strategies.NearestNeighborCandidates`); None: exact search
        below 50,000 items or for sparse rows, else faiss HNSW (compressed from 2 million).
        A :class:`~labelwise.strategies.BackgroundIndex` is started on every query, full
        ones too, and until it is ``ready`` each query ranks the whole pool instead of
        waiting for it. A query after its build failed raises that error; the next one
        starts the build again.
    index_features : callable or None, default None
        Maps the pool's features to the rows the index holds and is searched with (the
        server passes a feature store's sentence block, whose neighbours mean similar
        texts); None: the features themselves.
    random_state : int, Generator or None, default None
        Seeds the anchors. None: the query's ``random_state``.

    Attributes
    ----------
    queries_ : int
        Queries answered.
    full_ : bool
        Whether the last query ranked the whole pool.
    candidates_ : int
        How many items the last query ranked.
    shortlist_ : ndarray of shape (m,)
        The last full ranking's best items, best first.
    index_ : NeighborIndex
        The neighbour index, once built. Each seed's neighbours are searched once and
        cached: the index does not change while the pool does not. A pool that only grew
        (its features and the previous ones have the same ``lineage`` attribute, as a
        server feature store's rows do) extends the index when it has ``extend`` and is
        still the kind ``index`` (or the default for the pool's size) asks for, instead
        of building it again.
    """

    _keywords = (
        "k",
        "anchors",
        "keep_factor",
        "full_every",
        "index",
        "index_features",
        "random_state",
    )

    index_: NeighborIndex

    def __init__(
        self,
        base: QueryStrategy,
        *,
        k: int = 20,
        anchors: int = 5,
        keep_factor: int = 10,
        full_every: int = 5,
        index: NeighborIndex | None = None,
        index_features: Callable[[FeatureMatrix], FeatureMatrix] | None = None,
        random_state: RandomStateLike = None,
    ) -> None:
        self.base = base
        self.k = k
        self.anchors = anchors
        self.keep_factor = keep_factor
        self.full_every = full_every
        self.index = index
        self.index_features = index_features
        self.random_state = random_state

    def _built_index(self, pool: Pool) -> tuple[NeighborIndex, Pool]:
        """The index over the pool's (mapped) rows, and those rows to search it with."""
        features = (
            pool.features if self.index_features is None else self.index_features(pool.features)
        )
        error = getattr(self.__dict__.get("index_"), "error", None)
        if error is not None:
            # A background build failed: this query says so, the next builds it again.
            del self.index_
            self.__dict__.pop("_indexed", None)
            raise error
        indexed = getattr(self, "_indexed", None)
        if indexed is not None and (indexed is features or _same_rows(indexed, features)):
            return self.index_, Pool(features)
        built = getattr(self, "index_", None)
        if indexed is not None and not getattr(built, "ready", True):
            # Work under way (BackgroundIndex): starting more would wait for it. The pool's
            # changes are taken up by a query after it is done.
            return self.index_, Pool(indexed)
        # The index asked for now: the one built (``build`` returns the index itself), or
        # for the default, one of the kind the pool's size calls for.
        if self.index is None:
            index = default_index(features)
            same = type(index) is type(built)
        else:
            index = self.index
            same = index is built
        extend = getattr(built, "extend", None)
        if indexed is not None and _grown(indexed, features) and extend is not None and same:
            self.index_ = extend(features, indexed.shape[0])
        else:
            self.index_ = index.build(features)
        self._indexed = features
        self.__dict__.pop("_hits", None)  # cached neighbours miss the rows added since
        return self.index_, Pool(features)

    def _anchors(self, ctx: QueryContext, rng: np.random.Generator, per_class: int) -> IndexArray:
        """Up to ``per_class`` labeled positions of each class, drawn at random."""
        if per_class == 0 or ctx.labels is None or ctx.labeled.size == 0:
            return np.zeros(0, dtype=np.intp)
        keys = np.array([repr(label) for label in ctx.labels])
        chosen = []
        for value in np.unique(keys):
            members = ctx.labeled[keys == value]
            take = min(per_class, members.size)
            chosen.append(rng.choice(members, size=take, replace=False))
        return np.sort(np.concatenate(chosen)).astype(np.intp)

    def _candidates(self, ctx: QueryContext, n: int) -> IndexArray | None:
        """The incremental candidates, or None when this query must rank the whole pool."""
        owner = type(self).__name__
        full_every = check_positive_int(self.full_every, "full_every", owner)
        previous = getattr(self, "_labeled", None)
        if getattr(self, "queries_", 0) % full_every == 0 or previous is None:
            return None
        if not np.isin(previous, ctx.labeled).all():
            return None  # another run's state: what was labeled is no longer
        k = check_positive_int(self.k, "k", owner)
        anchors = int(self.anchors)
        if anchors < 0:
            raise ValueError(f"The 'anchors' parameter of {owner} must be >= 0; got {anchors}.")
        if not getattr(self._built_index(ctx.pool)[0], "ready", True):
            return None  # its build is under way (BackgroundIndex): rank the whole pool
        rng = ctx.rng if self.random_state is None else check_random_state(self.random_state)
        is_unlabeled = np.zeros(len(ctx.pool), dtype=bool)
        is_unlabeled[ctx.unlabeled] = True
        new = np.setdiff1d(ctx.labeled, previous)
        seeds = np.union1d(new, self._anchors(ctx, rng, anchors)).astype(np.intp)
        parts = [self.shortlist_[is_unlabeled[self.shortlist_]]]
        if seeds.size:
            parts.append(self._neighbours(ctx.pool, seeds, is_unlabeled, k))
        candidates = np.unique(np.concatenate(parts)).astype(np.intp)
        return None if candidates.size < n else candidates

    def _neighbours(
        self, pool: Pool, seeds: IndexArray, is_unlabeled: NDArray[np.bool_], k: int
    ) -> IndexArray:
        """The first ``k`` unlabeled neighbours of each seed, from a cache of each seed's
        ``2k`` nearest items: the index never changes, and anchors come back round after
        round, so only seeds never searched before (mostly the new labels) cost a search.
        A seed with fewer than ``k`` of its cached neighbours still unlabeled is searched
        wider (:func:`_unlabeled_neighbors`)."""
        index, rows = self._built_index(pool)
        cache: dict[int, IndexArray] = self.__dict__.setdefault("_hits", {})
        if getattr(self, "_hits_k", None) != k:
            cache.clear()
            self._hits_k = k
        fresh = np.array([s for s in seeds.tolist() if s not in cache], dtype=np.intp)
        for start in range(0, fresh.size, _SEARCH_CHUNK):
            block = fresh[start : start + _SEARCH_CHUNK]
            hits = np.asarray(index.search(rows.rows(block), min(len(pool), 2 * k)))
            cache.update(zip(block.tolist(), hits, strict=True))
        found, short = [], []
        for seed in seeds.tolist():
            hits = cache[seed]
            usable = hits[(hits >= 0) & is_unlabeled[np.maximum(hits, 0)]][:k]
            if usable.size < k and hits.size < len(pool):
                short.append(seed)
            else:
                found.append(usable)
        if short:
            wide = np.asarray(short, dtype=np.intp)
            found.append(_unlabeled_neighbors(index, rows, wide, is_unlabeled, k))
        return np.unique(np.concatenate(found)).astype(np.intp) if found else seeds[:0]

    def _select(self, ctx: QueryContext, n: int) -> Query:
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        keep_factor = check_positive_int(self.keep_factor, "keep_factor", owner)
        candidates = self._candidates(ctx, n)
        if candidates is None:
            if hasattr(self.index, "ready"):
                self._built_index(ctx.pool)  # started now, ready by a later query
            shortlist = base._select(ctx, min(ctx.unlabeled.size, keep_factor * n))
            self.shortlist_ = shortlist.indices
            result = base._select(ctx.restrict(shortlist.indices), n)
            self.candidates_ = int(ctx.unlabeled.size)
        else:
            result = base._select(ctx.restrict(candidates), n)
            self.candidates_ = int(candidates.size)
        self.full_ = candidates is None
        self.queries_ = getattr(self, "queries_", 0) + 1
        self._labeled = np.array(ctx.labeled, dtype=np.intp)
        return Query(indices=result.indices, scores=result.scores, strategy=repr(self))


def _lineage(features: Any) -> Any:
    return getattr(features, "lineage", None)


def _same_rows(old: Any, new: Any) -> bool:
    """Whether ``new`` holds exactly ``old``'s rows (another read of one stored pool)."""
    return _lineage(old) is not None and _lineage(old) == _lineage(new) and old.shape == new.shape


def _grown(old: Any, new: Any) -> bool:
    """Whether ``new`` is ``old`` with rows appended (same lineage and width, more rows)."""
    return (
        _lineage(old) is not None
        and _lineage(old) == _lineage(new)
        and old.shape[1] == new.shape[1]
        and new.shape[0] > old.shape[0]
    )
