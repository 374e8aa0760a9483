"""The scorer a query is given decides where chunks are scored, at any wrapper depth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.scoring import LocalScorer, PoolScorer
from labelwise.strategies import ClassBalanced, ClusterMargin, MarginSampling
from tests.clustered import clustered_rows
from tests.strategies.fakes import FixedProbaLearner, context, index_pool


class RecordingScorer(PoolScorer):
    """Scores in this process and counts the calls it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.local = LocalScorer()

    def top(self, strategy, ctx, positions, n, *, seed, prepared):
        self.calls.append(("top", positions.size))
        return self.local.top(strategy, ctx, positions, n, seed=seed, prepared=prepared)

    def scores(self, strategy, ctx, positions, *, prepared):
        self.calls.append(("scores", positions.size))
        return self.local.scores(strategy, ctx, positions, prepared=prepared)


def _learner(n: int) -> FixedProbaLearner:
    p = np.random.default_rng(0).uniform(0.05, 0.95, n)
    return FixedProbaLearner(np.c_[p, 1 - p])


def test_the_default_scorer_is_local_and_gives_what_an_explicit_one_gives():
    pool, learner = index_pool(200), _learner(200)
    args = (learner, pool, [0, 1], np.arange(2, 200), 10)
    default = MarginSampling(chunk_size=7).query(*args, random_state=2)
    local = MarginSampling(chunk_size=7).query(*args, random_state=2, scorer=LocalScorer())
    assert default.indices.tolist() == local.indices.tolist()


def test_wrappers_hand_their_base_the_query_s_scorer():
    pool, learner = index_pool(100), _learner(100)
    for strategy, call in [
        (ClassBalanced(MarginSampling()), "top"),
        (ClusterMargin(random_state=0), "scores"),
    ]:
        scorer = RecordingScorer()
        strategy.query(learner, pool, [], np.arange(100), 5, random_state=0, scorer=scorer)
        assert scorer.calls == [(call, 100)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=150),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=2, max_value=5),
)
def test_threads_score_and_rank_as_one_thread(values, n, chunk_size, threads):
    """Four distinct margins: most of the order is settled by tie-break keys, which must
    not depend on the thread that scored an item."""
    proba = np.array([[v / 4 + 0.1, 0.9 - v / 4] for v in values])
    learner, pool = FixedProbaLearner(proba), index_pool(len(values))
    strategy = MarginSampling(chunk_size=chunk_size)
    positions = np.random.default_rng(len(values)).permutation(len(values))
    one, many = LocalScorer(), LocalScorer(threads=threads)
    args = (learner, pool, [], positions, n)
    assert (
        strategy.query(*args, random_state=5, scorer=many).indices.tolist()
        == strategy.query(*args, random_state=5, scorer=one).indices.tolist()
    )
    ctx = context(learner, pool, unlabeled=positions)
    np.testing.assert_array_equal(
        one.scores(strategy, ctx, positions, prepared=None),
        many.scores(strategy, ctx, positions, prepared=None),
    )
    assert repr(many) == f"LocalScorer(threads={threads})"


def test_threads_must_be_a_positive_count():
    learner, pool = _learner(10), index_pool(10)
    with pytest.raises(ValueError, match="threads"):
        MarginSampling().query(learner, pool, [], np.arange(10), 2, scorer=LocalScorer(0))


class BlasThreadsLearner(FixedProbaLearner):
    """Records how many threads BLAS may use while the learner scores a chunk."""

    blas_threads: set[int] | None = None

    def predict_proba(self, X):
        from threadpoolctl import threadpool_info

        self.blas_threads = {
            info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
        }
        return super().predict_proba(X)


@pytest.mark.parametrize("threads", [1, 3])
def test_every_chunk_is_scored_with_a_one_thread_blas(threads):
    """A product split over BLAS threads may round differently, so one-thread and
    many-thread scorers would disagree on large pools; every scorer limits BLAS to one."""
    pool = index_pool(60)
    p = np.random.default_rng(1).uniform(0.05, 0.95, 60)
    learner = BlasThreadsLearner(np.c_[p, 1 - p])
    for method in ("top", "scores"):
        learner.blas_threads = None
        strategy = MarginSampling(chunk_size=20)
        if method == "top":
            strategy.query(
                learner,
                pool,
                [],
                np.arange(60),
                5,
                random_state=0,
                scorer=LocalScorer(threads=threads),
            )
        else:
            LocalScorer(threads=threads).scores(
                strategy, context(learner, pool), np.arange(60), prepared=None
            )
        assert learner.blas_threads == {1}


@pytest.mark.parametrize(("chunk_size", "threads"), [(100, 1), (999, 2), (4096, 2), (50_000, 1)])
def test_a_softmax_model_s_margins_do_not_change_with_the_chunking(chunk_size, threads):
    """With a real softmax over float32 features, not a fake: every margin is the same bit
    for bit whatever the chunk size and thread count. BLAS rounds a product, and a
    matrix-vector row sum, by the number of rows it is given, so this fails unless
    every product has one size and each row is summed alone."""
    from labelwise.data import Pool
    from labelwise.learners import ProbabilisticClassifier

    x, y = clustered_rows(8000, 128, 150, noise=2.0, seed=2)
    model = ProbabilisticClassifier(classes=list(range(150))).fit(x[:1500], y[:1500])
    pool, unlabeled = Pool(x), np.arange(1500, 8000)
    reference = MarginSampling().query(model, pool, [], unlabeled, 300, random_state=3)
    query = MarginSampling(chunk_size=chunk_size).query(
        model, pool, [], unlabeled, 300, random_state=3, scorer=LocalScorer(threads=threads)
    )
    assert query.indices.tolist() == reference.indices.tolist()
    np.testing.assert_array_equal(query.scores, reference.scores)
