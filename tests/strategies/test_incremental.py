"""IncrementalRescoring: full rankings on schedule, candidate sets in between."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import Pool
from labelwise.strategies import (
    BackgroundIndex,
    ExactNeighborIndex,
    IncrementalRescoring,
    MarginSampling,
    RandomSampling,
)
from labelwise.strategies.wrappers import _unlabeled_neighbors
from tests.strategies.fakes import FixedProbaLearner, GatedIndex


class ByFirstColumn(FixedProbaLearner):
    """Margins from column 0 of the pool's rows (the item's position), so any subset of
    rows scores as it does in the whole pool."""


def _pool_and_learner(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = np.c_[np.arange(n, dtype=float), rng.normal(size=(n, 8))]
    p = rng.uniform(0.05, 0.95, n)
    return Pool(features), ByFirstColumn(np.c_[p, 1 - p])


def _query(strategy, learner, pool, labeled, labels=None, n=10, seed=0):
    labeled = np.asarray(labeled, dtype=np.intp)
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    return strategy.query(learner, pool, labeled, unlabeled, n, labels=labels, random_state=seed)


def test_a_full_query_chooses_what_the_base_chooses():
    pool, learner = _pool_and_learner()
    wrapped = IncrementalRescoring(MarginSampling(), index=ExactNeighborIndex())
    got = _query(wrapped, learner, pool, [0, 1])
    assert wrapped.full_ and wrapped.candidates_ == 398 and wrapped.queries_ == 1
    assert got.indices.tolist() == _query(MarginSampling(), learner, pool, [0, 1]).indices.tolist()
    # The shortlist is the base's best keep_factor x n, best first.
    expected = _query(MarginSampling(), learner, pool, [0, 1], n=100).indices
    assert wrapped.shortlist_.tolist() == expected.tolist()


def test_between_full_queries_only_the_shortlist_and_neighbours_of_new_labels_are_ranked():
    pool, learner = _pool_and_learner()
    index = ExactNeighborIndex()
    wrapped = IncrementalRescoring(MarginSampling(), k=5, anchors=0, index=index, full_every=3)
    first = _query(wrapped, learner, pool, [0, 1])
    labeled = np.concatenate([[0, 1], first.indices])
    second = _query(wrapped, learner, pool, labeled)
    assert not wrapped.full_
    neighbours = index.search(pool.rows(first.indices), 30)
    allowed = set(wrapped.shortlist_.tolist()) | set(neighbours.ravel().tolist())
    assert set(second.indices.tolist()) <= allowed
    assert set(second.indices.tolist()).isdisjoint(labeled.tolist())
    assert 90 <= wrapped.candidates_ < 390
    # Within its candidates the base's order holds: the best margins of that set.
    margins = 1 - np.abs(2 * learner.proba[:, 0] - 1)
    assert np.all(np.diff(margins[second.indices]) <= 1e-12)
    # With full_every=3 the fourth query ranks the whole pool again.
    labeled = np.concatenate([labeled, second.indices])
    third = _query(wrapped, learner, pool, labeled)
    assert not wrapped.full_
    _query(wrapped, learner, pool, np.concatenate([labeled, third.indices]))
    assert wrapped.full_ and wrapped.queries_ == 4


def test_anchors_bring_the_neighbours_of_every_class_into_play():
    pool, learner = _pool_and_learner()
    wrapped = IncrementalRescoring(
        MarginSampling(), k=3, anchors=2, keep_factor=1, index=ExactNeighborIndex()
    )
    labeled = np.arange(20)
    labels = ["a"] * 10 + ["b"] * 10
    _query(wrapped, learner, pool, labeled, labels)
    _query(wrapped, learner, pool, labeled, labels)
    # Shortlist (10) plus 3 neighbours of each of 4 anchors: more than the shortlist.
    assert not wrapped.full_ and 10 < wrapped.candidates_ <= 22


def test_too_few_candidates_rank_the_whole_pool():
    pool, learner = _pool_and_learner(60)
    wrapped = IncrementalRescoring(
        MarginSampling(), k=1, anchors=0, keep_factor=1, index=ExactNeighborIndex()
    )
    first = _query(wrapped, learner, pool, [0], n=20)
    _query(wrapped, learner, pool, np.concatenate([[0], first.indices]), n=20)
    assert wrapped.full_


def test_full_every_one_is_the_base_every_time():
    pool, learner = _pool_and_learner()
    wrapped = IncrementalRescoring(MarginSampling(), full_every=1, index=ExactNeighborIndex())
    labeled = np.array([0, 1])
    for _ in range(3):
        got = _query(wrapped, learner, pool, labeled)
        assert wrapped.full_
        assert (
            got.indices.tolist()
            == _query(MarginSampling(), learner, pool, labeled).indices.tolist()
        )
        labeled = np.concatenate([labeled, got.indices])


def test_another_run_s_labels_start_with_a_full_query():
    pool, learner = _pool_and_learner()
    wrapped = IncrementalRescoring(MarginSampling(), index=ExactNeighborIndex())
    _query(wrapped, learner, pool, [0, 1])
    _query(wrapped, learner, pool, [2, 3])  # 0 and 1 are no longer labeled
    assert wrapped.full_


def test_the_same_seed_gives_the_same_rounds():
    pool, learner = _pool_and_learner()

    def rounds():
        wrapped = IncrementalRescoring(RandomSampling(), anchors=3, index=ExactNeighborIndex())
        labeled, labels, out = np.arange(10), ["a", "b"] * 5, []
        for step in range(3):
            got = _query(wrapped, learner, pool, labeled, labels, seed=step)
            out.append(got.indices.tolist())
            labeled = np.concatenate([labeled, got.indices])
            labels = labels + ["a"] * len(got)
        return out

    assert rounds() == rounds()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, "'k'"),
        ({"full_every": 0}, "'full_every'"),
        ({"keep_factor": 0}, "'keep_factor'"),
        ({"anchors": -1}, "'anchors'"),
    ],
)
def test_bad_parameters_are_named(params, message):
    pool, learner = _pool_and_learner()
    wrapped = IncrementalRescoring(MarginSampling(), index=ExactNeighborIndex(), **params)
    with pytest.raises(ValueError, match=message):
        _query(wrapped, learner, pool, [0, 1])
        _query(wrapped, learner, pool, np.arange(12))


class CountingIndex(ExactNeighborIndex):
    """Exact search that counts the rows it was asked about."""

    searched = 0

    def search(self, queries, k):
        self.searched += queries.shape[0]
        return super().search(queries, k)


def test_each_seed_is_searched_once_and_gives_what_a_fresh_search_gives():
    pool, learner = _pool_and_learner()
    index = CountingIndex()
    wrapped = IncrementalRescoring(MarginSampling(), k=5, anchors=0, index=index, full_every=10)
    labeled = np.array([0, 1])
    searched = []
    for _ in range(4):
        got = _query(wrapped, learner, pool, labeled)
        searched.append(index.searched)
        new = got.indices
        labeled = np.concatenate([labeled, new])
    # Query 1 is full (no search); queries 2-4 each search only the 10 new labels.
    assert np.diff(searched).tolist() == [10, 10, 10]
    # The cached neighbours are those a fresh search finds.
    is_unlabeled = np.ones(len(pool), dtype=bool)
    is_unlabeled[labeled] = False
    seeds = labeled[-10:]
    fresh = _unlabeled_neighbors(index, pool, seeds, is_unlabeled, 5)
    cached = wrapped._neighbours(pool, seeds, is_unlabeled, 5)
    assert cached.tolist() == fresh.tolist()


class StoredLike:
    """Rows with a ``lineage``, as a feature store's reads have: equal lineages mean the
    longer holds the shorter's rows, then rows appended since."""

    def __init__(self, rows, lineage):
        self._rows = rows
        self.lineage = lineage
        self.shape = rows.shape

    def __getitem__(self, index):
        return self._rows[index]


