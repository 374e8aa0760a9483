"""Query strategies: which unlabeled items to label next.

Families: uncertainty (``uncertainty``), committee disagreement (``committee``), expected
model change and error (``expected_change``), density and diversity (``density``,
``diversity``), and wrappers that compose them (``wrappers``); for sequence labeling
(entity spans), sentence-level measures over a tagger's marginals (``sequence``).
"""

from labelwise.strategies.base import PointwiseStrategy, Query, QueryStrategy, UtilityStrategy
from labelwise.strategies.committee import (
    BALD,
    CommitteeStrategy,
    ConsensusEntropy,
    KLMaxDisagreement,
    VoteEntropy,
)
from labelwise.strategies.density import InformationDensity
from labelwise.strategies.diversity import BADGE, ClusterMargin, CoreSet
from labelwise.strategies.expected_change import ExpectedErrorReduction, ExpectedGradientLength
from labelwise.strategies.random import RandomSampling
from labelwise.strategies.sequence import (
    MNLP,
    EntityDiverseBatch,
    SequenceCommittee,
    SequenceLeastConfidence,
    SequenceStrategy,
    TokenEntropy,
    WorstTokenMargin,
)
from labelwise.strategies.uncertainty import EntropySampling, LeastConfidence, MarginSampling
from labelwise.strategies.wrappers import (
    ClassBalanced,
    DeduplicatedBatch,
    ExactNeighborIndex,
    FaissNeighborIndex,
    NearestNeighborCandidates,
    NeighborIndex,
    Shortlisted,
    Subsampled,
)

STRATEGIES: dict[str, type[QueryStrategy]] = {
    "random": RandomSampling,
    "least_confidence": LeastConfidence,
    "margin": MarginSampling,
    "entropy": EntropySampling,
    "vote_entropy": VoteEntropy,
    "consensus_entropy": ConsensusEntropy,
    "kl_max_disagreement": KLMaxDisagreement,
    "bald": BALD,
    "egl": ExpectedGradientLength,
    "eer": ExpectedErrorReduction,
    "coreset": CoreSet,
    "badge": BADGE,
    "cluster_margin": ClusterMargin,
}
"""Names accepted on the command line, mapped to strategy classes (built with defaults)."""

SEQUENCE_STRATEGIES: dict[str, type[QueryStrategy]] = {
    "mnlp": MNLP,
    "sequence_lc": SequenceLeastConfidence,
    "token_entropy": TokenEntropy,
    "token_margin": WorstTokenMargin,
    "sequence_committee": SequenceCommittee,
}
"""Strategies for sequence labeling (a pool with ``sequences`` and a tagger such as
``CRFTagger``), by short name. Kept apart from :data:`STRATEGIES`, whose every entry the
CLI, the project settings and the retrain worker offer for text classification."""

__all__ = [
    "BADGE",
    "BALD",
    "MNLP",
    "SEQUENCE_STRATEGIES",
    "STRATEGIES",
    "ClassBalanced",
    "ClusterMargin",
    "CommitteeStrategy",
    "ConsensusEntropy",
    "CoreSet",
    "DeduplicatedBatch",
    "EntityDiverseBatch",
    "EntropySampling",
    "ExactNeighborIndex",
    "ExpectedErrorReduction",
    "ExpectedGradientLength",
    "FaissNeighborIndex",
    "InformationDensity",
    "KLMaxDisagreement",
    "LeastConfidence",
    "MarginSampling",
    "NearestNeighborCandidates",
    "NeighborIndex",
    "PointwiseStrategy",
    "Query",
    "QueryStrategy",
    "RandomSampling",
    "SequenceCommittee",
    "SequenceLeastConfidence",
    "SequenceStrategy",
    "Shortlisted",
    "Subsampled",
    "TokenEntropy",
    "UtilityStrategy",
    "VoteEntropy",
    "WorstTokenMargin",
]
