"""Known answers and contract properties for expected gradient length and error reduction."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError, QueryError
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies.expected_change import (
    ExpectedErrorReduction,
    ExpectedGradientLength,
    expected_gradient_length,
)
from tests.strategies.fakes import FixedProbaLearner, index_pool, score_all

NONE = np.zeros(0, dtype=int)


class FirstFeatureLookup:
    """``predict_proba`` returns the row of ``proba`` keyed by the item's first feature."""

    def __init__(self, keys, proba, multilabel=False):
        self.keys = list(keys)
        self.proba = np.asarray(proba, dtype=float)
        self.multilabel = multilabel

    def fit(self, X, y):  # noqa: ARG002 - contract only
        return self

    def predict_proba(self, X):
        first = X[:, 0].toarray().ravel() if sp.issparse(X) else np.asarray(X)[:, 0]
        return self.proba[[self.keys.index(v) for v in first]]


class SoftmaxLearner:
    """Multinomial logistic regression with fixed weights ``W`` (n_classes, n_features + 1)."""

    def __init__(self, W):
        self.W = np.asarray(W, dtype=float)

    def fit(self, X, y):  # noqa: ARG002 - contract only
        return self

    def predict_proba(self, X):
        logits = X @ self.W[:, :-1].T + self.W[:, -1]
        logits = np.asarray(logits) - np.max(logits, axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def reference_egl(p, x):
    """Per-row reference: build each label's gradient matrix and take its Frobenius norm."""
    x1 = np.append(np.asarray(x, dtype=float), 1.0)
    total = 0.0
    for y, p_y in enumerate(p):
        e_y = np.zeros(len(p))
        e_y[y] = 1.0
        total += p_y * np.linalg.norm(np.outer(np.asarray(p) - e_y, x1))
    return total


def egl_scores(features, keys, proba):
    learner = FirstFeatureLookup(keys, proba)
    n = features.shape[0]
    return score_all(ExpectedGradientLength(), learner, Pool(features), NONE, np.arange(n))


# -- expected gradient length ------------------------------------------------------------


def test_egl_known_answers():
    X = np.array([[3.0, 4.0], [1.0, 2.0], [2.0, 2.0], [5.0, 0.0]])
    proba = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    scores = egl_scores(X, X[:, 0], proba)
    # Row 0: ||p - e_y||^2 = 0.5 for both labels, ||x||^2 + 1 = 26: sqrt(0.5 * 26) = sqrt(13).
    assert scores[0] == pytest.approx(np.sqrt(13.0), rel=1e-12)
    # A one-hot prediction has zero gradient whatever the features.
    assert scores[1] == 0.0
    assert scores[3] == 0.0
    # Row 2 by hand: sum p^2 = 0.38, ||x||^2 + 1 = 9.
    by_hand = (
        0.2 * np.sqrt(0.38 - 0.4 + 1) + 0.3 * np.sqrt(0.38 - 0.6 + 1) + 0.5 * np.sqrt(0.38 - 1 + 1)
    ) * 3.0
    assert scores[2] == pytest.approx(by_hand, rel=1e-12)
    for i in range(4):
        assert scores[i] == pytest.approx(reference_egl(proba[i], X[i]), rel=1e-12, abs=1e-15)


def test_egl_matches_the_finite_difference_gradient_of_a_softmax_model():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))  # 3 classes, 3 features + bias
    x = rng.normal(size=3)
    learner = SoftmaxLearner(W)
    p = learner.predict_proba(x[None])[0]

    def log_loss(weights, y):
        return -np.log(SoftmaxLearner(weights).predict_proba(x[None])[0, y])

    expected = 0.0
    step = 1e-6
    for y in range(3):
        grad = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            bump = np.zeros_like(W)
            bump[idx] = step
            grad[idx] = (log_loss(W + bump, y) - log_loss(W - bump, y)) / (2 * step)
        expected += p[y] * np.linalg.norm(grad)
    score = score_all(ExpectedGradientLength(), learner, Pool(x[None]), NONE, [0])
    assert score[0] == pytest.approx(expected, rel=1e-6)


