"""Feature blocks side by side: joined into one CSR matrix, or kept apart as JoinedRows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.data import JoinedRows, join_blocks


def blocks(n: int = 40, seed: int = 0, dtype: Any = np.float32) -> list[Any]:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, 6)).astype(dtype)
    dense[3] = 0.0  # a row with no sentence vector
    sparse = sp.random(n, 50, density=0.1, format="lil", random_state=seed, dtype=np.float64)
    sparse[5] = 0.0  # a text with no known n-gram
    return [dense, sp.csr_matrix(sparse)]


def as_dense(parts) -> np.ndarray:
    return np.hstack([p.toarray() if sp.issparse(p) else p for _, p in parts])


def test_joined_rows_as_csr_are_exactly_the_joined_blocks():
    parts = blocks()
    rows = JoinedRows(parts, [0.8, 1.0])
    joined = rows.tocsr()
    expected = join_blocks(parts, [0.8, 1.0])
    for name in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(expected, name))
    assert rows.shape == expected.shape == (40, 56) and len(rows) == 40
    assert rows.widths == (6, 50)
    assert repr(rows) == "JoinedRows(shape=(40, 56), widths=(6, 50), weights=(0.8, 1.0))"


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_scaled_blocks_are_the_joined_rows_in_float32(dtype):
    parts = blocks(dtype=dtype)
    rows = JoinedRows(parts, [0.8, 1.0])
    scaled = list(rows.scaled(0, 40))
    assert [first for first, _ in scaled] == [0, 6]
    assert isinstance(scaled[0][1], np.ndarray) and sp.issparse(scaled[1][1])
    assert all(p.dtype == np.float32 for _, p in scaled)
    reference = join_blocks([p.astype(np.float64) for p in parts], [0.8, 1.0]).toarray()
    np.testing.assert_allclose(as_dense(scaled), reference, rtol=0, atol=1e-6)
    assert not as_dense(scaled)[3, :6].any() and not as_dense(scaled)[5, 6:].any()


def test_a_row_is_scaled_the_same_whatever_range_it_is_read_in():
    rows = JoinedRows(blocks(), [0.8, 1.0])
    whole = as_dense(rows.scaled(0, 40))
    for start, stop in [(0, 1), (7, 23), (39, 40)]:
        np.testing.assert_array_equal(as_dense(rows.scaled(start, stop)), whole[start:stop])


def test_scaling_leaves_the_blocks_as_they_were():
    parts = blocks()
    before = [parts[0].copy(), parts[1].copy()]
    list(JoinedRows(parts, [2.0, 3.0]).scaled(0, 40))
    np.testing.assert_array_equal(parts[0], before[0])
    np.testing.assert_array_equal(parts[1].toarray(), before[1].toarray())


def test_blocks_that_do_not_fit_together_are_refused():
    dense, sparse = blocks()
    with pytest.raises(ValueError, match="2 parts but 1 blocks"):
        JoinedRows([dense], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"Blocks differ in rows: \[40, 39\]"):
        JoinedRows([dense, sparse[:39]], [1.0, 1.0])
    with pytest.raises(ValueError, match="at least one block"):
        JoinedRows([], [])
