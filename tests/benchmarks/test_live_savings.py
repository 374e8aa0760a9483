"""The truth the live-savings benchmark measures the estimate against."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_true_labels_are_read_off_the_running_maximum_in_log_labels(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from live_savings import TrueCurve

    curve = TrueCurve(np.array([100.0, 400.0, 1600.0]), np.array([0.5, 0.7, 0.65]))
    assert curve.labels_for(0.4) == 100.0  # reached at the first point
    assert curve.labels_for(0.6) == pytest.approx(200.0)  # halfway in log labels
    # A dip does not reach a score the curve already had; past its best it never does.
    assert curve.labels_for(0.7) == pytest.approx(400.0)
    assert curve.labels_for(0.71) == math.inf


def test_the_summary_counts_inside_and_within_25_percent(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from live_savings import summarize

    base = {"data": "d", "audit_share": 0.1, "random_labels": "audit only"}
    rows = [
        {
            **base,
            "estimated": True,
            "inside": True,
            "relative_error": 0.1,
            "exact_curve_error": 0.0,
        },
        {
            **base,
            "estimated": True,
            "inside": False,
            "relative_error": -0.5,
            "exact_curve_error": 0.3,
        },
        {
            **base,
            "estimated": False,
            "inside": None,
            "relative_error": None,
            "exact_curve_error": None,
        },
    ]
    (row,) = summarize(rows)
    assert (row["checkpoints"], row["estimated"]) == (3, 2)
    assert row["inside_of_all"] == pytest.approx(1 / 3)
    assert row["inside_of_estimated"] == pytest.approx(0.5)
    assert row["within_25pct_of_estimated"] == pytest.approx(0.5)
    assert row["exact_curve_within_25pct"] == pytest.approx(0.5)