def test_egl_sparse_and_dense_rows_agree():
    rng = np.random.default_rng(1)
    sparse = sp.random(60, 8, density=0.3, format="csr", random_state=1)
    learner = SoftmaxLearner(rng.normal(size=(4, 9)))
    strategy = ExpectedGradientLength(chunk_size=7)
    idx = np.arange(60)
    from_sparse = score_all(strategy, learner, Pool(sparse), NONE, idx)
    from_dense = score_all(strategy, learner, Pool(sparse.toarray()), NONE, idx)
    np.testing.assert_allclose(from_sparse, from_dense, rtol=1e-12)
    q_sparse = strategy.query(learner, Pool(sparse), NONE, idx, 10, random_state=0)
    q_dense = strategy.query(learner, Pool(sparse.toarray()), NONE, idx, 10, random_state=0)
    assert q_sparse.indices.tolist() == q_dense.indices.tolist()


def test_egl_ranks_an_uncertain_far_item_above_a_confident_one():
    X = np.array([[0.1, 0.0], [10.0, 0.0], [0.2, 0.0]])
    proba = np.array([[0.99, 0.01], [0.5, 0.5], [0.5, 0.5]])
    learner = FirstFeatureLookup(X[:, 0], proba)
    q = ExpectedGradientLength().query(learner, Pool(X), NONE, np.arange(3), 3, random_state=0)
    # The far uncertain item beats the near uncertain one, which beats the confident one.
    assert q.indices.tolist() == [1, 2, 0]
    np.testing.assert_allclose(q.scores[0], np.sqrt(0.5 * 101.0))


def test_egl_zero_probability_schema_columns_change_nothing():
    p = np.array([[0.3, 0.7]])
    widened = np.array([[0.3, 0.0, 0.7, 0.0]])
    norms = np.array([4.0])
    np.testing.assert_allclose(
        expected_gradient_length(widened, norms), expected_gradient_length(p, norms)
    )


def test_egl_multilabel_averages_binary_problems():
    X = np.array([[1.0, 0.0]])
    learner = FirstFeatureLookup([1.0], [[0.5, 1.0]], multilabel=True)
    score = score_all(ExpectedGradientLength(), learner, Pool(X), NONE, [0])
    # Class 0 as [0.5, 0.5]: sqrt(0.5) * sqrt(2); class 1 as [1, 0]: 0.
    assert score[0] == pytest.approx(0.5)


def test_egl_refuses_an_unfitted_learner():
    with pytest.raises(NotFittedError, match="needs a fitted learner"):
        ExpectedGradientLength().query(None, index_pool(3), NONE, np.arange(3), 1)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    labels = np.array(["x", "y", "z"])[y]
    labeled = np.concatenate([np.flatnonzero(y == c)[:3] for c in range(3)])
    unlabeled = np.setdiff1d(np.arange(90), labeled)
    learner = ProbabilisticClassifier(LogisticRegression(), classes=["x", "y", "z", "w"])
    learner.fit(X[labeled], labels[labeled])
    return Pool(X), learner, labeled, unlabeled, labels


@pytest.mark.parametrize("n", [1, 5, 81, 200])
def test_egl_contract_on_blobs(blobs, n):
    pool, learner, labeled, unlabeled, _ = blobs
    strategy = ExpectedGradientLength(chunk_size=7)
    q = strategy.query(learner, pool, labeled, unlabeled, n, random_state=3)
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert not np.isin(q.indices, labeled).any()
    assert (np.diff(q.scores) <= 1e-12).all()
    again = strategy.query(learner, pool, labeled, unlabeled, n, random_state=3)
    assert q.indices.tolist() == again.indices.tolist()
    whole = ExpectedGradientLength().query(learner, pool, labeled, unlabeled, n, random_state=3)
    assert q.indices.tolist() == whole.indices.tolist()
    np.testing.assert_allclose(q.scores, whole.scores)


