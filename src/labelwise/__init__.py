"""labelwise: active learning for labeling.

The library API: pools and schemas, featurizers, learners, query strategies, the loop
and the simulation harness. Nothing here imports web, database or terminal-UI code.
"""

from labelwise.data import LabelSchema, LabelSource, Pool, TextDataset, read_dataset
from labelwise.evaluation import area_under_curve, labels_to_reach
from labelwise.exceptions import (
    EmptyPoolError,
    InputError,
    LabelwiseError,
    MissingDependencyError,
    NotFittedError,
    PoolExhaustedError,
    QueryError,
    StateError,
)
from labelwise.features import EmbeddingCache, SentenceEmbedder, TfidfFeaturizer
from labelwise.learners import ProbabilisticClassifier
from labelwise.loop import ActiveLearningLoop, LoopState, Oracle
from labelwise.simulation import SimulatedOracle, SimulationConfig, run_simulation
from labelwise.strategies import (
    EntropySampling,
    LeastConfidence,
    MarginSampling,
    Query,
    QueryStrategy,
    RandomSampling,
    UtilityStrategy,
)

__version__ = "0.1.0"

__all__ = [
    "ActiveLearningLoop",
    "EmbeddingCache",
    "EmptyPoolError",
    "EntropySampling",
    "InputError",
    "LabelSchema",
    "LabelSource",
    "LabelwiseError",
    "LeastConfidence",
    "LoopState",
    "MarginSampling",
    "MissingDependencyError",
    "NotFittedError",
    "Oracle",
    "Pool",
    "PoolExhaustedError",
    "ProbabilisticClassifier",
    "Query",
    "QueryError",
    "QueryStrategy",
    "RandomSampling",
    "SentenceEmbedder",
    "SimulatedOracle",
    "SimulationConfig",
    "StateError",
    "TextDataset",
    "TfidfFeaturizer",
    "UtilityStrategy",
    "__version__",
    "area_under_curve",
    "labels_to_reach",
    "read_dataset",
    "run_simulation",
]
