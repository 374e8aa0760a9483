"""A learner whose probabilities are fixed per pool item: exact known answers for strategies."""

from __future__ import annotations

import numpy as np

from labelwise.data import Pool


class FixedProbaLearner:
    """``predict_proba`` returns row ``i`` of ``proba`` for the item whose feature is ``i``."""

    def __init__(self, proba: np.ndarray, multilabel: bool = False) -> None:
        self.proba = np.asarray(proba, dtype=float)
        self.multilabel = multilabel
        self.calls: list[int] = []

    def fit(self, X, y):  # noqa: ARG002 - contract only
        return self

    def predict_proba(self, X) -> np.ndarray:
        rows = np.asarray(X)[:, 0].astype(int)
        self.calls.append(rows.size)
        return np.asarray(self.proba[rows])


def index_pool(n: int) -> Pool:
    """A pool whose single feature is the item's own position."""
    return Pool(np.arange(n, dtype=float)[:, None])
