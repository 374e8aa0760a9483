"""A Parquet column of vectors as a pool: read a row group at a time, pickled as a path."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.data.parquet import ParquetRows
from labelwise.scoring import DaskScorer, LocalScorer
from labelwise.strategies import MarginSampling


def _write(path, matrix, *, fixed=True, group=250, extra=None):
    values = pa.array(matrix.reshape(-1))
    if fixed:
        vectors = pa.FixedSizeListArray.from_arrays(values, matrix.shape[1])
    else:
        offsets = pa.array(np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32))
        vectors = pa.ListArray.from_arrays(offsets, values)
    table = pa.table({"id": np.arange(len(matrix)), "vec": vectors, **(extra or {})})
    pq.write_table(table, path, row_group_size=group)
    return path


@pytest.fixture
def matrix():
    return np.random.default_rng(0).normal(size=(1000, 12)).astype(np.float16)


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed-size lists", "lists"])
def test_rows_read_from_parquet_are_the_written_vectors(tmp_path, matrix, fixed):
    pool = Pool.open(_write(tmp_path / "f.parquet", matrix, fixed=fixed), column="vec")
    assert len(pool) == 1000 and pool.features.shape == (1000, 12)
    assert pool.features.dtype == np.float16
    np.testing.assert_array_equal(pool.rows(np.arange(240, 260)), matrix[240:260])
    picks = np.array([999, 0, 500, 251, 250])
    np.testing.assert_array_equal(pool.rows(picks), matrix[picks])


def test_a_parquet_pool_is_scored_a_row_group_at_a_time_and_ranks_as_in_memory(
    tmp_path, matrix, monkeypatch
):
    x = matrix.astype(np.float32)
    model = LogisticRegression().fit(x[:100], np.arange(100) % 3)
    pool = Pool.open(_write(tmp_path / "f.parquet", matrix), column="vec")
    reads = []
    real = pool.features._file.read_row_group

    def counting(i, **kwargs):
        reads.append(i)
        return real(i, **kwargs)

    monkeypatch.setattr(pool.features._file, "read_row_group", counting)
    unlabeled = np.arange(100, 1000)
    got = MarginSampling(chunk_size=100).query(model, pool, [], unlabeled, 20, random_state=0)
    expected = MarginSampling().query(model, Pool(matrix), [], unlabeled, 20, random_state=0)
    assert got.indices.tolist() == expected.indices.tolist()
    assert reads == [0, 1, 2, 3]  # each row group decoded once, in order


def test_a_parquet_pool_pickles_as_its_path(tmp_path, matrix):
    pool = Pool.open(_write(tmp_path / "f.parquet", matrix), column="vec")
    blob = pickle.dumps(pool)
    assert len(blob) < 1000
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.rows(np.arange(5)), matrix[:5])
    assert repr(again.features) == f"ParquetRows({str(tmp_path / 'f.parquet')!r}, column='vec')"


def test_dask_workers_read_their_own_partitions_of_a_parquet_pool(tmp_path, matrix, dask_scheduler):
    x = matrix.astype(np.float32)
    model = LogisticRegression().fit(x[:100], np.arange(100) % 3)
    pool = Pool.open(_write(tmp_path / "f.parquet", matrix), column="vec")
    unlabeled = np.arange(100, 1000)
    scorer = DaskScorer(dask_scheduler, partition_size=300)
    try:
        there = MarginSampling().query(
            model, pool, [], unlabeled, 20, random_state=1, scorer=scorer
        )
    finally:
        scorer.close()
    here = MarginSampling().query(model, pool, [], unlabeled, 20, random_state=1)
    assert there.indices.tolist() == here.indices.tolist()


def test_what_is_not_a_feature_column_is_named(tmp_path, matrix):
    path = _write(tmp_path / "f.parquet", matrix, extra={"text": ["x"] * 1000})
    with pytest.raises(
        ValueError, match=r"f\.parquet: no column 'vectors'; the columns are id, vec, text"
    ):
        Pool.open(path, column="vectors")
    with pytest.raises(ValueError, match=r"column 'text' holds string"):
        Pool.open(path, column="text")
    with pytest.raises(ValueError, match=r"name the column of vectors"):
        Pool.open(path)
    with pytest.raises(ValueError, match="'column' is for Parquet files"):
        Pool.open(tmp_path / "f.npy", column="vec")
    (tmp_path / "bad.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.parquet: not a readable Parquet file"):
        ParquetRows(tmp_path / "bad.parquet", "vec")
    # Four values over two rows: a reshape alone would not notice.
    ragged = pa.table({"vec": pa.array([[1.0, 2.0, 3.0], [4.0]], type=pa.list_(pa.float32()))})
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    with pytest.raises(ValueError, match="vectors of different lengths"):
        Pool.open(tmp_path / "ragged.parquet", column="vec").rows(np.arange(2))
    holes = pa.table({"vec": pa.array([[1.0, 2.0], None], type=pa.list_(pa.float32()))})
    pq.write_table(holes, tmp_path / "holes.parquet")
    with pytest.raises(ValueError, match=r"1 empty \(null\) vectors in row group 0"):
        Pool.open(tmp_path / "holes.parquet", column="vec")


def test_scoring_threads_share_a_parquet_pool(tmp_path, matrix):
    x = matrix.astype(np.float32)
    model = LogisticRegression().fit(x[:100], np.arange(100) % 3)
    pool = Pool.open(_write(tmp_path / "f.parquet", matrix, group=50), column="vec")
    unlabeled = np.arange(100, 1000)
    strategy = MarginSampling(chunk_size=37)
    threaded = strategy.query(
        model, pool, [], unlabeled, 30, random_state=2, scorer=LocalScorer(threads=4)
    )
    alone = strategy.query(model, Pool(matrix), [], unlabeled, 30, random_state=2)
    assert threaded.indices.tolist() == alone.indices.tolist()
    np.testing.assert_array_equal(threaded.scores, alone.scores)
