"""Learners: probabilistic classifiers over a fixed label schema, and committees of them."""

from labelwise.learners.committee import Committee
from labelwise.learners.probabilistic import ProbabilisticClassifier, default_estimator
from labelwise.learners.self_training import SelfTrainingClassifier
from labelwise.learners.zero_shot import ZeroShotClassifier

__all__ = [
    "Committee",
    "ProbabilisticClassifier",
    "SelfTrainingClassifier",
    "ZeroShotClassifier",
    "default_estimator",
]
