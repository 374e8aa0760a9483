"""The labels-saved estimate: known answers from a learner whose score follows a known
curve, what it says when the random labels are too few, and when the evaluation set is not
like the pool."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from labelwise.evaluation import (
    MIN_AUDIT_LABELS,
    PowerLawCurve,
    RandomLabelsEstimate,
    estimate_random_labels,
)
from labelwise.evaluation.labels_saved import MAX_EVAL_SHIFT, MAX_EXTRAPOLATION

CURVE = PowerLawCurve(asymptote=0.95, scale=1.5, exponent=0.5)


class CurveLearner(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Right on a share ``curve(n)`` of the items it predicts, after training on ``n``.

    Column 0 of the features is the item's position in a fixed order; items early in it are
    the ones predicted right, so the score on any large random set is close to the curve.
    A bonus column (column 1 = 1) marks "evaluation-like" training items: each counts
    ``bonus`` times, so training on them learns faster than on audit items.
    """

    def __init__(self, curve: PowerLawCurve = CURVE, bonus: float = 1.0) -> None:
        self.curve = curve
        self.bonus = bonus

    def fit(self, X: Any, y: Any) -> CurveLearner:
        X = np.asarray(X)
        self.classes_ = np.unique(np.asarray(y, dtype=object))
        self.n_ = float(np.sum(np.where(X[:, 1] > 0, self.bonus, 1.0)))
        return self

    def predict(self, X: Any) -> Any:
        X = np.asarray(X)
        right = float(self.curve.score_at(self.n_))
        truth = X[:, 2].astype(int).astype(str)
        # The item's rank (column 0, uniform in [0, 1)) decides whether it is right.
        wrong = X[:, 0] >= right
        return np.where(wrong, "wrong", truth).astype(object)


def items(n: int, seed: int, *, eval_like: bool = False, classes: int = 4) -> tuple[Any, list[str]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    X = np.column_stack([rng.random(n), np.full(n, 1.0 if eval_like else 0.0), y])
    return X, [str(v) for v in y]


AUDIT = items(400, 1)
EVAL = items(4000, 2, eval_like=True)


def estimate(
    target: float, *, audit: tuple[Any, list[str]] = AUDIT, **kwargs: Any
) -> RandomLabelsEstimate:
    options: dict[str, Any] = {"eval_features": EVAL[0], "eval_labels": EVAL[1], "random_state": 0}
    options.update(kwargs)
    return estimate_random_labels(
        options.pop("learner", CurveLearner()),
        audit[0],
        audit[1],
        model_score=target,
        model_labels=500,
        **options,
    )


def covers(result: RandomLabelsEstimate, n: float) -> bool:
    assert result.low is not None and result.high is not None
    return result.low <= n <= result.high


def test_the_labels_of_a_known_curve_are_inside_the_interval_and_near_the_point():
    target = float(CURVE.score_at(2000))
    result = estimate(target, train_on_eval=False)
    assert result.estimated
    assert covers(result, 2000)
    assert result.random_labels == pytest.approx(2000, rel=0.25)
    assert result.saving == pytest.approx((result.random_labels or 0) / 500)
    assert result.scored_on == "evaluation set"
    assert result.random_sample == 400
    assert result.curve[-1][0] == result.largest_subset


def test_the_evaluation_set_trains_the_curve_when_it_is_like_the_pool():
    # Evaluation items learned like audit items (bonus 1): the check passes, and the
    # curve reaches far further, so the answer is nearer the truth.
    target = float(CURVE.score_at(3000))
    result = estimate(target, train_on_eval=True)
    assert result.eval_shift is not None and result.eval_shift <= MAX_EVAL_SHIFT
    assert result.random_sample > 400
    assert result.largest_subset > 400
    assert covers(result, 3000)
    assert result.random_labels == pytest.approx(3000, rel=0.2)


def test_by_default_only_audit_labels_train_the_curve():
    # Where the evaluation set came from is the project's to say; unchecked, it is unsafe.
    result = estimate(float(CURVE.score_at(2000)))
    assert result.random_sample == 400 and result.eval_shift is None


def test_an_evaluation_set_unlike_the_pool_does_not_train_the_curve():
    # Each evaluation item teaches as much as four audit items: a curve trained on them
    # would promise random labels far cheaper than random pool labels are.
    result = estimate(
        float(CURVE.score_at(2000)), learner=CurveLearner(bonus=4.0), train_on_eval=True
    )
    assert result.eval_shift is not None and result.eval_shift > MAX_EVAL_SHIFT
    assert result.random_sample == 400
    assert covers(result, 2000)


def test_without_an_evaluation_set_the_audit_sample_is_cross_validated():
    result = estimate(float(CURVE.score_at(1500)), eval_features=None, eval_labels=None)
    assert result.scored_on == "audit sample"
    assert result.estimated
    assert result.largest_subset <= 400 * 4 // 5 + 1
    assert covers(result, 1500)


def test_too_few_audit_labels_say_how_many_more_are_needed():
    few = (AUDIT[0][:25], AUDIT[1][:25])
    result = estimate(0.8, audit=few, train_on_eval=False)
    assert not result.estimated
    assert result.audit_labels_needed == MIN_AUDIT_LABELS - 25
    assert "25 random audit labels so far" in (result.reason or "")
    assert result.random_labels is None


def test_no_score_to_compare_is_said_so():
    result = estimate(math.nan, train_on_eval=False)
    assert not result.estimated and "no held-out score" in (result.reason or "")
    assert result.to_dict()["model_score"] is None


def test_classes_raise_the_labels_needed():
    result = estimate(0.8, train_on_eval=False, n_classes=300)
    assert not result.estimated
    assert result.audit_labels_needed == 600 - 400
    assert "300 classes" in (result.reason or "")


def test_an_answer_far_past_the_random_labels_is_withheld_with_what_would_reach_it():
    # Labels needed: ~1.2 million, far more than 10x the 400 audit labels.
    target = float(CURVE.score_at(1.2e6))
    result = estimate(target, train_on_eval=False, pool_size=50_000)
    assert not result.estimated
    assert "too few to carry" in (result.reason or "")
    # It names the audit labels that would bring even the interval's low end within reach,
    # and never more than a tenth of the pool (all of it labeled is the full-data model).
    needed = result.audit_labels_needed
    assert needed is not None and 1 <= needed <= math.ceil(50_000 / MAX_EXTRAPOLATION) - 400


def test_a_real_learner_on_separable_classes():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 8)) * 3

    def draw(n: int) -> tuple[Any, list[str]]:
        y = rng.integers(0, 5, size=n)
        return centers[y] + rng.normal(size=(n, 8)), [f"c{v}" for v in y]

    audit, evaluation = draw(200), draw(600)
    result = estimate_random_labels(
        LogisticRegression(max_iter=500),
        audit[0],
        audit[1],
        model_score=0.9,
        model_labels=100,
        eval_features=evaluation[0],
        eval_labels=evaluation[1],
        class_prior={f"c{i}": 0.2 for i in range(5)},
    )
    assert result.curve and all(0 <= s <= 1 for _, s in result.curve)
    assert result.estimated or result.reason


