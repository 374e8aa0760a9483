"""Suspected label errors: out-of-fold probabilities and cleanlab's ranking."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.evaluation.label_issues import (
    find_label_issues,
    find_multilabel_issues,
    out_of_fold_proba,
    stratified_folds,
)
from labelwise.learners import ProbabilisticClassifier


def _blobs(n_per_class=40, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (n_classes, 5))
    X = np.concatenate([rng.normal(c, 1.0, (n_per_class, 5)) for c in centres])
    y = np.repeat(np.array([f"c{k}" for k in range(n_classes)], dtype=object), n_per_class)
    return X, y


def test_planted_flips_are_ranked_first_with_the_true_class_suggested():
    X, y = _blobs()
    noisy = y.copy()
    planted = np.array([3, 50, 97, 140])
    noisy[planted] = ["c1", "c2", "c3", "c0"]
    learner = ProbabilisticClassifier(
        LogisticRegression(C=10, max_iter=1000), classes=sorted(set(y))
    )
    issues = find_label_issues(learner, X, noisy, random_state=0)
    assert set(issues.issues.tolist()) == set(planted.tolist())
    assert set(issues.ranking[:4].tolist()) == set(planted.tolist())
    suggested = dict(zip(issues.ranking.tolist(), issues.suggested.tolist(), strict=True))
    assert [suggested[p] for p in planted] == y[planted].tolist()
    # Scores are 1 - self-confidence: high for the flips, sorted within the issues.
    assert np.all(issues.scores[:4] > 0.5)
    assert np.all(np.diff(issues.scores[: issues.n_issues]) <= 1e-12)
    suspicion = issues.suspicion(len(y))
    assert set(np.argsort(-suspicion)[:4].tolist()) == set(planted.tolist())


def test_the_ranking_is_deterministic_under_a_seed():
    X, y = _blobs(seed=1)
    y = y.copy()
    y[[5, 60]] = ["c3", "c0"]
    runs = [find_label_issues(LogisticRegression(), X, y, random_state=4) for _ in range(2)]
    assert np.array_equal(runs[0].ranking, runs[1].ranking)
    assert np.allclose(runs[0].pred_probs, runs[1].pred_probs)


def test_a_single_label_class_is_never_judged_and_does_not_crash():
    X, y = _blobs(n_per_class=10, n_classes=3)
    X = np.vstack([X, [[20.0] * 5]])
    y = np.append(y, "lonely")
    issues = find_label_issues(LogisticRegression(), X, y, random_state=0)
    assert len(y) - 1 not in issues.ranking.tolist()
    assert "lonely" not in issues.classes.tolist()
    assert issues.ranking.size == len(y) - 1
    assert np.allclose(issues.pred_probs[:-1].sum(axis=1), 1.0)


def test_small_classes_get_folds_so_each_label_is_held_out_and_others_train():
    y = np.array(["a", "a", "b", "b", "b", "c"] + ["d"] * 12, dtype=object)
    folds = stratified_folds(y, 5, random_state=0)
    assert folds[5] == -1  # the single "c" is never held out
    for cls in ("a", "b", "d"):
        members = folds[y == cls]
        assert len(set(members.tolist())) == min(5, members.size)
    with pytest.raises(ValueError, match="n_folds"):
        stratified_folds(y, 1)


def test_fewer_than_two_judged_classes_give_no_issues():
    X, _ = _blobs(n_per_class=5, n_classes=2)
    y = np.array(["a"] * 9 + ["b"], dtype=object)
    issues = find_label_issues(LogisticRegression(), X, y, random_state=0)
    assert issues.ranking.size == 0 and issues.n_issues == 0
    with pytest.raises(ValueError, match="must match"):
        out_of_fold_proba(LogisticRegression(), X[:3], y)


def _multilabel_data(n=300, n_flips=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    classes = ["a", "b", "c"]
    truth = [[c for j, c in enumerate(classes) if X[i, j] > 0] for i in range(n)]
    given = [list(t) for t in truth]
    flipped = rng.choice(n, n_flips, replace=False)
    for i in flipped:
        given[i] = [c for c in classes if c not in truth[i]]  # every class wrong
    return X, classes, truth, given, flipped


def test_multilabel_issues_find_the_flipped_sets_and_suggest_the_true_ones():
    X, classes, truth, given, flipped = _multilabel_data()
    learner = ProbabilisticClassifier(classes=classes, multilabel=True)
    issues = find_multilabel_issues(learner, X, given, random_state=0)
    assert set(flipped.tolist()) <= set(issues.issues.tolist())
    assert issues.n_issues <= 2 * len(flipped)
    assert sorted(issues.ranking.tolist()) == list(range(len(given)))
    assert np.all(np.diff(issues.scores[issues.n_issues :]) <= 1e-12)
    top = int(issues.ranking[0])
    assert issues.suggested[0] == truth[top] != given[top]
    again = find_multilabel_issues(learner, X, given, random_state=0)
    assert again.ranking.tolist() == issues.ranking.tolist()


def test_multilabel_issues_judge_nothing_without_two_repeated_classes():
    learner = ProbabilisticClassifier(classes=["a", "b"], multilabel=True)
    X = np.zeros((6, 2))
    issues = find_multilabel_issues(learner, X, [["a"]] * 5 + [["b"]])
    assert issues.n_issues == 0 and issues.ranking.size == 0
    with pytest.raises(ValueError, match="X has 6 rows and labels has 5"):
        find_multilabel_issues(learner, X, [["a"]] * 5)
