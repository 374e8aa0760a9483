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
from labelwise.strategies.incremental import IncrementalRescoring
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
    BackgroundIndex,
    ClassBalanced,
    DeduplicatedBatch,
    ExactNeighborIndex,
    FaissCompressedIndex,
    FaissNeighborIndex,
    NearestNeighborCandidates,
    NeighborIndex,
    RandomShare,
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

STRATEGY_TITLES: dict[str, str] = {
    "random": "Random",
    "least_confidence": "Least confidence",
    "margin": "Margin sampling",
    "entropy": "Entropy sampling",
    "vote_entropy": "Vote entropy (committee)",
    "consensus_entropy": "Consensus entropy (committee)",
    "kl_max_disagreement": "KL max disagreement (committee)",
    "bald": "BALD (committee)",
    "egl": "Expected gradient length",
    "eer": "Expected error reduction",
    "coreset": "Core-set",
    "badge": "BADGE",
    "cluster_margin": "Cluster-margin",
    "mnlp": "Normalized log-prob.",
    "sequence_lc": "Sequence least confidence",
    "token_entropy": "Token entropy",
    "token_margin": "Worst token margin",
    "sequence_committee": "Sequence committee",
}
"""What each short strategy name is, for people reading result tables."""


def strategy_title(name: str) -> str:
    """``"Margin sampling (margin)"`` for a known short name (``"Random"`` where the title
    is the name); any other name as it is (an arm may be named by its user)."""
    title = STRATEGY_TITLES.get(name)
    if title is None:
        return name
    return title if title.lower().replace(" ", "_") == name else f"{title} ({name})"


__all__ = [
    "STRATEGY_TITLES",
    "strategy_title",
    "BADGE",
    "BALD",
    "MNLP",
    "SEQUENCE_STRATEGIES",
    "STRATEGIES",
    "BackgroundIndex",
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
    "FaissCompressedIndex",
    "FaissNeighborIndex",
    "IncrementalRescoring",
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
    "RandomShare",
    "Subsampled",
    "TokenEntropy",
    "UtilityStrategy",
    "VoteEntropy",
    "WorstTokenMargin",
]
