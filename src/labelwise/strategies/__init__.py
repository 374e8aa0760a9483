"""Query strategies: which unlabeled items to label next."""

from labelwise.strategies.base import PointwiseStrategy, Query, QueryStrategy, UtilityStrategy
from labelwise.strategies.random import RandomSampling
from labelwise.strategies.uncertainty import EntropySampling, LeastConfidence, MarginSampling

STRATEGIES: dict[str, type[QueryStrategy]] = {
    "random": RandomSampling,
    "least_confidence": LeastConfidence,
    "margin": MarginSampling,
    "entropy": EntropySampling,
}
"""Names accepted on the command line, mapped to strategy classes."""

__all__ = [
    "STRATEGIES",
    "EntropySampling",
    "LeastConfidence",
    "MarginSampling",
    "PointwiseStrategy",
    "Query",
    "QueryStrategy",
    "RandomSampling",
    "UtilityStrategy",
]
