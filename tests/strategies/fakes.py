"""A learner whose probabilities are fixed per pool item: exact known answers for strategies."""

from __future__ import annotations

import numpy as np

from labelwise.data import Pool
from labelwise.strategies.context import QueryContext


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


class FixedMemberLearner:
    """``member_proba`` returns column ``i`` of ``member_proba`` for the item whose feature is ``i``."""

    def __init__(self, member_proba: np.ndarray, multilabel: bool = False) -> None:
        self.members = np.asarray(member_proba, dtype=float)
        self.multilabel = multilabel
        self.calls: list[int] = []

    def member_proba(self, X):
        rows = np.asarray(X)[:, 0].astype(int)
        self.calls.append(rows.size)
        return np.asarray(self.members[:, rows])

    def predict_proba(self, X):
        return self.member_proba(X).mean(axis=0)


def distinct_index_pool(n: int, seed: int = 0) -> Pool:
    """Like ``index_pool`` (column 0 = position, for the fixed learners), but every row points
    in its own direction: 64 large random columns swamp column 0 in cosine similarity."""
    rng = np.random.default_rng(seed)
    return Pool(np.c_[np.arange(n, dtype=float), 1000.0 * rng.normal(size=(n, 64))])


def context(learner, pool, labeled=(), unlabeled=None, labels=None, seed=0):
    """A ``QueryContext`` as ``query`` builds it (unlabeled: every position not labeled)."""
    labeled = np.asarray(labeled, dtype=np.intp).reshape(-1)
    if unlabeled is None:
        unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    return QueryContext(
        learner=learner,
        pool=pool,
        labeled=labeled,
        unlabeled=np.asarray(unlabeled, dtype=np.intp).reshape(-1),
        labels=labels,
        rng=np.random.default_rng(seed),
    )


def score_all(strategy, learner, pool, labeled, indices):
    """``strategy.score_all`` over ``indices``, in a context whose candidates they are."""
    return strategy.score_all(context(learner, pool, labeled, indices), indices)
