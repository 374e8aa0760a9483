"""top_k: partial sort, best first; position keys make any split of the pool rank the same."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from labelwise.strategies import MarginSampling
from labelwise.strategies._select import position_keys, top_k
from tests.strategies.fakes import FixedProbaLearner, index_pool


def test_best_first_with_distinct_scores():
    scores = np.array([0.1, 0.9, 0.5, 0.7])
    keys = np.zeros(4)
    assert top_k(scores, keys, 3).tolist() == [1, 3, 2]


def test_ties_are_ordered_by_key():
    scores = np.array([0.5, 0.5, 0.5, 0.1])
    keys = np.array([0.3, 0.1, 0.2, 0.0])
    assert top_k(scores, keys, 2).tolist() == [1, 2]
    assert top_k(scores, keys, 4).tolist() == [1, 2, 0, 3]


def test_k_larger_than_n_returns_all():
    assert sorted(top_k(np.array([1.0, 2.0]), np.zeros(2), 5).tolist()) == [0, 1]


def test_k_zero_returns_empty():
    assert top_k(np.array([1.0]), np.zeros(1), 0).size == 0


@given(
    st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=70),
    st.integers(min_value=0, max_value=2**31),
)
def test_matches_a_full_lexicographic_sort(values, k, seed):
    scores = np.array(values, dtype=float)  # few distinct values: many ties
    keys = np.random.default_rng(seed).random(scores.size)
    expected = np.lexsort((keys, -scores))[: min(k, scores.size)]
    assert top_k(scores, keys, k).tolist() == expected.tolist()


def test_position_keys_depend_on_seed_and_position_only():
    keys = position_keys(7, np.arange(100_000))
    assert keys.min() >= 0.0 and keys.max() < 1.0
    assert np.unique(keys).size == keys.size
    assert abs(keys.mean() - 0.5) < 0.01
    assert position_keys(7, np.array([42, 3]))[1] == position_keys(7, np.array([3]))[0]
    assert position_keys(8, np.array([3]))[0] != position_keys(7, np.array([3]))[0]


@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=80),
    st.integers(min_value=1, max_value=90),
    st.integers(min_value=0, max_value=2**62),
    st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=6),
)
def test_a_top_k_merged_over_any_split_of_the_pool_is_the_whole_pools(values, k, seed, cuts):
    """Per-partition top-k, merged by another top-k, equals the top-k of the whole pool
    (as a Dask tree reduction or a chunked scan computes it), whatever the split."""
    scores = np.array(values, dtype=float)  # few distinct values: many ties
    positions = np.arange(scores.size)
    whole = top_k(scores, position_keys(seed, positions), k)
    bounds = sorted({min(c, scores.size) for c in cuts} | {0, scores.size})
    merged_pos: list[int] = []
    for start, stop in zip(bounds, bounds[1:], strict=False):
        part = positions[start:stop]
        best = top_k(scores[part], position_keys(seed, part), k)
        merged_pos += part[best].tolist()
    merged = np.array(merged_pos, dtype=np.intp)
    final = merged[top_k(scores[merged], position_keys(seed, merged), k)]
    assert final.tolist() == whole.tolist()


@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=60),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=1, max_value=64),
)
def test_a_pointwise_query_ranks_the_same_whatever_its_chunk_size(values, n, small, large):
    proba = np.array([[v / 4 + 0.1, 0.9 - v / 4] for v in values])
    learner = FixedProbaLearner(proba)
    pool = index_pool(len(values))
    unlabeled = np.arange(len(values))
    a = MarginSampling(chunk_size=small).query(learner, pool, [], unlabeled, n, random_state=3)
    b = MarginSampling(chunk_size=large).query(learner, pool, [], unlabeled, n, random_state=3)
    assert a.indices.tolist() == b.indices.tolist()
