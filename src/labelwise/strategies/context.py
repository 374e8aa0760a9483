"""The one argument every query strategy's selection receives: :class:`QueryContext`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwise._typing import IndexArray, IndexLike
from labelwise.data.pool import Pool
from labelwise.exceptions import QueryError
from labelwise.scoring.base import LocalScorer, PoolScorer


@dataclass(frozen=True)
class QueryContext:
    """Everything a strategy may read while choosing a batch, validated once.

    :meth:`QueryStrategy.query <labelwise.strategies.QueryStrategy.query>` checks its
    arguments and builds one context; a wrapper hands its base the same context, or a
    :meth:`restrict`-ed copy, at any depth. A strategy reads what it needs (the labels for
    expected error reduction, the learner for uncertainty) instead of declaring it.

    Attributes
    ----------
    learner : object or None
        The fitted model (a classifier, a sequence tagger...), or None when the caller has
        none (cold start, random sampling).
    pool : Pool
    labeled : ndarray of shape (n_labeled,)
        Labeled pool positions.
    unlabeled : ndarray of shape (n_candidates,)
        The positions a strategy may choose from, distinct, none labeled. Wrappers may
        narrow it (:meth:`restrict`); it is then a subset of the caller's unlabeled set.
    labels : sequence of shape (n_labeled,) or None
        The label of each ``labeled`` position, same order, in the form ``learner.fit``
        accepts; None when the caller passed none.
    rng : numpy.random.Generator
        The query's random stream, shared by a wrapper and its base.
    scorer : PoolScorer
        Where pointwise strategies score the pool (:class:`~labelwise.scoring.LocalScorer`
        by default; :class:`~labelwise.scoring.DaskScorer` on a cluster).
    """

    # Any learner object: each strategy checks the capability it needs at query time.
    learner: Any
    pool: Pool
    labeled: IndexArray
    unlabeled: IndexArray
    labels: Sequence[Any] | None
    rng: np.random.Generator
    scorer: PoolScorer = dataclasses.field(default_factory=LocalScorer)

    def restrict(self, candidates: IndexLike) -> QueryContext:
        """A copy whose ``unlabeled`` is ``candidates``, in the order given.

        Parameters
        ----------
        candidates : array-like of shape (m,)
            Distinct positions, all among this context's ``unlabeled``, at least one.
        """
        cand = np.asarray(candidates, dtype=np.intp).reshape(-1)
        n_pool = len(self.pool)
        if cand.size == 0:
            raise QueryError("A strategy's candidates were narrowed to no positions at all.")
        allowed = np.zeros(n_pool, dtype=bool)
        allowed[self.unlabeled] = True
        outside = cand[(cand < 0) | (cand >= n_pool)]
        if outside.size == 0:
            outside = cand[~allowed[cand]]
        if outside.size:
            raise QueryError(
                f"Narrowed candidates must be unlabeled positions of the query; got "
                f"{outside[:10].tolist()}."
            )
        counts = np.bincount(cand, minlength=n_pool)
        if counts.max() > 1:
            raise QueryError(
                f"Narrowed candidates hold repeated positions: "
                f"{np.flatnonzero(counts > 1)[:10].tolist()}."
            )
        return dataclasses.replace(self, unlabeled=cand)
