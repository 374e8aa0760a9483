"""top_k: partial sort, best first, seeded tie-break independent of chunking."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from labelwise.strategies._select import top_k


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
