"""Label models on known answers: by hand, and on votes drawn from a known model."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.exceptions import NotFittedError
from labelwise.weak import DawidSkene, LabelMatrix, MajorityVote, WeightedVote

# Items × functions a, b, c over classes x = 0, y = 1 (-1 abstains); item 4 has no vote.
MATRIX = LabelMatrix.from_dense(
    [[0, 0, -1], [0, 1, 1], [1, 1, -1], [-1, 0, 0], [-1, -1, -1]], ["x", "y"], ["a", "b", "c"]
)


def test_majority_vote_counts_and_splits_ties():
    model = MajorityVote().fit(MATRIX)
    expected = np.array([[1, 0], [1 / 3, 2 / 3], [0, 1], [1, 0], [0.5, 0.5]])
    np.testing.assert_allclose(model.predict_proba(MATRIX), expected)
    np.testing.assert_array_equal(model.predict(MATRIX), [0, 1, 1, 0, -1])
    tie = LabelMatrix.from_dense([[0, 1]], ["x", "y"])
    assert MajorityVote().fit(tie).predict(tie).tolist() == [-1]
    # With gold, the prior of unvoted items is the gold shares, Laplace-smoothed.
    prior = MajorityVote().fit(MATRIX, gold={0: "x"}).predict_proba(MATRIX)[4]
    np.testing.assert_allclose(prior, [2 / 3, 1 / 3])


def test_weighted_vote_by_hand_with_gold():
    model = WeightedVote(prior_strength=4).fit(MATRIX, gold={1: "y", 2: "y"})
    # Gold votes update the agreement with the others (next test), worth 4 votes: a 1 of 2
    # right -> (1 + 4 * 0.6) / 6; b 2 of 2 -> (2 + 4 * 0.8) / 6; c 1 of 1 -> (1 + 4 * 2/3) / 5.
    accuracies = np.array([3.4 / 6, 5.2 / 6, (1 + 8 / 3) / 5])
    np.testing.assert_allclose(model.accuracies_, accuracies)
    # Two classes: weight log(a / (1 - a)). Prior (0+1, 2+1) / 4.
    odds = accuracies / (1 - accuracies)
    np.testing.assert_allclose(model.weights_, np.log(odds))
    proba = model.predict_proba(MATRIX)
    # Item 0: x gets a's and b's odds times 1/4, y gets 3/4.
    x = odds[0] * odds[1] * 0.25
    assert proba[0, 0] == pytest.approx(x / (x + 0.75))
    # Item 3: b and c vote x.
    x = odds[1] * odds[2] * 0.25
    assert proba[3, 0] == pytest.approx(x / (x + 0.75))
    np.testing.assert_allclose(proba[4], [0.25, 0.75])
    # Much gold outweighs the agreement: the accuracies tend to the gold rates.
    heavy = WeightedVote(prior_strength=1e-9).fit(MATRIX, gold={1: "y", 2: "y"})
    np.testing.assert_allclose(heavy.accuracies_, [0.5, 1 - 1e-3, 1 - 1e-3], atol=1e-6)


def test_weighted_vote_without_gold_uses_agreement_with_the_others():
    model = WeightedVote().fit(MATRIX)
    # a: item 0 the others say x (agrees), item 1 they say y (disagrees), item 2 y (agrees):
    # (2+1)/(3+2). b: items 0 (a=x, agrees), 1 (a=x vs c=y: a tie, not judged), 2 (agrees),
    # 3 (c=x, agrees): (3+1)/(3+2). c: item 1 (a=x, b=y: tie), item 3 (b=x, agrees): 2/3.
    np.testing.assert_allclose(model.accuracies_, [0.6, 0.8, 2 / 3])


def test_dawid_skene_one_em_step_worked_by_hand():
    # Start: majority vote, posteriors x/y: 0 (1, 0), 1 (1/3, 2/3), 2 (0, 1), 3 (1, 0),
    # 4 (1/2, 1/2). M-step without smoothing: class mass x = 1 + 1/3 + 1 + 1/2 = 17/6,
    # y = 2/3 + 1 + 1/2 = 13/6, prior (17/30, 13/30). Confusions over (x, y, abstain):
    #   a | x: votes x on 0 (1) and 1 (1/3), abstains on 3 (1) and 4 (1/2) -> (4/3, 0, 3/2)
    #   a | y: x on 1 (2/3), y on 2 (1), abstains on 4 (1/2) -> (2/3, 1, 1/2)
    # and so on for b and c. E-step: item 1 (a x, b y, c y):
    #   x: 17/30 * (4/3)/(17/6) * b(x->y) * c(x->y);  y: 13/30 * (2/3)/(13/6) * b(y->y) * c(y->y)
    model = DawidSkene(max_iter=1, smoothing=0.0).fit(MATRIX)
    mass = np.array([17 / 6, 13 / 6])
    np.testing.assert_allclose(model.class_prior_, mass / 5)
    np.testing.assert_allclose(model.confusions_[0, 0], np.array([4 / 3, 0, 3 / 2]) / mass[0])
    np.testing.assert_allclose(model.confusions_[0, 1], np.array([2 / 3, 1, 1 / 2]) / mass[1])
    # b | x: x on 0 (1) and 3 (1), y on 1 (1/3), abstains on 4 (1/2); b | y: y on 1 (2/3)
    # and 2 (1), abstains on 4 (1/2). c | x: y on 1 (1/3), x on 3 (1), abstains on 0, 4
    # (3/2); c | y: y on 1 (2/3), abstains on 2 and 4 (3/2).
    np.testing.assert_allclose(model.confusions_[1, 0], np.array([2, 1 / 3, 1 / 2]) / mass[0])
    np.testing.assert_allclose(model.confusions_[1, 1], np.array([0, 5 / 3, 1 / 2]) / mass[1])
    np.testing.assert_allclose(model.confusions_[2, 0], np.array([1, 1 / 3, 3 / 2]) / mass[0])
    np.testing.assert_allclose(model.confusions_[2, 1], np.array([0, 2 / 3, 3 / 2]) / mass[1])
    prior = mass / 5
    a, b, c = model.confusions_
    x = prior[0] * a[0, 0] * b[0, 1] * c[0, 1]
    y = prior[1] * a[1, 0] * b[1, 1] * c[1, 1]
    assert model.predict_proba(MATRIX)[1, 1] == pytest.approx(y / (x + y))
    # Numbers: x = 17/30 * 8/17 * 2/17 * 2/17, y = 13/30 * 4/13 * 10/13 * 4/13.
    assert y / (x + y) == pytest.approx(1 / (1 + (32 / 17**2) / (160 / 13**2)))
    # Item 4 (no vote): all three abstain; the model still has a view, unlike the prior.
    x4 = prior[0] * a[0, 2] * b[0, 2] * c[0, 2]
    y4 = prior[1] * a[1, 2] * b[1, 2] * c[1, 2]
    assert model.predict_proba(MATRIX)[4, 0] == pytest.approx(x4 / (x4 + y4))
    assert model.predict(MATRIX)[4] == -1  # but no function voted: no label


def test_gold_clamps_items_and_recalibrates_a_functions_accuracy():
    # a and b always agree; c contradicts them on the first 6 items. Unsupervised, the
    # pair outvotes c; gold on 4 of those items says c was right.
    votes = [[0, 0, 1]] * 6 + [[1, 1, 1]] * 6 + [[0, 0, 0]] * 6
    matrix = LabelMatrix.from_dense(votes, ["x", "y"], ["a", "b", "c"])
    alone = DawidSkene().fit(matrix)
    with_gold = DawidSkene().fit(matrix, gold={0: "y", 1: "y", 2: "y", 3: "y"})
    assert alone.accuracies_[2] < 0.75 < alone.accuracies_[0]
    assert with_gold.accuracies_[2] > alone.accuracies_[2] + 0.2
    assert with_gold.accuracies_[0] < alone.accuracies_[0] - 0.1
    # The unlabeled contradicted items follow the gold ones.
    assert with_gold.predict(matrix)[4:6].tolist() == [1, 1]
    assert alone.predict(matrix)[4:6].tolist() == [0, 0]


def _draw_votes(seed: int) -> tuple[LabelMatrix, np.ndarray]:
    """Votes from the class-conditional model: one good function, four near chance."""
    rng = np.random.default_rng(seed)
    n, k = 3000, 3
    y = rng.integers(0, k, n)
    votes = np.full((n, 5), -1)
    for j, (accuracy, coverage) in enumerate(
        zip([0.9, 0.55, 0.55, 0.5, 0.5], [0.5, 0.8, 0.8, 0.8, 0.8], strict=True)
    ):
        fires = rng.random(n) < coverage
        right = rng.random(n) < accuracy
        wrong = (y + rng.integers(1, k, n)) % k
        votes[:, j] = np.where(fires, np.where(right, y, wrong), -1)
    return LabelMatrix.from_dense(votes, ["a", "b", "c"]), y


@pytest.mark.parametrize("seed", [0, 1])
def test_models_that_weigh_functions_beat_the_plain_vote(seed):
    matrix, y = _draw_votes(seed)
    covered = (matrix.dense() >= 0).any(axis=1)

    def accuracy(model):
        return (model.predict_proba(matrix).argmax(axis=1) == y)[covered].mean()

    majority = accuracy(MajorityVote().fit(matrix))
    dawid_skene = DawidSkene().fit(matrix)
    assert accuracy(dawid_skene) > majority + 0.04
    assert abs(dawid_skene.accuracies_[0] - 0.9) < 0.08  # recovers the good one
    gold = {int(i): "abc"[y[i]] for i in np.random.default_rng(seed).choice(y.size, 100)}
    assert accuracy(WeightedVote().fit(matrix, gold=gold)) > majority + 0.03


def test_models_refuse_what_they_were_not_fitted_on():
    with pytest.raises(NotFittedError, match="DawidSkene is not fitted yet"):
        DawidSkene().predict_proba(MATRIX)
    other = LabelMatrix.from_dense([[0]], ["x", "z"])
    with pytest.raises(ValueError, match="fitted on classes"):
        MajorityVote().fit(MATRIX).predict(other)
    fewer = LabelMatrix.from_dense([[0, 1]], ["x", "y"])
    with pytest.raises(ValueError, match="fitted on 3 functions"):
        DawidSkene().fit(MATRIX).predict_proba(fewer)
    with pytest.raises(ValueError, match="smoothing >= 0"):
        DawidSkene(smoothing=-1).fit(MATRIX)
    with pytest.raises(ValueError, match="prior_strength > 0"):
        WeightedVote(prior_strength=0).fit(MATRIX)