class BuildCountingIndex(CountingIndex):
    """Exact search that counts builds and extensions (and the rows each extension added)."""

    def __init__(self):
        super().__init__()
        self.builds, self.extensions = 0, []

    def build(self, features):
        self.builds += 1
        return super().build(features)

    def extend(self, features, start):
        self.extensions.append(features.shape[0] - start)
        self.builds -= 1  # the exact index extends by building: not a build of the wrapper's
        return super().extend(features, start)


def _grown_rounds(lineages, sizes):
    """Three incremental queries over a pool read anew each time (as each server retrain
    reads its store), with the given lineages and sizes; returns the index and wrapper."""
    pool, learner = _pool_and_learner(n=max(sizes))
    rows = pool.features
    index = BuildCountingIndex()
    wrapped = IncrementalRescoring(MarginSampling(), k=5, anchors=0, index=index, full_every=10)
    labeled = np.array([0, 1])
    for lineage, size in zip(lineages, sizes, strict=True):
        grown = Pool(StoredLike(rows[:size], lineage))
        got = _query(wrapped, learner, grown, labeled)
        labeled = np.concatenate([labeled, got.indices])
    return index, wrapped


def test_a_grown_pool_extends_the_index_instead_of_building_it_again():
    index, wrapped = _grown_rounds(["store", "store", "store"], [300, 300, 400])
    # Query 1 is full (no index); query 2 builds it; query 3's pool grew by 100 rows.
    assert index.builds == 1 and index.extensions == [100]
    assert not wrapped.full_
    assert wrapped.index_.features_.shape[0] == 400


def test_another_lineage_builds_the_index_again():
    index, _ = _grown_rounds(["a", "a", "b"], [300, 300, 400])
    assert index.builds == 2 and index.extensions == []


def test_rows_without_a_lineage_build_the_index_for_every_new_pool():
    index, _ = _grown_rounds([None, None, None], [300, 300, 300])
    assert index.builds == 2 and index.extensions == []


