"""Pool: index-addressed feature rows."""

from __future__ import annotations

import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from labelwise.data.pool import Pool
from labelwise.strategies import MarginSampling


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


def _fitted_on(features: np.ndarray) -> LogisticRegression:
    y = (features[:200, 0] > 0).astype(int) + (features[:200, 1] > 0)
    return LogisticRegression(max_iter=500).fit(features[:200].astype(np.float32), y)


def test_a_memory_mapped_pool_queries_as_the_same_matrix_in_memory(tmp_path) -> None:
    features = np.random.default_rng(0).normal(size=(5_000, 16)).astype(np.float16)
    path = tmp_path / "features.npy"
    np.save(path, features)
    pool = Pool.open(path)
    assert isinstance(pool.features, np.memmap) and pool.features.dtype == np.float16
    assert len(pool) == 5_000
    np.testing.assert_array_equal(pool.rows(np.array([3, 1])), features[[3, 1]])
    learner = _fitted_on(features)
    unlabeled = np.arange(200, 5_000)
    mapped = MarginSampling(chunk_size=700).query(
        learner, pool, np.arange(200), unlabeled, 50, random_state=1
    )
    in_memory = MarginSampling().query(
        learner, Pool(np.load(path)), np.arange(200), unlabeled, 50, random_state=1
    )
    assert mapped.indices.tolist() == in_memory.indices.tolist()


