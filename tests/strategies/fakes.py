"""A learner whose probabilities are fixed per pool item: exact known answers for strategies."""

from __future__ import annotations

import threading

import numpy as np

from labelwise.data import Pool
from labelwise.strategies.context import QueryContext
from labelwise.strategies.wrappers import ExactNeighborIndex


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


class FixedMarginalLearner:
    """A sequence learner with fixed token marginals per sentence (looked up by its tokens).

    ``predict_marginals`` returns ``marginals[i]`` for the sentence ``sequences[i]``;
    ``best_path_proba`` is the product of each token's largest marginal (exact for a model
    whose tokens are independent); ``member_marginals`` serves ``members[i]`` (n_members,
    n_tokens, n_tags) when given; ``predict_spans`` decodes the argmax tags over ``tags``.
    """

    def __init__(self, sequences, marginals, members=None, tags=None) -> None:
        self.index = {tuple(s): i for i, s in enumerate(sequences)}
        self.marginals = [np.asarray(m, dtype=float) for m in marginals]
        self.members = None if members is None else [np.asarray(m, dtype=float) for m in members]
        n_tags = self.marginals[0].shape[1] if self.marginals else 1
        self.tags_ = (
            list(tags) if tags is not None else ["O"] + [f"B-t{k}" for k in range(1, n_tags)]
        )
        self.calls: list[int] = []

    def _rows(self, X):
        rows = [self.index[tuple(x)] for x in X]
        self.calls.append(len(rows))
        return rows

    def predict_marginals(self, X):
        return [self.marginals[i] for i in self._rows(X)]

    def best_path_proba(self, X):
        return np.array([np.prod(self.marginals[i].max(axis=1)) for i in self._rows(X)])

    def member_marginals(self, X):
        members = self.members
        assert members is not None, "this fake was built without committee members"
        return [members[i] for i in self._rows(X)]

    def predict_spans(self, X):
        from labelwise.data.spans import tag_segments

        out = []
        for i in self._rows(X):
            tags = [self.tags_[k] for k in self.marginals[i].argmax(axis=1)]
            out.append([(s, e, t, 1.0) for s, e, t in tag_segments(tags)])
        return out


def sequence_pool(sequences, seed: int = 0) -> Pool:
    """A pool over ``sequences`` whose feature rows all point their own way."""
    rng = np.random.default_rng(seed)
    return Pool(rng.normal(size=(len(sequences), 64)), sequences=sequences)


def random_sequence_learner(n_pool, n_tags=4, n_members=3, seed=0):
    """Sentences ``s<i>`` of 0..5 tokens with random marginals (exact ties every 5th)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 6, size=n_pool)
    sequences = [[f"s{i}w{t}" for t in range(length)] for i, length in enumerate(lengths)]
    members = [rng.dirichlet(np.ones(n_tags), size=(n_members, length)) for length in lengths]
    for i in range(0, n_pool, 5):
        members[i][:] = 1 / n_tags
    marginals = [m.mean(axis=0) for m in members]
    return FixedMarginalLearner(sequences, marginals, members), sequences


class GatedIndex(ExactNeighborIndex):
    """Exact search whose build waits for a gate (or raises, when told to); counts the
    builds begun."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.gate, self.fail, self.builds = threading.Event(), fail, 0

    def build(self, features):
        self.builds += 1
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("the build broke")
        return super().build(features)
