"""Learners: probabilistic classifiers over a fixed label schema, and committees of them."""

from labelwise.learners.committee import Committee
from labelwise.learners.probabilistic import ProbabilisticClassifier, default_estimator

__all__ = ["Committee", "ProbabilisticClassifier", "default_estimator"]