def test_a_memory_mapped_pool_is_scored_without_reading_it_whole(tmp_path) -> None:
    n, d = 200_000, 32
    path = tmp_path / "features.npy"
    mapped = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, d))
    rng = np.random.default_rng(1)
    for start in range(0, n, 50_000):
        mapped[start : start + 50_000] = rng.normal(size=(50_000, d))
    mapped.flush()
    del mapped
    pool = Pool.open(path)
    learner = _fitted_on(np.asarray(pool.rows(np.arange(200))))
    tracemalloc.start()
    query = MarginSampling(chunk_size=8_192).query(
        learner, pool, np.arange(200), np.arange(200, n), 100, random_state=0
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert query.indices.size == 100
    # A float64 copy of the pool would take n * d * 8 bytes (51 MB); one chunk's take
    # 8192 * d * 8 (2 MB) plus the scores of the unlabeled positions.
    assert peak < n * d * 8 / 8, peak


def test_opening_something_else_names_the_file(tmp_path) -> None:
    flat = tmp_path / "flat.npy"
    np.save(flat, np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match=r"flat\.npy: a pool's features must be a 2-d"):
        Pool.open(flat)
    counts = tmp_path / "counts.npy"
    np.save(counts, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"counts\.npy: .* 2-d int64"):
        Pool.open(counts)
    text = tmp_path / "notes.npy"
    text.write_text("not an array")
    with pytest.raises(ValueError, match=r"notes\.npy: not a NumPy \.npy feature matrix"):
        Pool.open(text)


def test_a_mapped_pool_pickles_as_its_path_and_maps_the_file_again(tmp_path) -> None:
    path = tmp_path / "features.npy"
    features = np.random.default_rng(0).normal(size=(5000, 32)).astype(np.float16)
    np.save(path, features)
    pool = Pool.open(path, texts=[f"t{i}" for i in range(5000)])
    blob = pickle.dumps(Pool.open(path))
    # 320 kB of rows; the pickle is the path (a process pool or a Dask worker maps it).
    assert len(blob) < 1000
    again = pickle.loads(pickle.dumps(pool))
    assert isinstance(again.features, np.memmap)
    assert again.mapped_from == path.resolve()
    assert again.texts == pool.texts
    np.testing.assert_array_equal(again.rows(np.array([0, 4999, 7])), features[[0, 4999, 7]])


def test_a_pool_in_memory_pickles_its_rows() -> None:
    pool = Pool(np.arange(6.0).reshape(3, 2), texts=["a", "b", "c"])
    again = pickle.loads(pickle.dumps(pool))
    assert again.mapped_from is None and again.texts == ["a", "b", "c"]
    np.testing.assert_array_equal(again.features, pool.features)


class RowsOnDemand:
    """A row-addressable matrix: hands out the rows asked for and records each request."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix
        self.shape = matrix.shape
        self.asked: list[int] = []

    def __getitem__(self, rows):
        out = self.matrix[rows]
        self.asked.append(out.shape[0])
        return out


def test_a_row_addressable_matrix_is_asked_for_the_rows_of_each_chunk_only() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 6)).astype(np.float32)
    y = np.arange(1000) % 3
    model = LogisticRegression().fit(x[:100], y[:100])
    on_demand = RowsOnDemand(x)
    pool = Pool(on_demand)
    assert len(pool) == 1000
    np.testing.assert_array_equal(pool.rows(np.array([5, 6, 7])), x[5:8])
    np.testing.assert_array_equal(pool.rows(np.array([9, 2])), x[[9, 2]])
    on_demand.asked.clear()
    unlabeled = np.arange(100, 1000)
    lazy = MarginSampling(chunk_size=128).query(model, pool, [], unlabeled, 20, random_state=0)
    eager = MarginSampling(chunk_size=128).query(model, Pool(x), [], unlabeled, 20, random_state=0)
    assert lazy.indices.tolist() == eager.indices.tolist()
    assert max(on_demand.asked) <= 128 and sum(on_demand.asked) == unlabeled.size


class BlocksOnDemand:
    """Row-addressable rows kept as two blocks (a dense and a sparse one), as the server's
    feature store keeps them: joined when indexed, apart when asked for joined rows."""

    def __init__(self, dense: np.ndarray, sparse: sp.csr_matrix) -> None:
        from labelwise.data.joined import JoinedRows

        self.rows = JoinedRows([dense, sparse], [0.8, 1.0])
        self.shape = self.rows.shape
        self.apart = 0

    def _rows(self, rows):
        from labelwise.data.joined import JoinedRows

        return JoinedRows([b[rows] for b in self.rows.blocks], self.rows.weights)

    def __getitem__(self, rows):
        return self._rows(rows).tocsr()

    def joined_rows(self, rows):
        self.apart += 1
        return self._rows(rows)


def test_joined_rows_are_given_to_learners_that_read_them_and_joined_to_others() -> None:
    from labelwise.data.joined import JoinedRows
    from labelwise.learners import ProbabilisticClassifier

    rng = np.random.default_rng(2)
    y = np.arange(900) % 4
    dense = (rng.normal(size=(4, 8))[y] + rng.normal(size=(900, 8))).astype(np.float32)
    sparse = sp.random(900, 30, density=0.1, format="csr", random_state=2, dtype=np.float32)
    features = BlocksOnDemand(dense, sparse)
    pool, joined = Pool(features), features.rows.tocsr()
    assert isinstance(pool.rows(np.array([3, 4, 5]), joined=True), JoinedRows)
    assert sp.issparse(pool.rows(np.array([3, 4, 5])))
    # Features that keep no blocks give their usual rows either way.
    np.testing.assert_array_equal(Pool(dense).rows(np.array([2, 7]), joined=True), dense[[2, 7]])

    unlabeled = np.arange(100, 900)
    args = ([], unlabeled, 30)
    features.apart = 0
    reader = ProbabilisticClassifier(classes=[0, 1, 2, 3]).fit(joined[:100], y[:100])
    apart = MarginSampling(chunk_size=128).query(reader, pool, *args, random_state=0)
    assert features.apart == -(-unlabeled.size // 128)
    together = MarginSampling(chunk_size=128).query(reader, Pool(joined), *args, random_state=0)
    assert apart.indices.tolist() == together.indices.tolist()
    np.testing.assert_allclose(apart.scores, together.scores, rtol=0, atol=1e-6)
    features.apart = 0
    plain = LogisticRegression().fit(joined[:100], y[:100])  # reads no joined rows
    MarginSampling(chunk_size=128).query(plain, pool, *args, random_state=0)
    assert features.apart == 0  # asked through __getitem__ only
