"""Stopping criteria: known answers on fake learners, history handling, and loop integration."""

import numpy as np
import pytest

from labelwise.data import LabelSchema, Pool
from labelwise.learners import ProbabilisticClassifier
from labelwise.loop import ActiveLearningLoop, LoopState
from labelwise.stopping import (
    ClassificationChange,
    LabelBudget,
    OverallUncertainty,
    StabilizingPredictions,
    TargetMetric,
)
from labelwise.strategies import MarginSampling
from tests.strategies.fakes import index_pool


class Predicts:
    """A learner whose argmax is given per item (proba 0.9 on it, the rest spread)."""

    def __init__(self, classes_per_item, n_classes=3, top=0.9):
        self.pred = np.asarray(classes_per_item)
        self.n_classes = n_classes
        self.top = top

    def predict_proba(self, X):
        rows = np.asarray(X)[:, 0].astype(int)
        proba = np.full((rows.size, self.n_classes), (1 - self.top) / (self.n_classes - 1))
        proba[np.arange(rows.size), self.pred[rows]] = self.top
        return proba

    def predict(self, X):
        return self.pred[np.asarray(X)[:, 0].astype(int)]


def state_with(n_pool, labeled, iteration=0):
    labeled = np.asarray(labeled, dtype=np.intp)
    return LoopState(
        n_pool=n_pool,
        labeled=labeled,
        labels=np.zeros(labeled.size, dtype=np.intp),
        sources=np.full(labeled.size, "human"),
        ignored=np.zeros(0, dtype=np.intp),
        iteration=iteration,
        seed=0,
    )


POOL = index_pool(100)


def test_label_budget():
    crit = LabelBudget(10)
    assert not crit.update(POOL, state_with(100, range(9)), None)
    assert crit.update(POOL, state_with(100, range(10)), None)


def test_target_metric_on_holdout():
    X = np.arange(4, dtype=float)[:, None]
    crit = TargetMetric(X, [0, 1, 1, 1], target=0.75)
    assert not crit.update(POOL, state_with(100, []), Predicts([0, 0, 0, 1]))  # 2/4
    assert crit.last_score_ == 0.5
    assert crit.update(POOL, state_with(100, []), Predicts([0, 1, 0, 1]))  # 3/4


def test_stabilizing_predictions_needs_a_window_of_agreement():
    crit = StabilizingPredictions(threshold=0.99, window=2, stop_set_size=100)
    stable = Predicts(np.arange(100) % 3)
    changed = Predicts((np.arange(100) + 1) % 3)
    state = state_with(100, [])
    assert not crit.update(POOL, state, stable)  # no previous model yet
    assert not crit.update(POOL, state, changed)  # kappa << 0
    assert not crit.update(POOL, state, changed)  # window mean still low
    assert crit.kappas_[-1] == 1.0
    assert crit.update(POOL, state, changed)  # last two kappas are 1
    crit.reset()
    assert not hasattr(crit, "kappas_") and not hasattr(crit, "previous_")


def test_stabilizing_predictions_single_class_models_agree():
    crit = StabilizingPredictions(threshold=0.99, window=1, stop_set_size=10)
    same = Predicts(np.zeros(100, dtype=int))
    crit.update(POOL, state_with(100, []), same)
    assert crit.update(POOL, state_with(100, []), same)


def test_classification_change_share():
    crit = ClassificationChange(threshold=0.05, stop_set_size=100)
    base = np.arange(100) % 3
    moved = base.copy()
    moved[:10] = (moved[:10] + 1) % 3
    assert not crit.update(POOL, state_with(100, []), Predicts(base))
    assert not crit.update(POOL, state_with(100, []), Predicts(moved))
    assert crit.changed_ == pytest.approx(0.10)
    assert crit.update(POOL, state_with(100, []), Predicts(moved))
    assert crit.changed_ == 0.0


def test_overall_uncertainty_uses_unlabeled_only():
    crit = OverallUncertainty(threshold=0.15)
    confident = Predicts(np.zeros(100, dtype=int), top=0.9)  # least confidence 0.1
    unsure = Predicts(np.zeros(100, dtype=int), top=0.5)  # least confidence 0.5
    assert crit.update(POOL, state_with(100, range(50)), confident)
    assert crit.mean_uncertainty_ == pytest.approx(0.1)
    assert not crit.update(POOL, state_with(100, range(50)), unsure)
    assert crit.update(POOL, state_with(100, range(100)), unsure)  # nothing left to label


def test_overall_uncertainty_rejects_unknown_measure():
    with pytest.raises(ValueError, match="'measure' parameter of OverallUncertainty"):
        OverallUncertainty(measure="vibes").update(
            POOL, state_with(100, []), Predicts(np.zeros(100, int))
        )


def test_loop_reports_the_first_criterion_that_fired():
    rng = np.random.default_rng(0)
    schema = LabelSchema(["a", "b"])
    X = np.vstack([rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (50, 2))])
    y = ["a"] * 50 + ["b"] * 50
    pool = Pool(X)
    loop = ActiveLearningLoop(
        ProbabilisticClassifier(classes=schema.classes),
        MarginSampling(),
        schema=schema,
        batch_size=5,
        random_state=0,
        stopping=[
            LabelBudget(20),
            StabilizingPredictions(threshold=0.9, window=1, stop_set_size=50),
        ],
    )
    state = loop.start(pool, [0, 99], ["a", "b"])
    reasons = []
    for _ in range(5):
        reasons.append(loop.stop_reason(pool, state))
        assert loop.stop_reason(pool, state) == reasons[-1]  # asking twice does not advance
        q = loop.query(pool, state)
        state = loop.teach(pool, state, q.indices, [y[i] for i in q.indices])
    assert reasons[0] is None
    assert any(r is not None and r.startswith("StabilizingPredictions") for r in reasons)
    assert (
        loop.fired_["LabelBudget(max_labels=20)"] == 22
        or "LabelBudget(max_labels=20)" not in loop.fired_
    )
