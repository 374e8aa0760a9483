"""A labels-saved estimate with plausible numbers, for tests of what shows it."""

from __future__ import annotations

from labelwise.evaluation.labels_saved import RandomLabelsEstimate


def an_estimate(**changes: object) -> RandomLabelsEstimate:
    """About 4.2x fewer labels at 1,000 (interval 3,120-6,010); ``changes`` override."""
    fields: dict[str, object] = {
        "estimated": True,
        "reason": None,
        "model_labels": 1000,
        "model_score": 0.8123,
        "audit_labels": 120,
        "scored_on": "evaluation set",
        "random_labels": 4213.0,
        "low": 3120.0,
        "high": 6010.0,
        "saving": 4.213,
        "saving_low": 3.12,
        "saving_high": 6.01,
    }
    fields.update(changes)
    return RandomLabelsEstimate(**fields)  # type: ignore[arg-type]
