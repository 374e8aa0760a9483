"""Learners: probabilistic classifiers over a fixed label schema, committees of them (bagged,
or of different learners), and CRF sequence taggers (python-crfsuite, imported on first fit/predict)."""

from labelwise.learners.committee import Committee
from labelwise.learners.crf import BaggedCRF, CRFTagger
from labelwise.learners.mixed_committee import MixedCommittee
from labelwise.learners.neighbors import NearestNeighborsClassifier
from labelwise.learners.probabilistic import ProbabilisticClassifier, default_estimator
from labelwise.learners.self_training import SelfTrainingClassifier
from labelwise.learners.zero_shot import ZeroShotClassifier

__all__ = [
    "BaggedCRF",
    "CRFTagger",
    "Committee",
    "MixedCommittee",
    "NearestNeighborsClassifier",
    "ProbabilisticClassifier",
    "SelfTrainingClassifier",
    "ZeroShotClassifier",
    "default_estimator",
]
