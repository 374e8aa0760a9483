"""Pool: index-addressed feature rows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.data.pool import Pool


def test_len_and_texts() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5, 3))
    pool = Pool(features, texts=["a", "b", "c", "d", "e"])
    assert len(pool) == 5
    assert pool.texts is not None and pool.texts[2] == "c"


def test_rows_dense() -> None:
    features = np.arange(12, dtype=np.float64).reshape(4, 3)
    pool = Pool(features)
    rows = pool.rows(np.array([3, 1], dtype=np.intp))
    assert isinstance(rows, np.ndarray)
    np.testing.assert_array_equal(rows, [[9.0, 10.0, 11.0], [3.0, 4.0, 5.0]])
    rows[0, 0] = -1.0  # fancy indexing returns a copy
    assert features[3, 0] == 9.0


def test_rows_sparse_csr() -> None:
    dense = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    pool = Pool(sp.csr_matrix(dense))
    assert len(pool) == 3
    rows = pool.rows(np.array([2, 0], dtype=np.intp))
    assert sp.issparse(rows)
    assert rows.shape == (2, 3)
    np.testing.assert_array_equal(rows.toarray(), [[0.0, 0.0, 3.0], [0.0, 1.0, 0.0]])


def test_complement() -> None:
    pool = Pool(np.zeros((7, 2)))
    out = pool.complement(np.array([0, 3], dtype=np.intp), np.array([6, 3], dtype=np.intp))
    assert out.dtype == np.intp
    assert out.tolist() == [1, 2, 4, 5]
    assert pool.complement().tolist() == list(range(7))
    assert pool.complement(np.arange(7)).tolist() == []


def test_mismatched_texts_length_raises() -> None:
    with pytest.raises(ValueError, match="3 feature rows but 2 texts"):
        Pool(np.zeros((3, 2)), texts=["a", "b"])


@pytest.mark.parametrize("features", [np.zeros(4), np.zeros((2, 2, 2)), [[1.0, 2.0]]])
def test_features_that_are_not_2d_arrays_raise(features: object) -> None:
    with pytest.raises(ValueError, match="2-d array"):
        Pool(features)


def test_rows_of_a_contiguous_run_are_a_view_and_others_a_copy() -> None:
    features = np.arange(20.0).reshape(10, 2)
    pool = Pool(features)
    run = pool.rows(np.arange(3, 7))
    np.testing.assert_array_equal(run, features[3:7])
    assert np.shares_memory(run, features)
    scattered = pool.rows(np.array([1, 3, 4]))
    np.testing.assert_array_equal(scattered, features[[1, 3, 4]])
    assert not np.shares_memory(scattered, features)
    np.testing.assert_array_equal(pool.rows(np.array([5])), features[[5]])


def test_sequences_at_returns_token_lists_in_index_order() -> None:
    pool = Pool(np.zeros((3, 0)), sequences=[["play", "jazz"], [], ["stop"]])
    assert len(pool) == 3
    assert pool.sequences_at(np.array([2, 0, 1])) == [["stop"], ["play", "jazz"], []]


def test_mismatched_sequences_length_raises() -> None:
    with pytest.raises(ValueError, match="3 feature rows but 2 token sequences"):
        Pool(np.zeros((3, 4)), sequences=[["a"], ["b"]])


def test_sequences_at_without_sequences_names_the_fix() -> None:
    with pytest.raises(ValueError, match="no token sequences"):
        Pool(np.zeros((2, 1))).sequences_at(np.array([0]))
