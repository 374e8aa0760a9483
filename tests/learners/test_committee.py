"""Committee: bagged members that never crash on tiny labeled sets, reproducibly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression, SGDClassifier

from labelwise.exceptions import NotFittedError
from labelwise.learners.committee import Committee
from labelwise.learners.probabilistic import ProbabilisticClassifier

CENTERS = np.array([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])


def blobs(n_per_class: int = 10, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + rng.normal(scale=1.5, size=(n_per_class, 2)) for c in CENTERS])
    return X, [name for name in "abc" for _ in range(n_per_class)]


def committee(n_members: int = 5, random_state: Any = 0, **kwargs: Any) -> Committee:
    learner = ProbabilisticClassifier(LogisticRegression(), classes=["a", "b", "c"], **kwargs)
    return Committee(learner, n_members=n_members, random_state=random_state)


class Recorder(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Remembers what it was fit on; probabilities are uniform over what it saw."""

    def fit(self, X, y, sample_weight=None):
        self.X_ = np.asarray(X)
        self.y_ = np.asarray(y)
        self.sample_weight_ = sample_weight
        self.classes_ = np.unique(self.y_)
        return self

    def predict_proba(self, X):
        return np.full((len(X), self.classes_.size), 1 / self.classes_.size)


def test_learner_is_required():
    with pytest.raises(ValueError, match="Committee needs a learner.*Got learner=None"):
        Committee().fit(np.zeros((2, 1)), ["a", "b"])


@pytest.mark.parametrize("n_members", [0, -2, 1.5, True])
def test_bad_n_members_is_refused_with_its_value(n_members):
    with pytest.raises(
        ValueError,
        match=rf"The 'n_members' parameter of Committee must be an int in \[1, inf\)\. "
        rf"Got {n_members!r} instead\.",
    ):
        committee(n_members=n_members).fit(*blobs(2))


def test_constructor_stores_parameters_only_and_clones():
    c = Committee(n_members=-1, random_state="not checked yet")  # type: ignore[arg-type]
    assert c.get_params() == {"learner": None, "n_members": -1, "random_state": "not checked yet"}
    fitted = committee().fit(*blobs())
    fresh = clone(fitted)
    assert not hasattr(fresh, "members_")
    assert fresh.get_params()["n_members"] == 5


def test_unfitted_committee_is_refused():
    with pytest.raises(NotFittedError, match="Committee is not fitted"):
        committee().member_proba(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        committee().predict_proba(np.zeros((1, 2)))


def test_shapes_and_consensus():
    X, y = blobs()
    c = committee(n_members=4).fit(X, y)
    assert len(c.members_) == 4
    assert c.classes_.tolist() == ["a", "b", "c"]
    members = c.member_proba(X[:7])
    assert members.shape == (4, 7, 3)
    assert members.dtype == np.float64
    np.testing.assert_allclose(c.predict_proba(X[:7]), members.mean(axis=0))
    np.testing.assert_allclose(c.predict_proba(X).sum(axis=1), 1.0)
    assert c.predict(CENTERS).tolist() == ["a", "b", "c"]
    assert c.multilabel is False


def test_members_differ():
    X, y = blobs()
    members = committee().fit(X, y).member_proba(X)
    assert not np.allclose(members[0], members[1])
    assert np.ptp(members, axis=0).max() > 1e-3


def test_deterministic_under_random_state():
    X, y = blobs()
    first = committee(random_state=3).fit(X, y).member_proba(X)
    again = committee(random_state=3).fit(X, y).member_proba(X)
    other = committee(random_state=4).fit(X, y).member_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    from_generator = committee(random_state=np.random.default_rng(3)).fit(X, y)
    assert from_generator.member_proba(X).shape == first.shape


@pytest.mark.parametrize("seed", range(30))
def test_never_crashes_when_a_class_has_one_example(seed):
    # 5 classes, 6 labels: four singletons. A plain bootstrap would often drop one.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 3))
    y = ["a", "a", "b", "c", "d", "e"]
    c = Committee(
        ProbabilisticClassifier(LogisticRegression(), classes=list("abcdef")),
        n_members=3,
        random_state=seed,
    ).fit(X, y)
    for member in c.members_:
        assert member.columns_.tolist() == [0, 1, 2, 3, 4]  # every member saw all five
    proba = c.predict_proba(rng.normal(size=(4, 3)))
    assert proba.shape == (4, 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 5], 0.0)


