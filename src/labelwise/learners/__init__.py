"""Learners: probabilistic classifiers over a fixed label schema."""

from labelwise.learners.probabilistic import ProbabilisticClassifier, default_estimator

__all__ = ["ProbabilisticClassifier", "default_estimator"]
