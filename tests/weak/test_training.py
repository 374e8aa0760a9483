"""The end model's training set: human labels win, weak ones weighted by confidence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.weak import LabelMatrix, vote_features, weak_training_set

MATRIX = LabelMatrix.from_dense([[0, 0], [0, 1], [1, -1], [-1, -1]], ["x", "y"])
PROBA = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])


def test_human_labels_override_and_weak_ones_are_weighted_by_confidence():
    rows = weak_training_set(MATRIX, PROBA, {0: "y", 3: "x"}, weak_weight=0.5)
    # Humans: item 0 (y, though the rules say x) and item 3 (covered by no rule).
    assert rows.positions.tolist() == [0, 3, 1, 2]
    assert rows.labels.tolist() == [1, 0, 0, 1]
    np.testing.assert_allclose(rows.weights, [1.0, 1.0, 0.5 * 0.6, 0.5 * 0.8])
    assert rows.human.tolist() == [True, True, False, False] and rows.n_weak_items == 2


def test_soft_targets_give_one_row_per_likely_class():
    rows = weak_training_set(MATRIX, PROBA, {}, weak_weight=1.0, soft=True)
    assert rows.positions.tolist() == [0, 0, 1, 1, 2, 2]
    assert rows.labels.tolist() == [0, 1, 0, 1, 0, 1]
    np.testing.assert_allclose(rows.weights, [0.9, 0.1, 0.6, 0.4, 0.2, 0.8])
    assert rows.n_weak_items == 3


def test_a_confidence_floor_and_a_zero_weight_leave_weak_items_out():
    assert weak_training_set(MATRIX, PROBA, {}, min_confidence=0.7).positions.tolist() == [0, 2]
    assert weak_training_set(MATRIX, PROBA, {1: "x"}, weak_weight=0).positions.tolist() == [1]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"label_proba must have shape \(4, 2\)"):
        weak_training_set(MATRIX, PROBA[:2], {})
    with pytest.raises(ValueError, match="weak_weight must be >= 0"):
        weak_training_set(MATRIX, PROBA, {}, weak_weight=-1)


def test_vote_features_count_each_class_votes_times_the_scale():
    votes = LabelMatrix.from_dense([[0, 0, 1], [-1, -1, -1], [1, -1, 1]], ("x", "y"))
    features = vote_features(votes, scale=0.5)
    assert features.shape == (3, 2)
    np.testing.assert_allclose(features.toarray(), [[1.0, 0.5], [0.0, 0.0], [0.0, 1.0]])


def test_vote_features_let_a_linear_model_learn_which_votes_to_trust():
    # One function votes the truth, the other always "x": the model should follow the first.
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    dense = np.stack([truth, np.zeros_like(truth)], axis=1)
    features = vote_features(LabelMatrix.from_dense(dense, ("x", "y")))
    model = LogisticRegression().fit(features, truth)
    assert (model.predict(features) == truth).mean() == 1.0


def test_vote_features_refuse_a_scale_that_is_not_positive():
    with pytest.raises(ValueError, match="scale"):
        vote_features(MATRIX, scale=0)
