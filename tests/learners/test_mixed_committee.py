"""MixedCommittee: different learners, each on its own columns, behind the committee strategies."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import KNeighborsClassifier

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError
from labelwise.learners import MixedCommittee, NearestNeighborsClassifier, ProbabilisticClassifier
from labelwise.strategies import KLMaxDisagreement, MarginSampling

CLASSES = ["a", "b", "c"]


def data(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three classes; columns 0-1 separate them, columns 2-4 are non-negative counts."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    dense = np.concatenate([c + rng.normal(scale=1.0, size=(10, 2)) for c in centers])
    counts = np.concatenate(
        [rng.poisson(lam, size=(10, 3)) for lam in ([5, 1, 1], [1, 5, 1], [1, 1, 5])]
    )
    return np.hstack([dense, counts]).astype(float), [c for c in CLASSES for _ in range(10)]


def mixed() -> MixedCommittee:
    return MixedCommittee(
        [
            (ProbabilisticClassifier(LogisticRegression(), classes=CLASSES), slice(0, 2)),
            (ProbabilisticClassifier(MultinomialNB(), classes=CLASSES), slice(2, 5)),
            (ProbabilisticClassifier(KNeighborsClassifier(3), classes=CLASSES), None),
        ]
    )


def test_each_member_reads_only_its_columns():
    X, y = data()
    committee = mixed().fit(X, y)
    assert committee.members_[0].estimators_[0].n_features_in_ == 2
    assert committee.members_[1].estimators_[0].n_features_in_ == 3
    assert committee.members_[2].estimators_[0].n_features_in_ == 5
    # The naive Bayes member alone, fit on the count columns, gives the same probabilities.
    alone = ProbabilisticClassifier(MultinomialNB(), classes=CLASSES).fit(X[:, 2:5], y)
    np.testing.assert_allclose(committee.member_proba(X)[1], alone.predict_proba(X[:, 2:5]))


def test_shapes_and_the_consensus():
    X, y = data()
    committee = mixed().fit(X, y)
    members = committee.member_proba(X)
    assert members.shape == (3, 30, 3)
    np.testing.assert_allclose(committee.predict_proba(X), members.mean(axis=0))
    assert list(committee.classes_) == CLASSES
    assert (committee.predict(X) == np.asarray(y, dtype=object)).mean() > 0.9


def test_sparse_features_reach_the_members():
    X, y = data()
    committee = mixed().fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        committee.member_proba(sp.csr_matrix(X)), mixed().fit(X, y).member_proba(X)
    )


def test_committee_and_consensus_strategies_rank_with_it():
    X, y = data()
    labeled = np.array([0, 1, 10, 11, 20, 21])
    unlabeled = np.setdiff1d(np.arange(30), labeled)
    committee = mixed().fit(X[labeled], [y[i] for i in labeled])
    for strategy in (KLMaxDisagreement(), MarginSampling()):
        query = strategy.query(committee, Pool(X), labeled, unlabeled, 4, random_state=0)
        assert len(query.indices) == 4 and set(query.indices) <= set(unlabeled)


def test_members_that_disagree_on_classes_are_refused():
    X, y = data()
    committee = MixedCommittee(
        [
            (ProbabilisticClassifier(LogisticRegression(), classes=CLASSES), None),
            (ProbabilisticClassifier(LogisticRegression(), classes=[*CLASSES, "d"]), None),
        ]
    )
    with pytest.raises(ValueError, match="member 1 has classes"):
        committee.fit(X, y)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([], "at least two members"),
        ([(ProbabilisticClassifier(classes=CLASSES), None)], "at least two members"),
        (
            [(ProbabilisticClassifier(classes=CLASSES), None), ProbabilisticClassifier()],
            "member 1 must be a \\(learner, columns\\) pair",
        ),
        (
            [(ProbabilisticClassifier(classes=CLASSES), None), (object(), None)],
            "member 1 \\(object\\) has no predict_proba",
        ),
        (
            [(ProbabilisticClassifier(classes=CLASSES), [0, 1]), (ProbabilisticClassifier(), None)],
            "member 0's columns must be a slice",
        ),
    ],
)
def test_bad_members_are_named(members, message):
    X, y = data()
    with pytest.raises(ValueError, match=message):
        MixedCommittee(members).fit(X, y)


def test_unfitted_committee_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        mixed().predict_proba(np.zeros((1, 5)))


def test_nearest_neighbours_vote_among_all_labels_while_there_are_fewer_than_k():
    X, y = data()
    few = NearestNeighborsClassifier(5, metric="euclidean").fit(X[[0, 10, 20]], ["a", "b", "c"])
    assert few.model_.n_neighbors == 3
    np.testing.assert_allclose(few.predict_proba(X[:2]), np.full((2, 3), 1 / 3))
    many = NearestNeighborsClassifier(5, metric="euclidean").fit(X, y)
    assert many.model_.n_neighbors == 5 and (many.predict(X) == np.asarray(y)).mean() > 0.9
    with pytest.raises(NotFittedError, match="not fitted"):
        NearestNeighborsClassifier().predict(X)
    with pytest.raises(ValueError, match="n_neighbors"):
        NearestNeighborsClassifier(0).fit(X, y)


def test_weights_reach_every_member_and_neighbours_drop_zero_weight_rows():
    X, y = data()
    weights = np.ones(30)
    weights[10:20] = 0.0  # every "b" left out
    few = NearestNeighborsClassifier(3, metric="euclidean").fit(X, y, sample_weight=weights)
    assert list(few.classes_) == ["a", "c"] and few.model_.n_samples_fit_ == 20
    committee = MixedCommittee(
        [
            (ProbabilisticClassifier(LogisticRegression(), classes=CLASSES), slice(0, 2)),
            (ProbabilisticClassifier(NearestNeighborsClassifier(3), classes=CLASSES), None),
        ]
    ).fit(X, y, sample_weight=np.full(30, 0.5))
    assert committee.member_proba(X).shape == (2, 30, 3)
