"""Known-answer queries for least confidence, margin and entropy."""

import numpy as np
import pytest

from labelwise.data import Pool
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies import EntropySampling, LeastConfidence, MarginSampling
from tests.clustered import clustered_rows
from tests.strategies.fakes import FixedProbaLearner, index_pool, score_all

PROBA = np.array(
    [
        [0.90, 0.05, 0.05],  # 0: confident
        [0.50, 0.49, 0.01],  # 1: near tie, low entropy in the third class
        [0.40, 0.30, 0.30],  # 2: spread out: highest entropy, lowest confidence
        [0.60, 0.20, 0.20],  # 3
    ]
)
ALL = np.arange(4)
NONE = np.zeros(0, dtype=int)


def query(strategy, n, unlabeled=ALL, labeled=NONE, seed=0, proba=PROBA):
    learner = FixedProbaLearner(proba)
    return strategy.query(learner, index_pool(len(proba)), labeled, unlabeled, n, random_state=seed)


def test_margin_prefers_the_near_tie():
    q = query(MarginSampling(), 2)
    assert q.indices.tolist() == [1, 2]
    np.testing.assert_allclose(q.scores, [0.99, 0.9])


def test_least_confidence_prefers_the_lowest_top_probability():
    q = query(LeastConfidence(), 4)
    assert q.indices.tolist() == [2, 1, 3, 0]
    np.testing.assert_allclose(q.scores, [0.6, 0.5, 0.4, 0.1])


def test_entropy_prefers_the_spread_row():
    q = query(EntropySampling(), 1)
    assert q.indices.tolist() == [2]
    p = PROBA[2]
    assert q.scores[0] == pytest.approx(-(p * np.log(p)).sum())


def test_labeled_items_are_never_returned():
    q = query(MarginSampling(), 4, unlabeled=np.array([0, 2, 3]), labeled=np.array([1]))
    assert q.indices.tolist() == [2, 3, 0]


def test_all_equal_rows_break_ties_by_seed_reproducibly():
    flat = np.full((50, 4), 0.25)
    first = query(MarginSampling(), 10, unlabeled=np.arange(50), proba=flat, seed=7)
    again = query(MarginSampling(), 10, unlabeled=np.arange(50), proba=flat, seed=7)
    other = query(MarginSampling(), 10, unlabeled=np.arange(50), proba=flat, seed=8)
    assert first.indices.tolist() == again.indices.tolist()
    assert first.indices.tolist() != other.indices.tolist()
    np.testing.assert_allclose(first.scores, 1.0)


def test_chunking_does_not_change_the_answer():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.ones(5), size=1000).round(2)
    proba /= proba.sum(axis=1, keepdims=True)
    pool_idx = np.arange(1000)
    whole = query(EntropySampling(chunk_size=5000), 37, unlabeled=pool_idx, proba=proba, seed=1)
    chunked = query(EntropySampling(chunk_size=64), 37, unlabeled=pool_idx, proba=proba, seed=1)
    assert whole.indices.tolist() == chunked.indices.tolist()


def test_probabilities_are_materialised_one_chunk_at_a_time():
    learner = FixedProbaLearner(np.full((1000, 3), 1 / 3))
    MarginSampling(chunk_size=100).query(
        learner, index_pool(1000), NONE, np.arange(1000), 10, random_state=0
    )
    assert max(learner.calls) == 100
    assert sum(learner.calls) == 1000


def test_single_class_probabilities():
    q = query(MarginSampling(), 2, proba=np.ones((4, 1)))
    assert len(q) == 2
    np.testing.assert_allclose(q.scores, 0.0)


def test_multilabel_scores_each_class_as_binary():
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.5, 0.99]])
    learner = FixedProbaLearner(proba, multilabel=True)
    q = LeastConfidence().query(learner, index_pool(3), NONE, np.arange(3), 3, random_state=0)
    # per class 1 - max(p, 1-p), averaged: row0 0.5, row1 0.1, row2 (0.5 + 0.01) / 2
    assert q.indices.tolist() == [0, 2, 1]
    np.testing.assert_allclose(q.scores, [0.5, 0.255, 0.1])


def test_unfitted_learner_is_refused():
    from labelwise.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="needs a fitted learner"):
        MarginSampling().query(None, index_pool(3), NONE, np.arange(3), 1)


def test_score_all_matches_the_measure_whatever_the_chunking():
    learner = FixedProbaLearner(PROBA)
    scores = score_all(MarginSampling(chunk_size=3), learner, index_pool(4), NONE, [3, 0, 1, 2])
    np.testing.assert_allclose(scores, [0.6, 0.15, 0.99, 0.9])


def test_missing_capability_is_named():
    from labelwise._validation import require_capability

    with pytest.raises(
        TypeError, match=r"needs a learner with a member_proba\(\) method; FixedProbaLearner"
    ):
        require_capability(FixedProbaLearner(PROBA), "member_proba", "VoteEntropy")


@pytest.mark.parametrize("strategy", [MarginSampling(), LeastConfidence()], ids=repr)
def test_margin_and_least_confidence_read_only_the_top_two_of_a_softmax_model(
    strategy, monkeypatch
):
    x, y = clustered_rows(3000, 24, 20, noise=1.5, seed=3, dtype=np.float16)
    clf = ProbabilisticClassifier(classes=list(range(25))).fit(x[:300], y[:300])
    pool, unlabeled = Pool(x), np.arange(300, 3000)
    calls = []
    real = clf.predict_top_two

    def spy(rows):
        calls.append(len(rows))
        return real(rows)

    monkeypatch.setattr(clf, "predict_top_two", spy)
    fast = strategy.query(clf, pool, np.arange(300), unlabeled, 50, random_state=0)
    assert sum(calls) == unlabeled.size
    expected = strategy.utility(clf.predict_proba(x[unlabeled]))
    np.testing.assert_allclose(fast.scores, np.sort(expected)[::-1][:50], atol=2e-6)


@pytest.mark.parametrize("strategy", [MarginSampling(), LeastConfidence()], ids=repr)
def test_the_utility_of_the_top_two_is_the_utility_of_every_class(strategy):
    """Read from the two sorted columns directly, bit for bit what the measure over every
    class gives (ties and a lone class, whose runner-up is 0, included)."""
    rng = np.random.default_rng(8)
    proba = rng.dirichlet(np.ones(6), size=500)
    proba[:50, 1] = proba[:50, 0]  # exact ties for the largest
    proba /= proba.sum(axis=1, keepdims=True)
    top = np.sort(proba, axis=1)[:, ::-1][:, :2].copy()
    np.testing.assert_array_equal(strategy.utility_of_top_two(top), strategy.utility(proba))
    lone = np.c_[rng.uniform(size=20), np.zeros(20)]
    np.testing.assert_array_equal(strategy.utility_of_top_two(lone), strategy.utility(lone[:, :1]))
