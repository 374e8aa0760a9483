"""Evaluation: learning-curve summaries and fits, held-out scores, span metrics, suspected
label errors and proportion intervals."""

from labelwise.evaluation.agreement import Agreement, annotator_agreement
from labelwise.evaluation.curve_fit import (
    CurveFit,
    LabelsEstimate,
    PowerLawCurve,
    fit_learning_curve,
)
from labelwise.evaluation.curves import area_under_curve, labels_to_reach, score_predictions
from labelwise.evaluation.diagnostics import PoolDiagnostics, pool_diagnostics, stop_set
from labelwise.evaluation.intervals import wilson_interval
from labelwise.evaluation.label_issues import (
    LabelIssues,
    find_label_issues,
    find_multilabel_issues,
)
from labelwise.evaluation.labels_saved import (
    MIN_AUDIT_LABELS,
    RandomLabelsEstimate,
    estimate_random_labels,
)
from labelwise.evaluation.spans import (
    F1Interval,
    SpanF1Bootstrap,
    SpanScore,
    SpanScores,
    bootstrap_span_f1,
    span_agreement,
    span_scores,
)

__all__ = [
    "wilson_interval",
    "LabelIssues",
    "find_label_issues",
    "find_multilabel_issues",
    "PoolDiagnostics",
    "pool_diagnostics",
    "stop_set",
    "Agreement",
    "annotator_agreement",
    "CurveFit",
    "LabelsEstimate",
    "PowerLawCurve",
    "fit_learning_curve",
    "MIN_AUDIT_LABELS",
    "RandomLabelsEstimate",
    "estimate_random_labels",
    "area_under_curve",
    "labels_to_reach",
    "score_predictions",
    "F1Interval",
    "SpanF1Bootstrap",
    "SpanScore",
    "SpanScores",
    "bootstrap_span_f1",
    "span_agreement",
    "span_scores",
]
