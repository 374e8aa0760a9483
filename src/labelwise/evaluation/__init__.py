"""Evaluation: learning-curve summaries and held-out scores."""

from labelwise.evaluation.curves import area_under_curve, labels_to_reach, score_predictions

__all__ = ["area_under_curve", "labels_to_reach", "score_predictions"]
