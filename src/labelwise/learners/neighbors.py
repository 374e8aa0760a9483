"""k nearest neighbours that still answer while the labeled set is smaller than k."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.neighbors import KNeighborsClassifier

from labelwise._typing import ProbaArray
from labelwise._validation import check_positive_int
from labelwise.exceptions import NotFittedError


class NearestNeighborsClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn's ``KNeighborsClassifier`` with ``k = min(n_neighbors, n_labeled)``.

    Active learning starts from a handful of labels: a 5-NN member of a committee would
    refuse to fit three items, so this one votes among all of them until it has more.

    Parameters
    ----------
    n_neighbors : int, default 5
    metric : str, default "cosine"
        Any metric ``KNeighborsClassifier`` takes; cosine suits sentence embeddings.

    Attributes
    ----------
    model_ : the fitted ``KNeighborsClassifier``
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(self, n_neighbors: int = 5, metric: str = "cosine") -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric

    def fit(self, X: Any, y: Any, sample_weight: NDArray[np.float64] | None = None) -> Self:
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,).

        ``sample_weight`` (n_samples,) is taken so this learner can sit in a committee that
        passes weights (self-training's pseudo-labels, say), but neighbours' votes cannot
        be weighted: rows of weight 0 are left out and every other row counts once.
        """
        k = check_positive_int(self.n_neighbors, "n_neighbors", type(self).__name__)
        if sample_weight is not None:
            kept = np.flatnonzero(np.asarray(sample_weight, dtype=float) > 0)
            X, y = X[kept], np.asarray(y)[kept]
        n = X.shape[0]
        self.model_ = KNeighborsClassifier(min(k, max(n, 1)), metric=self.metric).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def _fitted(self) -> KNeighborsClassifier:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This NearestNeighborsClassifier is not fitted yet; call fit(X, y) first."
            )
        return self.model_

    def predict_proba(self, X: Any) -> ProbaArray:
        """Share of the neighbours in each class, shape (n_samples, n_classes)."""
        return np.asarray(self._fitted().predict_proba(X), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        return np.asarray(self._fitted().predict(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