def test_neighbours_are_searched_in_the_index_features():
    # Column 0 is the item's position (what the learner reads); the rest is the meaning.
    pool, learner = _pool_and_learner()
    meaning = pool.features[:, 1:]
    index = ExactNeighborIndex()
    wrapped = IncrementalRescoring(
        MarginSampling(),
        k=5,
        anchors=0,
        index=index,
        full_every=10,
        index_features=lambda features: features[:, 1:],
    )
    first = _query(wrapped, learner, pool, [0, 1])
    labeled = np.concatenate([[0, 1], first.indices])
    _query(wrapped, learner, pool, labeled)
    assert np.allclose(index.features_ * np.linalg.norm(meaning, axis=1)[:, None], meaning)
    is_unlabeled = np.ones(len(pool), dtype=bool)
    is_unlabeled[labeled] = False
    expected = _unlabeled_neighbors(
        ExactNeighborIndex().build(meaning), Pool(meaning), first.indices, is_unlabeled, 5
    )
    assert wrapped._neighbours(pool, first.indices, is_unlabeled, 5).tolist() == (expected.tolist())


def test_a_grown_pool_that_asks_for_another_kind_of_index_builds_that_one():
    pool, learner = _pool_and_learner(n=400)
    counting = BuildCountingIndex()
    wrapped = IncrementalRescoring(MarginSampling(), k=5, anchors=0, index=counting, full_every=10)
    labeled = np.array([0, 1])
    for size in (300, 300):
        got = _query(wrapped, learner, Pool(StoredLike(pool.features[:size], "s")), labeled)
        labeled = np.concatenate([labeled, got.indices])
    # The caller now wants another index (as the server does past 50,000 items).
    wrapped.index = ExactNeighborIndex()
    _query(wrapped, learner, Pool(StoredLike(pool.features, "s")), labeled)
    assert counting.builds == 1 and counting.extensions == []
    assert type(wrapped.index_) is ExactNeighborIndex and wrapped.index_.features_.shape[0] == 400


def test_queries_rank_the_whole_pool_until_a_background_index_is_ready():
    pool, learner = _pool_and_learner()
    inner = GatedIndex()
    wrapped = IncrementalRescoring(
        MarginSampling(), k=5, anchors=0, index=BackgroundIndex(inner), full_every=10
    )
    labeled = np.array([0, 1])
    fulls = []
    for opened in (False, False, True, True):
        if opened:
            inner.gate.set()
            wrapped.index.wait()
        got = _query(wrapped, learner, pool, labeled)
        fulls.append(wrapped.full_)
        labeled = np.concatenate([labeled, got.indices])
    # The build started with the first (full) query; none waited for it.
    assert fulls == [True, True, False, False]


def test_a_failed_background_build_fails_one_query_and_is_built_again():
    pool, learner = _pool_and_learner()
    inner = GatedIndex(fail=True)
    inner.gate.set()
    wrapped = IncrementalRescoring(
        MarginSampling(), k=5, anchors=0, index=BackgroundIndex(inner), full_every=10
    )
    labeled = np.concatenate([[0, 1], _query(wrapped, learner, pool, [0, 1]).indices])
    with pytest.raises(RuntimeError, match="the build broke"):
        wrapped.index.wait()  # the build the first (full) query started
    with pytest.raises(RuntimeError, match="the build broke"):
        _query(wrapped, learner, pool, labeled)  # says so, once
    inner.fail = False
    inner.gate.clear()
    _query(wrapped, learner, pool, labeled)  # starts the build again, ranks the whole pool
    assert wrapped.full_ and inner.builds == 2
    inner.gate.set()
    wrapped.index.wait()
    _query(wrapped, learner, pool, labeled)
    assert not wrapped.full_


def test_a_grown_pool_does_not_wait_for_a_background_build_under_way():
    pool, learner = _pool_and_learner(n=400)
    inner = GatedIndex()
    wrapped = IncrementalRescoring(
        MarginSampling(), k=5, anchors=0, index=BackgroundIndex(inner), full_every=10
    )
    labeled = np.array([0, 1])
    for size in (300, 400):  # the build starts at 300 rows; the pool grows meanwhile
        got = _query(wrapped, learner, Pool(StoredLike(pool.features[:size], "s")), labeled)
        labeled = np.concatenate([labeled, got.indices])
        assert wrapped.full_ and not wrapped.index.ready  # answered without waiting
    assert inner.builds == 1  # nothing queued behind the build under way
    inner.gate.set()
    wrapped.index.wait()
    inner.gate.clear()  # the extension waits at the gate too
    grown = Pool(StoredLike(pool.features, "s"))
    # The next query starts adding the 100 new rows, and ranks the whole pool meanwhile...
    labeled = np.concatenate([labeled, _query(wrapped, learner, grown, labeled).indices])
    assert wrapped.full_ and inner.builds == 2
    inner.gate.set()
    wrapped.index.wait()
    # ...then queries rank candidates over the grown index.
    _query(wrapped, learner, grown, labeled)
    assert inner.features_.shape[0] == 400 and not wrapped.full_
