"""DaskScorer ranks exactly as the in-process scorer, on a real two-worker LocalCluster."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError
from labelwise.learners import Committee
from labelwise.scoring import DaskScorer
from labelwise.scoring.cluster import _positions, _Run
from labelwise.strategies import (
    ClassBalanced,
    ClusterMargin,
    EntropySampling,
    InformationDensity,
    LeastConfidence,
    MarginSampling,
    VoteEntropy,
)
from tests.strategies.fakes import FixedProbaLearner, index_pool


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, Pool, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 8))
    y = rng.integers(0, 5, 3000)
    x = (centers[y] + rng.normal(scale=1.5, size=(3000, 8))).astype(np.float32)
    model = LogisticRegression(max_iter=500).fit(x[:300], y[:300])
    return model, Pool(x), np.arange(300)


def _both(strategy, learner, pool, labeled, n, scorer, **kwargs):
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    here = strategy.query(learner, pool, labeled, unlabeled, n, random_state=11, **kwargs)
    there = strategy.query(
        learner, pool, labeled, unlabeled, n, random_state=11, scorer=scorer, **kwargs
    )
    return here, there


@pytest.mark.parametrize(
    "strategy",
    [
        MarginSampling(chunk_size=100),
        EntropySampling(chunk_size=257),
        LeastConfidence(),
        InformationDensity(MarginSampling(chunk_size=300)),
        ClassBalanced(MarginSampling(chunk_size=128)),
        # Re-ranks the base's scores of the whole pool (score_all) on the cluster.
        ClusterMargin(chunk_size=500, random_state=0),
    ],
    ids=repr,
)
def test_the_cluster_chooses_what_this_process_chooses(fitted, dask_scheduler, strategy):
    model, pool, labeled = fitted
    scorer = DaskScorer(dask_scheduler, partition_size=450, fan_in=3)
    try:
        here, there = _both(strategy, model, pool, labeled, 40, scorer)
    finally:
        scorer.close()
    assert there.indices.tolist() == here.indices.tolist()
    np.testing.assert_array_equal(there.scores, here.scores)
    # Where it ran is not provenance: the strategy recorded is the same.
    assert there.strategy == here.strategy


def test_a_committee_is_scored_on_the_cluster(fitted, dask_scheduler):
    model, pool, labeled = fitted
    committee = Committee(LogisticRegression(max_iter=300), n_members=3, random_state=0)
    committee.fit(pool.rows(labeled), model.predict(pool.rows(labeled)))
    scorer = DaskScorer(dask_scheduler, partition_size=1000)
    try:
        here, there = _both(VoteEntropy(), committee, pool, labeled, 25, scorer)
    finally:
        scorer.close()
    assert there.indices.tolist() == here.indices.tolist()


def test_a_mapped_pool_travels_as_its_path_and_ranks_the_same(fitted, dask_scheduler, tmp_path):
    model, pool, labeled = fitted
    path = tmp_path / "features.npy"
    np.save(path, np.asarray(pool.features, dtype=np.float16))
    mapped = Pool.open(path)
    scorer = DaskScorer(dask_scheduler, partition_size=700)
    try:
        here, there = _both(MarginSampling(), model, mapped, labeled, 30, scorer)
    finally:
        scorer.close()
    assert there.indices.tolist() == here.indices.tolist()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=120),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=2, max_value=5),
)
def test_any_partitioning_and_fan_in_gives_the_single_process_top_k(
    dask_scheduler, values, n, chunk_size, partition_size, fan_in
):
    """Four distinct margins only: most of the ranking is settled by tie-break keys, which
    must not depend on which partition or worker scored an item."""
    proba = np.array([[v / 4 + 0.1, 0.9 - v / 4] for v in values])
    learner, pool = FixedProbaLearner(proba), index_pool(len(values))
    strategy = MarginSampling(chunk_size=chunk_size)
    scorer = DaskScorer(dask_scheduler, partition_size=partition_size, fan_in=fan_in)
    try:
        here, there = _both(strategy, learner, pool, np.zeros(0, dtype=np.intp), n, scorer)
    finally:
        scorer.close()
    assert there.indices.tolist() == here.indices.tolist()


def test_one_worker_or_two_rank_the_same(fitted, dask_scheduler):
    from distributed import LocalCluster

    model, pool, labeled = fitted
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    answers = []
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as single:
        for address in (single.scheduler_address, dask_scheduler):
            scorer = DaskScorer(address, partition_size=333)
            try:
                query = MarginSampling().query(
                    model, pool, labeled, unlabeled, 50, random_state=4, scorer=scorer
                )
            finally:
                scorer.close()
            answers.append(query.indices.tolist())
    assert answers[0] == answers[1]


def test_a_client_you_pass_is_used_and_left_open(fitted, dask_scheduler):
    from distributed import Client

    model, pool, labeled = fitted
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    with Client(dask_scheduler, set_as_default=False) as client:
        scorer = DaskScorer(client)
        assert scorer.client() is client
        MarginSampling().query(model, pool, labeled, unlabeled, 5, scorer=scorer)
        scorer.close()
        assert client.status == "running"


def test_errors_are_raised_here_before_anything_is_sent():
    pool = index_pool(10)
    # An address nothing listens on: reaching it would fail differently.
    scorer = DaskScorer("tcp://127.0.0.1:1", timeout=0.5)
    with pytest.raises(NotFittedError, match="MarginSampling needs a fitted learner"):
        MarginSampling().query(None, pool, [], np.arange(10), 3, scorer=scorer)
    learner = FixedProbaLearner(np.full((10, 2), 0.5))
    with pytest.raises(ValueError, match="partition_size"):
        DaskScorer("tcp://127.0.0.1:1", partition_size=0)._partitions(np.arange(3))
    with pytest.raises(ValueError, match="fan_in must be at least 2"):
        MarginSampling().query(
            learner, pool, [], np.arange(10), 3, scorer=DaskScorer("tcp://x", fan_in=1)
        )


def test_without_the_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"labelwise\[distributed\]"):
        DaskScorer("tcp://127.0.0.1:8786").client()


@given(st.sets(st.integers(min_value=0, max_value=300), min_size=1, max_size=300))
def test_a_partition_travels_as_its_positions(positions):
    block = np.array(sorted(positions), dtype=np.intp)
    part = _Run.of(block)
    assert _positions(part).tolist() == block.tolist()
    shuffled = block[::-1].copy()
    assert _positions(_Run.of(shuffled)).tolist() == shuffled.tolist()


def test_a_nearly_whole_pool_is_sent_as_runs_not_positions():
    everything_but = np.setdiff1d(np.arange(1_000_000), [5, 70_000, 999_999])
    parts = DaskScorer("tcp://127.0.0.1:1", partition_size=262_144)._partitions(everything_but)
    assert all(isinstance(part, _Run) for part in parts)
    assert sum(len(pickle.dumps(part)) for part in parts) < 4_000
