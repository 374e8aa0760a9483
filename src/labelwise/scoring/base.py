"""Where a pointwise strategy scores the pool: the :class:`PoolScorer` contract and the
in-process :class:`LocalScorer`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from labelwise._typing import IndexArray
from labelwise._validation import check_positive_int

if TYPE_CHECKING:
    from labelwise.strategies._select import Ranked
    from labelwise.strategies.base import PointwiseStrategy
    from labelwise.strategies.context import QueryContext

T = TypeVar("T")


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
    """Scores in this process, one chunk of ``strategy.chunk_size`` rows at a time.

    Parameters
    ----------
    threads : int, default 1
        Threads scoring chunks side by side, each with a one-thread BLAS (NumPy releases
        the GIL in its kernels); 1 scores in this thread, with a one-thread BLAS too, so
        the scores never depend on how many cores BLAS finds. On 2 cores two threads bring
        an exact margin top-1,000 over 1 M x 384 float32 rows and 150 classes from 2.34x
        to 1.26x the float32 matrix-product floor (which BLAS computes on both cores;
        ``benchmarks/pool_scale.py``). Keep 1 for learners that are not thread-safe (CRF
        taggers).
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def _owners(self, strategy: PointwiseStrategy, positions: IndexArray) -> NDArray[np.intp]:
        """The thread that scores each of ``positions`` (shape (m,)): chunk ``k`` goes to
        thread ``k mod threads``, so each thread walks whole chunks of the one-thread walk."""
        threads = check_positive_int(self.threads, "threads", "LocalScorer")
        chunk = check_positive_int(strategy.chunk_size, "chunk_size", type(strategy).__name__)
        n_chunks = -(-positions.size // chunk)
        return np.repeat(np.arange(n_chunks) % threads, chunk)[: positions.size]

    def _run(self, parts: list[IndexArray], work: Callable[[IndexArray], T]) -> list[T]:
        # One BLAS thread per chunk, also for a single part: a product split across BLAS
        # threads may round differently (1e-8 on margins over 1M rows, enough to reorder
        # a top-1000), so scores would depend on how many cores BLAS found.
        with threadpool_limits(limits=1, user_api="blas"):
            if len(parts) == 1:
                return [work(parts[0])]
            with ThreadPoolExecutor(len(parts)) as ex:
                return list(ex.map(lambda part: _with_one_blas_thread(work, part), parts))

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
        owners = self._owners(strategy, positions)
        parts = [positions[owners == t] for t in np.unique(owners)] or [positions]
        best = self._run(
            parts,
            lambda part: strategy.top_in_chunks(ctx, part, n, seed=seed, prepared=prepared),
        )
        if len(best) == 1:
            return best[0]
        # Here, not at the top: the strategies package imports this module as it loads.
        from labelwise.strategies._select import merge_ranked

        return merge_ranked(best, n)

    def scores(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        *,
        prepared: Any,
    ) -> NDArray[np.float64]:
        owners = self._owners(strategy, positions)
        threads = np.unique(owners)
        if threads.size <= 1:
            return self._run(
                [positions], lambda part: strategy.scores_in_chunks(ctx, part, prepared=prepared)
            )[0]
        scored = self._run(
            [positions[owners == t] for t in threads],
            lambda part: strategy.scores_in_chunks(ctx, part, prepared=prepared),
        )
        out = np.empty(positions.size, dtype=np.float64)
        for t, part_scores in zip(threads, scored, strict=True):
            out[owners == t] = part_scores
        return out

    def __repr__(self) -> str:
        return "LocalScorer()" if self.threads == 1 else f"LocalScorer(threads={self.threads})"


def _with_one_blas_thread(work: Callable[[IndexArray], T], part: IndexArray) -> T:
    """``work(part)`` with a one-thread BLAS in this thread too: an OpenMP-built BLAS (the
    one faiss brings) keeps its thread count per thread, so the limit the caller set does
    not reach the scoring threads. Nested limits restore what they found, so the
    process-wide ones stay at one until the caller's limit ends."""
    with threadpool_limits(limits=1, user_api="blas"):
        return work(part)