@pytest.mark.parametrize("seed", range(30))
def test_plain_sklearn_learner_never_sees_a_single_class(seed):
    # Unwrapped LogisticRegression raises on one class; a 1-in-6 class would be dropped by
    # a plain bootstrap a third of the time.
    X = np.arange(6, dtype=float)[:, None]
    c = Committee(LogisticRegression(), n_members=3, random_state=seed).fit(X, [0, 0, 0, 0, 0, 1])
    assert c.classes_.tolist() == [0, 1]
    assert c.member_proba(X).shape == (3, 6, 2)


def test_stratified_bootstrap_keeps_class_counts_and_draws_within_class():
    X = np.arange(10, dtype=float)[:, None]
    y = np.array(["x"] * 6 + ["y"] * 3 + ["z"])
    weights = X[:, 0] * 10
    c = Committee(Recorder(), n_members=8, random_state=1).fit(X, y, sample_weight=weights)
    for member in c.members_:
        seen = member.X_[:, 0].astype(int)
        assert sorted(member.y_.tolist()) == sorted(y.tolist())
        np.testing.assert_array_equal(member.y_, y[seen])  # rows keep their labels
        np.testing.assert_array_equal(member.sample_weight_, weights[seen])
    drawn = np.stack([m.X_[:, 0] for m in c.members_])
    assert len({tuple(row) for row in drawn.tolist()}) > 1, "bootstraps must differ"
    assert (drawn[:, 9] == 9).all(), "a singleton class keeps its one example"


def test_single_class_y_still_fits():
    X, _ = blobs(3)
    c = committee(n_members=3).fit(X, ["b"] * len(X))
    np.testing.assert_array_equal(c.predict_proba(X[:2]), [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])


def test_member_seeds_are_set_from_random_state():
    X, y = blobs()
    learner = ProbabilisticClassifier(SGDClassifier(loss="log_loss"), classes=["a", "b", "c"])
    c = Committee(learner, n_members=4, random_state=0).fit(X, y)
    seeds = [m.estimator.random_state for m in c.members_]
    assert all(isinstance(s, int) for s in seeds)
    assert len(set(seeds)) == 4
    again = Committee(learner, n_members=4, random_state=0).fit(X, y)
    assert [m.estimator.random_state for m in again.members_] == seeds
    assert learner.estimator.random_state is None, "the template learner is left alone"


def test_multilabel_committee():
    X, _ = blobs(4)
    indicator = np.zeros((len(X), 3), dtype=int)
    indicator[:4, 0] = indicator[4:, 1] = indicator[::3, 2] = 1
    c = committee(n_members=3, multilabel=True).fit(X, indicator)
    assert c.multilabel is True
    assert c.member_proba(X).shape == (3, 12, 3)
    assert c.predict(X).shape == (12, 3)
    assert set(np.unique(c.predict(X)).tolist()) <= {0, 1}
    lists = [["a"] if i < 4 else ["b", "c"] for i in range(len(X))]
    assert committee(n_members=2, multilabel=True).fit(X, lists).member_proba(X).shape == (2, 12, 3)


def test_length_mismatches_are_refused():
    X, y = blobs(2)
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        committee().fit(X, y[:5])
    with pytest.raises(ValueError, match="sample_weight has 2"):
        committee().fit(X, y, sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="zero labeled samples"):
        committee().fit(np.zeros((0, 2)), [])
    with pytest.raises(ValueError, match="y must be 1-d"):
        committee().fit(X, np.zeros((6, 3)))


@pytest.mark.parametrize("fmt", ["csr", "coo"])
def test_sparse_features_reach_the_members(fmt):
    import scipy.sparse as sp

    X, y = blobs()
    Xs = sp.random_array((len(X), 5), density=0.5, rng=0, format=fmt) + sp.csr_array(
        np.hstack([X, np.zeros((len(X), 3))])
    ).asformat(fmt)
    c = committee(n_members=3).fit(Xs, y)
    assert c.member_proba(sp.csr_array(Xs)).shape == (3, len(X), 3)
