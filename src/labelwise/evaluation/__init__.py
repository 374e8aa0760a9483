"""Evaluation: learning-curve summaries and held-out scores."""

from labelwise.evaluation.agreement import Agreement, annotator_agreement
from labelwise.evaluation.curves import area_under_curve, labels_to_reach, score_predictions
from labelwise.evaluation.diagnostics import PoolDiagnostics, pool_diagnostics, stop_set

__all__ = [
    "PoolDiagnostics",
    "pool_diagnostics",
    "stop_set",
    "Agreement",
    "annotator_agreement",
    "area_under_curve",
    "labels_to_reach",
    "score_predictions",
]
