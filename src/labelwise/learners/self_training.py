"""Self-training: add the model's confident predictions on the unlabeled pool as pseudo-labels."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from labelwise._typing import ProbaArray
from labelwise._validation import check_positive_int
from labelwise.exceptions import NotFittedError


class SelfTrainingClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Fit on the labeled set, then refit with confident pseudo-labels from the pool.

    The loop hands this learner the unlabeled pool rows (``X_unlabeled``) because it
    declares ``uses_unlabeled = True``. Pseudo-labels only ever train the model: they are
    never written to the loop state, never count as labels, and evaluation stays on the
    held-out set, so the comparison with plain supervised learning is honest.

    Parameters
    ----------
    learner : scikit-learn classifier
        Usually a ``ProbabilisticClassifier``; cloned for every fit.
    threshold : float, default 0.9
        Smallest top-class probability for an unlabeled item to be pseudo-labeled.
    max_ratio : float, default 1.0
        At most ``max_ratio x n_labeled`` pseudo-labels per round, the most confident first,
        so early, weak models cannot drown the human labels.
    pseudo_weight : float, default 0.5
        Sample weight of a pseudo-labeled item (human labels weigh their own weight or 1).
    n_rounds : int, default 1
        Pseudo-label and refit this many times.

    Attributes
    ----------
    learner_ : the final fitted learner
    n_pseudo_ : int, pseudo-labels used in the final fit
    """

    uses_unlabeled = True

    def __init__(
        self,
        learner: Any,
        *,
        threshold: float = 0.9,
        max_ratio: float = 1.0,
        pseudo_weight: float = 0.5,
        n_rounds: int = 1,
    ) -> None:
        self.learner = learner
        self.threshold = threshold
        self.max_ratio = max_ratio
        self.pseudo_weight = pseudo_weight
        self.n_rounds = n_rounds

    @property
    def multilabel(self) -> bool:
        return bool(getattr(self.learner, "multilabel", False))

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: NDArray[np.float64] | None = None,
        *,
        X_unlabeled: Any = None,
    ) -> Self:
        """Fit on ``X`` (n_labeled, n_features), ``y``; pseudo-label rows of ``X_unlabeled``."""
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(
                f"The 'threshold' parameter of SelfTrainingClassifier must be in (0, 1]. Got {self.threshold!r} instead."
            )
        if self.multilabel:
            raise ValueError("SelfTrainingClassifier supports single-label learners only.")
        n_rounds = check_positive_int(self.n_rounds, "n_rounds", "SelfTrainingClassifier")
        y = np.asarray(list(y), dtype=object)
        weights = (
            np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        )
        model = clone(self.learner).fit(X, y, sample_weight=sample_weight)
        self.n_pseudo_ = 0
        if X_unlabeled is not None and X_unlabeled.shape[0] > 0:
            cap = int(self.max_ratio * len(y))
            for _ in range(n_rounds):
                proba = np.asarray(model.predict_proba(X_unlabeled))
                confidence = proba.max(axis=1)
                chosen = np.flatnonzero(confidence >= self.threshold)
                if chosen.size > cap:
                    chosen = chosen[np.argsort(-confidence[chosen], kind="stable")[:cap]]
                if chosen.size == 0:
                    break
                pseudo = np.asarray(model.classes_, dtype=object)[proba[chosen].argmax(axis=1)]
                stack = sp.vstack if sp.issparse(X) else np.vstack
                model = clone(self.learner).fit(
                    stack([X, X_unlabeled[chosen]]),
                    np.concatenate([y, pseudo]),
                    sample_weight=np.concatenate(
                        [weights, np.full(chosen.size, self.pseudo_weight)]
                    ),
                )
                self.n_pseudo_ = int(chosen.size)
        self.learner_ = model
        self.classes_ = model.classes_
        return self

    def _fitted(self) -> Any:
        if not hasattr(self, "learner_"):
            raise NotFittedError(
                "This SelfTrainingClassifier is not fitted yet; call fit(X, y) first."
            )
        return self.learner_

    def predict_proba(self, X: Any) -> ProbaArray:
        """Probabilities of the final model, shape (n_samples, n_classes)."""
        return np.asarray(self._fitted().predict_proba(X), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self._fitted().predict(X))
