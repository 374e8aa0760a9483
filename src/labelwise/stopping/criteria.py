"""Stopping criteria: when more labels stop paying for themselves.

A criterion is updated once per round with the pool, the loop state and the model fitted
on it, and says whether it fires. Criteria keep their own history (previous predictions,
recent agreement values) in attributes ending in ``_``; :meth:`StoppingCriterion.reset`
clears it, so one configured criterion can watch many runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import cohen_kappa_score

from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.evaluation.curves import score_predictions
from labelwise.strategies import _measures

if TYPE_CHECKING:
    from labelwise.loop import LoopState


class StoppingCriterion(ABC):
    """Decide, after each round, whether labeling should stop."""

    def reset(self) -> None:
        """Forget the history of a previous run."""
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:
        """Take the model after this round into account; True when the criterion fires."""

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}"
            for k, v in sorted(vars(self).items())
            if not k.endswith("_") and not k.startswith("_")
        )
        return f"{type(self).__name__}({params})"


class LabelBudget(StoppingCriterion):
    """Fires once ``max_labels`` items are labeled."""

    def __init__(self, max_labels: int) -> None:
        self.max_labels = max_labels

    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:  # noqa: ARG002
        return state.n_labeled >= check_positive_int(self.max_labels, "max_labels", self.name)


class TargetMetric(StoppingCriterion):
    """Fires when the model's score on a held-out labeled set reaches ``target``.

    Parameters
    ----------
    features : feature matrix of shape (n_holdout, n_features)
        A held-out set that is never queried or trained on.
    labels : sequence of length n_holdout
    target : float
        Accuracy (or micro-F1 for multi-label learners) to reach.
    """

    def __init__(self, features: Any, labels: Any, target: float) -> None:
        self.features = features
        self.labels = labels
        self.target = target

    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:  # noqa: ARG002
        if learner is None:
            return False
        multilabel = bool(getattr(learner, "multilabel", False))
        predicted = learner.predict(self.features)
        truth = self.labels if multilabel else np.asarray(self.labels, dtype=object)
        self.last_score_ = score_predictions(truth, predicted, multilabel=multilabel)
        return self.last_score_ >= self.target

    def __repr__(self) -> str:
        return f"TargetMetric(target={self.target!r}, n_holdout={len(self.labels)})"


class _StopSetCriterion(StoppingCriterion):
    """Criteria that watch predictions on a fixed random stop set drawn from the pool."""

    stop_set_size: int
    random_state: int | None

    def _stop_set(self, pool: Pool) -> NDArray[np.intp]:
        stop_set: NDArray[np.intp] | None = getattr(self, "stop_set_", None)
        if stop_set is None or stop_set.max(initial=-1) >= len(pool):
            size = min(
                check_positive_int(self.stop_set_size, "stop_set_size", self.name), len(pool)
            )
            rng = np.random.default_rng(self.random_state)
            stop_set = np.sort(rng.choice(len(pool), size=size, replace=False)).astype(np.intp)
            self.stop_set_ = stop_set
        return stop_set

    def _predict(self, pool: Pool, learner: Any) -> NDArray[np.intp]:
        proba = np.asarray(learner.predict_proba(pool.rows(self._stop_set(pool))))
        return np.asarray(np.argmax(proba, axis=1), dtype=np.intp)


class StabilizingPredictions(_StopSetCriterion):
    """Stop when successive models agree on a fixed stop set (Bloodgood & Vijay-Shanker 2009).

    Cohen's kappa between the predictions of the previous and the current model on the
    stop set, averaged over the last ``window`` rounds, must reach ``threshold``.

    Parameters
    ----------
    threshold : float, default 0.99
    window : int, default 3
    stop_set_size : int, default 2000
        Items drawn once from the pool (labeled or not: the set measures the model).
    random_state : int or None
    """

    def __init__(
        self,
        *,
        threshold: float = 0.99,
        window: int = 3,
        stop_set_size: int = 2000,
        random_state: int | None = 0,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.stop_set_size = stop_set_size
        self.random_state = random_state

    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:  # noqa: ARG002
        if learner is None:
            return False
        window = check_positive_int(self.window, "window", self.name)
        current = self._predict(pool, learner)
        previous = getattr(self, "previous_", None)
        self.previous_ = current
        if previous is None:
            return False
        kappas: list[float] = getattr(self, "kappas_", [])
        # kappa is undefined (nan) when both models predict one single class: full agreement.
        agreement = (
            1.0
            if np.array_equal(previous, current)
            else float(cohen_kappa_score(previous, current))
        )
        self.kappas_ = [*kappas, agreement]
        return (
            len(self.kappas_) >= window and float(np.mean(self.kappas_[-window:])) >= self.threshold
        )


class ClassificationChange(_StopSetCriterion):
    """Stop when at most ``threshold`` of the stop set changes predicted class (Zhu et al. 2008).

    Parameters
    ----------
    threshold : float, default 0.005
        Largest share of changed predictions between two successive models.
    stop_set_size : int, default 2000
    random_state : int or None
    """

    def __init__(
        self, *, threshold: float = 0.005, stop_set_size: int = 2000, random_state: int | None = 0
    ) -> None:
        self.threshold = threshold
        self.stop_set_size = stop_set_size
        self.random_state = random_state

    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:  # noqa: ARG002
        if learner is None:
            return False
        current = self._predict(pool, learner)
        previous = getattr(self, "previous_", None)
        self.previous_ = current
        if previous is None:
            return False
        self.changed_ = float(np.mean(previous != current))
        return self.changed_ <= self.threshold


MEASURES: dict[str, Callable[[Any], NDArray[np.float64]]] = {
    "least_confidence": _measures.least_confidence,
    "margin": _measures.margin,
    "entropy": _measures.entropy,
}


class OverallUncertainty(StoppingCriterion):
    """Stop when the mean uncertainty of the unlabeled pool falls below ``threshold`` (Zhu et al. 2008).

    Parameters
    ----------
    threshold : float, default 0.1
    measure : {"least_confidence", "margin", "entropy"}, default "least_confidence"
    sample_size : int, default 5000
        Unlabeled items scored per round (a seeded sample for large pools).
    random_state : int or None
    """

    def __init__(
        self,
        *,
        threshold: float = 0.1,
        measure: str = "least_confidence",
        sample_size: int = 5000,
        random_state: int | None = 0,
    ) -> None:
        self.threshold = threshold
        self.measure = measure
        self.sample_size = sample_size
        self.random_state = random_state

    def update(self, pool: Pool, state: LoopState, learner: Any) -> bool:
        if learner is None:
            return False
        if self.measure not in MEASURES:
            raise ValueError(
                f"The 'measure' parameter of OverallUncertainty must be one of {sorted(MEASURES)}. "
                f"Got {self.measure!r} instead."
            )
        unlabeled = state.unlabeled()
        if unlabeled.size == 0:
            return True
        size = check_positive_int(self.sample_size, "sample_size", self.name)
        if unlabeled.size > size:
            rng = np.random.default_rng([self.random_state or 0, state.iteration])
            unlabeled = rng.choice(unlabeled, size=size, replace=False)
        proba = np.asarray(learner.predict_proba(pool.rows(unlabeled)), dtype=np.float64)
        self.mean_uncertainty_ = float(MEASURES[self.measure](proba).mean())
        return self.mean_uncertainty_ < self.threshold