def test_multi_label_sets_of_one_size_are_labels_too():
    # Equal-length label sets must stay one label per item, not become a 2-D array.
    X, y = AUDIT
    sets = [[name] for name in y]
    scorer = lambda model, features, labels: _accuracy_of_sets(model, features, labels)  # noqa: E731
    result = estimate_random_labels(
        CurveLearner(), X, sets, model_score=0.8, model_labels=500, scorer=scorer
    )
    assert result.curve


def _accuracy_of_sets(model: Any, features: Any, labels: list[list[str]]) -> float:
    predicted = model.predict(features)
    return float(np.mean([[p] == t for p, t in zip(predicted, labels, strict=True)]))


def test_pool_classes_no_random_label_names_do_not_rule_out_the_curve():
    # The pool's mix names a class the audit sample never drew: subsets follow the mix
    # of the classes they can draw, and the curve still spans the audit sample.
    prior = {"0": 25.0, "1": 25.0, "2": 25.0, "3": 25.0, "never drawn": 40.0}
    result = estimate(float(CURVE.score_at(3000)), train_on_eval=True, class_prior=prior)
    assert result.estimated and result.largest_subset >= 2000


def test_audit_labels_alone_keep_their_own_mix():
    # They are a random sample of the pool already; a predicted mix that disagrees with
    # them (say, one class three times as common) must not shrink the subsets.
    prior = {"0": 75.0, "1": 25.0, "2": 25.0, "3": 25.0}
    result = estimate(float(CURVE.score_at(2000)), train_on_eval=False, class_prior=prior)
    assert result.largest_subset == 400


def test_the_dict_round_trips_and_is_json_safe():
    result = estimate(float(CURVE.score_at(2000)), train_on_eval=False)
    unbounded = RandomLabelsEstimate(
        **{**result.__dict__, "high": math.inf, "saving_high": math.inf}
    )
    data = unbounded.to_dict()
    assert data["high"] is None and data["saving_high"] is None
    assert RandomLabelsEstimate.from_dict(data) == unbounded
    assert RandomLabelsEstimate.from_dict(result.to_dict()) == result


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eval_labels": None}, "both eval_features and eval_labels"),
        ({"level": 1.5}, "level must be in"),
        ({"eval_labels": ["0"] * 3}, "evaluation rows"),
    ],
)
def test_bad_input_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        estimate(0.8, **kwargs)
