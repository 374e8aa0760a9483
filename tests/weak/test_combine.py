from __future__ import annotations

import numpy as np
import pytest

from labelwise.weak import LabelMatrix
from labelwise.weak.combine import (
    combined_proba,
    self_training_set,
    unseen_class_mass,
    with_unseen_classes,
)

END = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1]])
LABEL = np.array([[0.2, 0.8], [0.9, 0.1], [0.0, 1.0]])


def test_a_product_where_rules_fire_and_the_end_model_elsewhere():
    out = combined_proba(END, LABEL, np.array([True, True, False]))
    # Row 0: 0.6 * 0.2 = 0.12 against 0.4 * 0.8 = 0.32.
    np.testing.assert_allclose(out[0], [0.12 / 0.44, 0.32 / 0.44])
    np.testing.assert_allclose(out[1], [0.9, 0.1])
    np.testing.assert_allclose(out[2], END[2])  # no rule fired
    half = combined_proba(END, LABEL, np.ones(3, bool), label_weight=0.5)
    expected = END[0] * np.sqrt(LABEL[0])
    np.testing.assert_allclose(half[0], expected / expected.sum())
    np.testing.assert_allclose(combined_proba(END, LABEL, np.ones(3, bool), label_weight=0), END)


def test_rows_that_disagree_completely_keep_the_end_model():
    out = combined_proba(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([True]))
    assert out[0].argmax() == 0 and out.sum() == pytest.approx(1.0)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="same rows and classes"):
        combined_proba(END, LABEL[:2], np.ones(3, bool))
    with pytest.raises(ValueError, match="label_weight must be >= 0"):
        combined_proba(END, LABEL, np.ones(3, bool), label_weight=-1)


def _case(rules_right: bool, features_informative: bool):
    """60 gold items of 3 classes; one rule per class, right or shifted by one class."""
    from sklearn.linear_model import LogisticRegression

    from labelwise.weak import LabelMatrix, MajorityVote

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    signal = np.eye(3)[y] * (3.0 if features_informative else 0.0)
    features = signal + rng.normal(size=(60, 3))
    votes = np.full((60, 1), -1)
    votes[:, 0] = y if rules_right else (y + 1) % 3
    matrix = LabelMatrix.from_dense(votes, ["a", "b", "c"])
    gold = {i: "abc"[y[i]] for i in range(60)}
    return LogisticRegression(), features, matrix, MajorityVote(), gold


def test_the_weight_follows_whichever_answers_better_on_held_out_gold():
    from labelwise.weak.combine import choose_label_weight

    good_rules = choose_label_weight(*_case(rules_right=True, features_informative=False))
    # Every weight above 0 is right on all 60; the full weight is the surest.
    assert good_rules.weight == 1.0 and good_rules.judged == 60
    assert good_rules.log_likelihood[1.0] > good_rules.log_likelihood[0.25]
    assert good_rules.accuracy[1.0] == 1.0 and good_rules.accuracy[0.0] < 0.6
    bad_rules = choose_label_weight(*_case(rules_right=False, features_informative=True))
    assert bad_rules.weight == 0.0 and bad_rules.accuracy[0.0] > bad_rules.accuracy[1.0]


def test_too_little_gold_keeps_the_default_weight():
    from labelwise.weak.combine import DEFAULT_LABEL_WEIGHT, choose_label_weight

    learner, features, matrix, model, gold = _case(rules_right=False, features_informative=True)
    few = {i: gold[i] for i in (0, 1, 20, 21, 40, 41)}
    choice = choose_label_weight(learner, features, matrix, model, few)
    assert choice.weight == DEFAULT_LABEL_WEIGHT
    assert choice.accuracy == choice.log_likelihood == {}


def test_the_unseen_class_mass_is_the_share_of_labels_seen_once():
    # a twice, b and c once: two of four labeled items are singletons.
    assert unseen_class_mass(["a", "a", "b", "c"], n_classes=10) == 0.5
    assert unseen_class_mass([], n_classes=10) == 1.0
    assert unseen_class_mass(["a", "a"], n_classes=10) == 0.0
    # Every label a singleton says "surely unseen"; the unseen share of classes caps it.
    assert unseen_class_mass(["a", "b"], n_classes=10) == 0.8
    assert unseen_class_mass(["a", "b", "c"], n_classes=3) == 0.0


