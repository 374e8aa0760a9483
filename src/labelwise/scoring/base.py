"""Where a pointwise strategy scores the pool: the :class:`PoolScorer` contract and the
in-process :class:`LocalScorer`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray

if TYPE_CHECKING:
    from labelwise.strategies._select import Ranked
    from labelwise.strategies.base import PointwiseStrategy
    from labelwise.strategies.context import QueryContext


class PoolScorer(ABC):
    """Runs a pointwise strategy's scoring over a set of pool positions.

    A scorer decides *where* utilities are computed (this process, a cluster), never what
    is chosen: every scorer returns exactly what :class:`LocalScorer` returns for the same
    query, because each item's tie-break key depends on ``(seed, position)`` only and
    per-part top-``n`` lists merge into the whole pool's top-``n``.

    Scorers are given to :meth:`QueryStrategy.query
    <labelwise.strategies.QueryStrategy.query>` (``scorer=``) or to
    :class:`~labelwise.loop.ActiveLearningLoop`; like scikit-learn's joblib backends they
    are not a parameter of the strategy, so a strategy's ``repr`` (the provenance kept with
    each label) does not change with the machine it ran on.
    """

    @abstractmethod
    def top(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        n: int,
        *,
        seed: int,
        prepared: Any,
    ) -> Ranked:
        """The ``n`` best of ``positions`` (shape (m,)) by ``strategy``'s utility, best
        first, ties by the keys of ``(seed, position)``; ``prepared`` is what
        ``strategy.prepare(ctx)`` returned."""

    @abstractmethod
    def scores(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        *,
        prepared: Any,
    ) -> NDArray[np.float64]:
        """``strategy``'s utility of every item at ``positions``, shape (m,), same order."""

    def close(self) -> None:  # noqa: B027 - most scorers hold nothing to release
        """Release what the scorer holds (a cluster connection); it may be used again."""


class LocalScorer(PoolScorer):
    """Scores in this process, one chunk of ``strategy.chunk_size`` rows at a time."""

    def top(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        n: int,
        *,
        seed: int,
        prepared: Any,
    ) -> Ranked:
        return strategy.top_in_chunks(ctx, positions, n, seed=seed, prepared=prepared)

    def scores(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        *,
        prepared: Any,
    ) -> NDArray[np.float64]:
        return strategy.scores_in_chunks(ctx, positions, prepared=prepared)

    def __repr__(self) -> str:
        return "LocalScorer()"