def test_egl_on_blobs_matches_the_reference(blobs):
    pool, learner, labeled, unlabeled, _ = blobs
    q = ExpectedGradientLength().query(learner, pool, labeled, unlabeled, 5, random_state=0)
    proba = learner.predict_proba(pool.rows(q.indices))
    reference = [reference_egl(p, x) for p, x in zip(proba, pool.rows(q.indices), strict=True)]
    np.testing.assert_allclose(q.scores, reference, rtol=1e-10)


# -- expected error reduction ------------------------------------------------------------


class LabelFrequencies(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts the training label frequencies for every row: EER has a closed form."""

    def __init__(self, classes=()):
        self.classes = classes

    def fit(self, X, y):  # noqa: ARG002 - the features do not matter
        self.classes_ = np.asarray(list(self.classes), dtype=object)
        codes = [list(self.classes_).index(v) for v in y]
        self.freq_ = np.bincount(codes, minlength=self.classes_.size) / len(codes)
        return self

    def predict_proba(self, X):
        return np.tile(self.freq_, (X.shape[0], 1))


def frequency_query(labels, max_labels, loss="zero_one", n=3, seed=0):
    learner = LabelFrequencies(classes=["a", "b", "c"]).fit(None, labels)
    n_labeled = len(labels)
    pool = index_pool(n_labeled + 4)
    strategy = ExpectedErrorReduction(n_candidates=4, n_eval=4, max_labels=max_labels, loss=loss)
    return strategy.query(
        learner,
        pool,
        np.arange(n_labeled),
        np.arange(n_labeled, n_labeled + 4),
        n,
        random_state=seed,
        labels=labels,
    )


def test_eer_known_answer_zero_one():
    labels = ["a", "a", "b", "b", "c"]  # p = [0.4, 0.4, 0.2]: current loss 0.6
    # Two labels tried, weights 0.5 / 0.5; adding either gives max p = 3/6: loss 0.5.
    np.testing.assert_allclose(frequency_query(labels, max_labels=2).scores, 0.1)
    # All three: adding c (weight 0.2) gives a uniform model, loss 2/3.
    expected = 0.6 - (0.4 * 0.5 + 0.4 * 0.5 + 0.2 * (2 / 3))
    np.testing.assert_allclose(frequency_query(labels, max_labels=3).scores, expected)


def test_eer_known_answer_log_loss():
    def h(p):
        p = np.asarray(p, dtype=float)
        return -(p * np.log(p)).sum()

    labels = ["a", "a", "b", "b"]  # p = [0.5, 0.5, 0]: entropy ln 2; c has weight 0
    expected = h([0.5, 0.5]) - h([0.6, 0.4])
    q = frequency_query(labels, max_labels=5, loss="log")
    np.testing.assert_allclose(q.scores, expected, rtol=1e-12)


def test_eer_ties_are_broken_by_seed_reproducibly():
    labels = ["a", "a", "b", "b"]
    first = frequency_query(labels, max_labels=2, n=4, seed=1)
    assert first.indices.tolist() == frequency_query(labels, 2, n=4, seed=1).indices.tolist()
    orders = {tuple(frequency_query(labels, 2, n=4, seed=s).indices) for s in range(6)}
    assert len(orders) > 1


def line_problem(unlabeled_x):
    X = np.concatenate([[-3.0, -2.0, 2.0, 3.0], unlabeled_x])[:, None]
    labels = ["a", "a", "b", "b"]
    learner = ProbabilisticClassifier(LogisticRegression(), classes=["a", "b"])
    learner.fit(X[:4], labels)
    return learner, Pool(X), np.arange(4), np.arange(4, X.shape[0]), labels


@pytest.mark.parametrize("loss", ["zero_one", "log"])
def test_eer_prefers_the_ambiguous_middle(loss):
    learner, pool, labeled, unlabeled, labels = line_problem([-6.0, 0.0, 6.0])
    strategy = ExpectedErrorReduction(n_candidates=3, n_eval=3, loss=loss)
    q = strategy.query(learner, pool, labeled, unlabeled, 3, random_state=0, labels=labels)
    assert q.indices[0] == 5  # x = 0
    assert q.scores[0] > q.scores[1] + 0.01
    assert sorted(q.indices.tolist()) == [4, 5, 6]


def test_eer_n_is_capped_by_n_candidates():
    rng = np.random.default_rng(0)
    learner, pool, labeled, unlabeled, labels = line_problem(rng.uniform(-4, 4, size=20))
    strategy = ExpectedErrorReduction(n_candidates=3, n_eval=5)
    q = strategy.query(learner, pool, labeled, unlabeled, 10, random_state=0, labels=labels)
    assert len(q) == 3
    assert np.unique(q.indices).size == 3
    assert np.isin(q.indices, unlabeled).all()
    assert (np.diff(q.scores) <= 1e-12).all()


def test_eer_is_deterministic_under_a_seed():
    rng = np.random.default_rng(0)
    learner, pool, labeled, unlabeled, labels = line_problem(rng.uniform(-4, 4, size=20))
    strategy = ExpectedErrorReduction(n_candidates=4, n_eval=5)
    runs = [
        strategy.query(learner, pool, labeled, unlabeled, 2, random_state=s, labels=labels)
        for s in (7, 7, 8)
    ]
    assert runs[0].indices.tolist() == runs[1].indices.tolist()
    np.testing.assert_array_equal(runs[0].scores, runs[1].scores)
    # The constructor's seed is used when the query gives none.
    seeded = ExpectedErrorReduction(n_candidates=4, n_eval=5, random_state=7)
    q = seeded.query(learner, pool, labeled, unlabeled, 2, labels=labels)
    assert q.indices.tolist() == runs[0].indices.tolist()


def test_eer_refuses_missing_or_misaligned_labels():
    learner, pool, labeled, unlabeled, labels = line_problem([0.0])
    strategy = ExpectedErrorReduction()
    with pytest.raises(
        ValueError, match=r"needs the labels of the labeled positions: pass labels="
    ):
        strategy.query(learner, pool, labeled, unlabeled, 1)
    with pytest.raises(QueryError, match="got 3 labels for 4 positions"):
        strategy.query(learner, pool, labeled, unlabeled, 1, labels=labels[:3])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_candidates": 0}, r"'n_candidates' parameter of ExpectedErrorReduction .* Got 0"),
        ({"n_eval": 1.5}, r"'n_eval' parameter .* Got 1.5"),
        ({"max_labels": -1}, r"'max_labels' parameter .* Got -1"),
        ({"loss": "hinge"}, r"'loss' parameter .* 'zero_one', 'log'. Got 'hinge' instead"),
    ],
)
def test_eer_bad_parameters_are_refused_with_their_value(params, message):
    learner, pool, labeled, unlabeled, labels = line_problem([0.0])
    with pytest.raises(ValueError, match=message):
        ExpectedErrorReduction(**params).query(learner, pool, labeled, unlabeled, 1, labels=labels)


def test_eer_refuses_unfitted_and_multilabel_learners():
    strategy = ExpectedErrorReduction()
    pool = index_pool(3)
    with pytest.raises(NotFittedError, match="needs a fitted learner"):
        strategy.query(None, pool, [0], [1, 2], 1, labels=["a"])
    with pytest.raises(NotFittedError, match="classes_"):
        strategy.query(FixedProbaLearner(np.eye(3)), pool, [0], [1, 2], 1, labels=["a"])
    multi = LabelFrequencies(classes=["a"]).fit(None, ["a"])
    multi.multilabel = True
    with pytest.raises(QueryError, match="single-label learners only"):
        strategy.query(multi, pool, [0], [1, 2], 1, labels=["a"])


def test_eer_works_on_sparse_features():
    X = sp.csr_matrix(np.array([[-3.0], [-2.0], [2.0], [3.0], [-6.0], [0.0], [6.0]]))
    labels = ["a", "a", "b", "b"]
    learner = ProbabilisticClassifier(LogisticRegression(), classes=["a", "b"])
    learner.fit(X[:4], labels)
    q = ExpectedErrorReduction(n_candidates=3, n_eval=3).query(
        learner, Pool(X), np.arange(4), np.arange(4, 7), 1, random_state=0, labels=labels
    )
    assert q.indices.tolist() == [5]
