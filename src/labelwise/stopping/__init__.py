"""Stopping criteria: budget, target metric, stabilizing predictions, uncertainty, change."""

from labelwise.stopping.criteria import (
    ClassificationChange,
    LabelBudget,
    OverallUncertainty,
    StabilizingPredictions,
    StoppingCriterion,
    TargetMetric,
)

__all__ = [
    "ClassificationChange",
    "LabelBudget",
    "OverallUncertainty",
    "StabilizingPredictions",
    "StoppingCriterion",
    "TargetMetric",
]
