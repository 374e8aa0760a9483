"""Scoring the pool on a Dask cluster (the ``distributed`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray
from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.scoring.base import PoolScorer

if TYPE_CHECKING:
    from labelwise.strategies._select import Ranked
    from labelwise.strategies.base import PointwiseStrategy
    from labelwise.strategies.context import QueryContext


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "DaskScorer needs Dask's distributed scheduler: pip install 'labelwise[distributed]'."
        ) from None
    return distributed


@dataclass(frozen=True)
class _Job:
    """What every partition of one query needs, shipped to each worker once.

    A pool opened from a ``.npy`` file pickles as its path (:meth:`Pool.__reduce__`), so
    workers map the file themselves and read only their own partitions' rows.
    """

    strategy: PointwiseStrategy
    learner: Any
    pool: Pool
    labeled: IndexArray
    labels: Sequence[Any] | None
    prepared: Any

    def context(self, block: IndexArray, seed: int) -> QueryContext:
        from labelwise.strategies.context import QueryContext

        return QueryContext(
            learner=self.learner,
            pool=self.pool,
            labeled=self.labeled,
            unlabeled=block,
            labels=self.labels,
            rng=np.random.default_rng(seed),
        )


@dataclass(frozen=True)
class _Run:
    """The positions ``start .. stop - 1`` except ``missing``: how a partition of a
    nearly whole pool travels (a few numbers, not 8 bytes a position: the positions of
    100 million items would be an 800 MB task graph)."""

    start: int
    stop: int
    missing: IndexArray

    @classmethod
    def of(cls, block: IndexArray) -> _Run | IndexArray:
        """``block`` as a run when it ascends with few holes, else ``block`` itself."""
        if block.size < 2 or not (np.diff(block) > 0).all():
            return block
        start, stop = int(block[0]), int(block[-1]) + 1
        if stop - start - block.size > block.size // 8:
            return block
        present = np.zeros(stop - start, dtype=bool)
        present[block - start] = True
        return cls(start, stop, (np.flatnonzero(~present) + start).astype(np.intp))

    def positions(self) -> IndexArray:
        present = np.ones(self.stop - self.start, dtype=bool)
        present[self.missing - self.start] = False
        return (np.flatnonzero(present) + self.start).astype(np.intp)


def _positions(part: _Run | IndexArray) -> IndexArray:
    return part.positions() if isinstance(part, _Run) else part


def _partition_top(part: _Run | IndexArray, *, job: _Job, n: int, seed: int) -> Ranked:
    block = _positions(part)
    ctx = job.context(block, seed)
    return job.strategy.top_in_chunks(ctx, block, n, seed=seed, prepared=job.prepared)


def _partition_scores(part: _Run | IndexArray, *, job: _Job) -> NDArray[np.float64]:
    block = _positions(part)
    return job.strategy.scores_in_chunks(job.context(block, 0), block, prepared=job.prepared)


def _merge(parts: list[Ranked], n: int) -> Ranked:
    from labelwise.strategies._select import merge_ranked

    return merge_ranked(parts, n)


class DaskScorer(PoolScorer):
    """Scores the pool on a Dask cluster, with the answer :class:`LocalScorer` gives.

    The positions are cut into partitions of ``partition_size``; each worker scores its
    partitions in the strategy's chunks and keeps their top-``n``, and the per-partition
    lists are merged ``fan_in`` at a time on the workers (a tree reduction, as
    ``dask.array.topk`` does), so only ``n`` items per partition ever cross the network.
    The learner, the pool and the labels travel to each worker once per query; a pool
    opened with :meth:`Pool.open <labelwise.data.Pool.open>` travels as its path, and the
    workers memory-map the file themselves (on a multi-machine cluster it must be at the
    same path on shared storage).

    Parameters
    ----------
    scheduler : str or distributed.Client
        A scheduler address (``tcp://10.0.0.5:8786``; connected on first use) or a
        client you manage.
    partition_size : int, default 262144
        Positions per task. Large enough that a task's overhead (milliseconds) is small
        against its scoring; small enough to spread over every worker's threads.
    fan_in : int, default 8
        Partition lists merged per reduction task.
    timeout : float, default 30
        Seconds to wait for the scheduler when connecting to an address.

    Examples
    --------
    >>> from distributed import LocalCluster  # doctest: +SKIP
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> scorer = DaskScorer(cluster.scheduler_address)  # doctest: +SKIP
    >>> MarginSampling().query(model, pool, labeled, unlabeled, 1000, scorer=scorer)  # doctest: +SKIP
    """

    def __init__(
        self,
        scheduler: Any,
        *,
        partition_size: int = 262_144,
        fan_in: int = 8,
        timeout: float = 30.0,
    ) -> None:
        self.scheduler = scheduler
        self.partition_size = partition_size
        self.fan_in = fan_in
        self.timeout = timeout
        self._connection: Any = None

    def client(self) -> Any:
        """The ``distributed.Client`` the scorer submits to (connected on first call)."""
        if not isinstance(self.scheduler, str):
            return self.scheduler
        if self._connection is None:
            self._connection = _distributed().Client(
                self.scheduler, set_as_default=False, timeout=self.timeout
            )
        return self._connection

    def close(self) -> None:
        """Close a connection this scorer opened (a client you passed stays open)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _partitions(self, positions: IndexArray) -> list[_Run | IndexArray]:
        size = check_positive_int(self.partition_size, "partition_size", "DaskScorer")
        return [_Run.of(positions[i : i + size]) for i in range(0, positions.size, size)]

    def _job(
        self, client: Any, strategy: PointwiseStrategy, ctx: QueryContext, prepared: Any
    ) -> Any:
        job = _Job(strategy, ctx.learner, ctx.pool, ctx.labeled, ctx.labels, prepared)
        return client.scatter(job, hash=False)

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
        from labelwise.strategies._select import Ranked

        fan_in = check_positive_int(self.fan_in, "fan_in", "DaskScorer")
        if fan_in < 2:
            raise ValueError(f"DaskScorer's fan_in must be at least 2; got {fan_in}.")
        blocks = self._partitions(positions)
        if not blocks:
            return Ranked.empty()
        client = self.client()
        job = self._job(client, strategy, ctx, prepared)
        parts = client.map(_partition_top, blocks, job=job, n=n, seed=seed, pure=False)
        while len(parts) > 1:
            parts = [
                client.submit(_merge, parts[i : i + fan_in], n, pure=False)
                for i in range(0, len(parts), fan_in)
            ]
        result: Ranked = parts[0].result()
        return result

    def scores(
        self,
        strategy: PointwiseStrategy,
        ctx: QueryContext,
        positions: IndexArray,
        *,
        prepared: Any,
    ) -> NDArray[np.float64]:
        blocks = self._partitions(positions)
        if not blocks:
            return np.zeros(0, dtype=np.float64)
        client = self.client()
        job = self._job(client, strategy, ctx, prepared)
        futures = client.map(_partition_scores, blocks, job=job, pure=False)
        return np.concatenate(client.gather(futures)).astype(np.float64, copy=False)

    def __repr__(self) -> str:
        return f"DaskScorer({self.scheduler!r}, partition_size={self.partition_size})"