def test_unseen_classes_get_their_share_so_a_rule_for_one_is_not_vetoed():
    end = np.array([[0.7, 0.3, 0.0, 0.0]])
    seen = np.array([True, True, False, False])
    opened = with_unseen_classes(end, seen, 0.4)
    np.testing.assert_allclose(opened, [[0.42, 0.18, 0.2, 0.2]])
    rule = np.array([[0.02, 0.02, 0.94, 0.02]])
    covered = np.array([True])
    assert combined_proba(end, rule, covered).argmax() == 0  # the zero vetoes the rule
    assert combined_proba(opened, rule, covered).argmax() == 2
    np.testing.assert_array_equal(with_unseen_classes(end, np.ones(4, bool), 0.4), end)
    np.testing.assert_allclose(with_unseen_classes(end, np.zeros(4, bool), 0.4), 0.25)
    with pytest.raises(ValueError, match="mass"):
        with_unseen_classes(end, seen, 1.5)
    with pytest.raises(ValueError, match="seen has shape"):
        with_unseen_classes(end, seen[:3], 0.4)


def _pool_case(rules_right: bool):
    """600 items of 3 classes, weakly separable; a rule per item, right or shifted by one
    class; 30 gold items."""
    from sklearn.linear_model import LogisticRegression

    from labelwise.weak import LabelMatrix, WeightedVote

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 200)
    features = np.eye(3)[y] * 0.8 + rng.normal(size=(600, 3))
    votes = (y if rules_right else (y + 1) % 3).reshape(-1, 1)
    matrix = LabelMatrix.from_dense(votes, ["a", "b", "c"])
    labeled = rng.choice(600, 30, replace=False)
    gold = {int(i): "abc"[y[i]] for i in labeled}
    return LogisticRegression(), features, matrix, WeightedVote(), gold


def test_the_weak_weight_is_above_zero_only_where_training_on_the_rules_helps():
    from labelwise.weak.combine import choose_weak_weight

    good = choose_weak_weight(*_pool_case(rules_right=True))
    assert good.weight > 0 and good.judged == 30
    assert good.log_likelihood[good.weight] > good.log_likelihood[0.0]
    bad = choose_weak_weight(*_pool_case(rules_right=False))
    assert bad.weight == 0.0 and bad.log_likelihood[0.0] > bad.log_likelihood[1.0]


def test_too_little_gold_trains_on_human_labels_alone():
    from labelwise.weak.combine import choose_weak_weight

    learner, features, matrix, model, gold = _pool_case(rules_right=True)
    few = dict(list(gold.items())[:8])
    choice = choose_weak_weight(learner, features, matrix, model, few)
    assert choice.weight == 0.0 and choice.accuracy == {}


def test_a_class_whose_only_label_is_held_out_keeps_its_unseen_share_without_the_rules():
    """Random folds hold out c's and d's only labels. The model on human labels alone
    gives them the Good-Turing share of unseen classes, as the combined answer does, not
    probability 0 (log 1e-12): noisy rules must not win for teaching c and d alone."""
    from sklearn.linear_model import LogisticRegression

    from labelwise.weak import LabelMatrix, WeightedVote
    from labelwise.weak.combine import choose_weak_weight

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(4), 150)
    features = np.eye(4)[y] * 3.0 + rng.normal(size=(600, 4))
    # Right half the time, a random class otherwise.
    votes = np.where(rng.random(600) < 0.5, y, rng.integers(0, 4, 600)).reshape(-1, 1)
    matrix = LabelMatrix.from_dense(votes, list("abcd"))
    labeled = [
        *rng.choice(150, 14, replace=False),
        *rng.choice(np.arange(150, 300), 14, replace=False),
        320,  # c's only label
        470,  # d's only label
    ]
    gold = {int(i): "abcd"[y[i]] for i in labeled}
    choice = choose_weak_weight(LogisticRegression(), features, matrix, WeightedVote(), gold)
    assert choice.weight == 0.0
    assert choice.log_likelihood[0.0] > choice.log_likelihood[0.25]
    # Two of thirty held-out labels at log(1e-12) would pull the mean below -1.8.
    assert choice.log_likelihood[0.0] > -1.0


def test_self_training_keeps_the_covered_items_the_joint_answer_is_sure_of():
    # Four items over x, y: 0 and 1 covered (a vote for x), 2 covered and labeled y by a
    # person, 3 not covered.
    matrix = LabelMatrix.from_dense([[0], [0], [0], [-1]], ["x", "y"])
    end = np.array([[0.9, 0.1], [0.5, 0.5], [0.9, 0.1], [0.99, 0.01]])
    label = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.5, 0.5]])
    train = self_training_set(matrix, end, label, {2: "y"}, weak_weight=0.5, min_confidence=0.97)
    # Item 0: 0.81 / (0.81 + 0.01) = 0.9878, sure; item 1: 0.9, not; item 3: no vote.
    assert train.positions.tolist() == [2, 0]
    assert train.labels.tolist() == [1, 0]
    np.testing.assert_allclose(train.weights, [1.0, 0.5 * 0.81 / 0.82])
    assert train.human.tolist() == [True, False]
    # At label weight 0 the end model alone must be sure: none of the covered items is.
    alone = self_training_set(matrix, end, label, {2: "y"}, label_weight=0.0)
    assert alone.positions.tolist() == [2]
