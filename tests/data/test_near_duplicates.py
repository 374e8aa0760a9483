"""Greedy near-duplicate groups: known answers, the defining properties, sparse = dense."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.data.near_duplicates import assign_near_duplicates


def _reference(x, leaders, candidates, threshold):
    # One candidate at a time against every leader so far: the definition, slowly.
    units = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    units[np.linalg.norm(x, axis=1) == 0] = 0
    known = list(leaders)
    out = []
    for c in candidates:
        sims = [float(units[c] @ units[k]) for k in known]
        if sims and max(sims) >= threshold:
            out.append(known[int(np.argmax(sims))])
        else:
            known.append(c)
            out.append(c)
    return out


def test_known_answer():
    x = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [0.05, 1.0], [0.0, 0.0]])
    assert assign_near_duplicates(x, [0], [1, 2, 3, 4]).tolist() == [0, 2, 2, 4]
    assert assign_near_duplicates(x, [], [1, 0]).tolist() == [1, 1]
    assert assign_near_duplicates(x, [0], []).tolist() == []


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    n_leaders=st.integers(0, 5),
    threshold=st.sampled_from([0.5, 0.8, 0.95, 1.0]),
    chunk_size=st.integers(1, 7),
)
def test_matches_the_one_at_a_time_definition(seed, n, n_leaders, threshold, chunk_size):
    rng = np.random.default_rng(seed)
    # Few directions, so groups form; rounding makes exact ties happen.
    x = np.round(rng.normal(size=(n, 3)), 1)
    n_leaders = min(n_leaders, n)
    leaders = np.arange(n_leaders)
    candidates = rng.permutation(np.arange(n_leaders, n))
    got = assign_near_duplicates(x, leaders, candidates, threshold=threshold, chunk_size=chunk_size)
    expected = _reference(x, list(leaders), list(candidates), threshold)
    # Similarities computed in another order may differ in the last bit: compare where
    # the reference's decision is not within rounding of the threshold.
    assert len(got) == len(expected)
    sparse = assign_near_duplicates(
        sp.csr_matrix(x), leaders, candidates, threshold=threshold, chunk_size=chunk_size
    )
    assert sparse.tolist() == got.tolist()
    units = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    for c, leader in zip(candidates, got, strict=True):
        if leader != c:
            assert units[c] @ units[leader] >= threshold - 1e-9
    new_leaders = [c for c, leader in zip(candidates, got, strict=True) if leader == c]
    everyone = [*leaders, *new_leaders]
    for a in new_leaders:
        for b in everyone:
            if a != b and everyone.index(b) < everyone.index(a):
                assert units[a] @ units[b] < threshold + 1e-9
    if not np.isclose(np.abs((units @ units.T) - threshold), 0, atol=1e-9).any():
        assert got.tolist() == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"candidates": [9]}, "outside the pool"),
        ({"leaders": [[0]]}, "1-d array"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"leaders": [0], "candidates": [1], **kwargs}
    with pytest.raises(ValueError, match=message):
        assign_near_duplicates(np.eye(3), **arguments)
