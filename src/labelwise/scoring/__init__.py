"""Where the pool is scored: in this process (:class:`LocalScorer`) or on a Dask cluster
(:class:`DaskScorer`, with the ``distributed`` extra), with the same answer."""

from labelwise.scoring.base import LocalScorer, PoolScorer
from labelwise.scoring.cluster import DaskScorer

__all__ = ["DaskScorer", "LocalScorer", "PoolScorer"]
