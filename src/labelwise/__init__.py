"""labelwise: active learning for labeling.

The library API: pools, schemas and tasks, featurizers, learners, query strategies, the loop
and the simulation harness. Nothing here imports web, database or terminal-UI code.

The names resolve on first use (PEP 562): importing ``labelwise.cli`` or
``labelwise.store`` must not pay for scikit-learn, pandas and SciPy (seconds on a cold
start), so ``import labelwise`` itself loads none of them.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from labelwise._lazy import lazy_exports as _lazy_exports

if _TYPE_CHECKING:
    from labelwise.data import LabelSchema, LabelSource, Pool, TextDataset, read_dataset
    from labelwise.evaluation import area_under_curve, labels_to_reach
    from labelwise.exceptions import (
        EmptyPoolError,
        InputError,
        InvalidLabelError,
        LabelwiseError,
        MissingDependencyError,
        ModelFileError,
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
    from labelwise.tasks import MultiLabel, SingleLabel, Task, task_for
    from labelwise.textmodel import TextModel, load_model

_LAZY = {
    "ActiveLearningLoop": "labelwise.loop",
    "EmbeddingCache": "labelwise.features",
    "EmptyPoolError": "labelwise.exceptions",
    "EntropySampling": "labelwise.strategies",
    "InputError": "labelwise.exceptions",
    "InvalidLabelError": "labelwise.exceptions",
    "LabelSchema": "labelwise.data",
    "LabelSource": "labelwise.data",
    "LabelwiseError": "labelwise.exceptions",
    "LeastConfidence": "labelwise.strategies",
    "LoopState": "labelwise.loop",
    "MarginSampling": "labelwise.strategies",
    "MissingDependencyError": "labelwise.exceptions",
    "ModelFileError": "labelwise.exceptions",
    "MultiLabel": "labelwise.tasks",
    "NotFittedError": "labelwise.exceptions",
    "Oracle": "labelwise.loop",
    "Pool": "labelwise.data",
    "PoolExhaustedError": "labelwise.exceptions",
    "ProbabilisticClassifier": "labelwise.learners",
    "Query": "labelwise.strategies",
    "QueryError": "labelwise.exceptions",
    "QueryStrategy": "labelwise.strategies",
    "RandomSampling": "labelwise.strategies",
    "SentenceEmbedder": "labelwise.features",
    "SimulatedOracle": "labelwise.simulation",
    "SimulationConfig": "labelwise.simulation",
    "SingleLabel": "labelwise.tasks",
    "StateError": "labelwise.exceptions",
    "Task": "labelwise.tasks",
    "TextDataset": "labelwise.data",
    "TextModel": "labelwise.textmodel",
    "TfidfFeaturizer": "labelwise.features",
    "UtilityStrategy": "labelwise.strategies",
    "area_under_curve": "labelwise.evaluation",
    "labels_to_reach": "labelwise.evaluation",
    "load_model": "labelwise.textmodel",
    "read_dataset": "labelwise.data",
    "run_simulation": "labelwise.simulation",
    "task_for": "labelwise.tasks",
}
"""Where each public name lives; imported on first attribute access."""

__version__ = "0.1.0"

__all__ = [
    "ActiveLearningLoop",
    "EmbeddingCache",
    "EmptyPoolError",
    "EntropySampling",
    "InputError",
    "InvalidLabelError",
    "LabelSchema",
    "LabelSource",
    "LabelwiseError",
    "LeastConfidence",
    "LoopState",
    "MarginSampling",
    "MissingDependencyError",
    "ModelFileError",
    "MultiLabel",
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
    "SingleLabel",
    "StateError",
    "Task",
    "TextDataset",
    "TextModel",
    "TfidfFeaturizer",
    "UtilityStrategy",
    "__version__",
    "area_under_curve",
    "labels_to_reach",
    "load_model",
    "read_dataset",
    "run_simulation",
    "task_for",
]


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
