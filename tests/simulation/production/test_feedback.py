"""The feedback simulation on a tiny synthetic data set: it runs, and its figures are sane."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.simulation.production import ProductionData
from labelwise.simulation.production.feedback import simulate


def _blobs(
    n_per: int, rng: np.random.Generator, centers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate([c + 1.2 * rng.standard_normal((n_per, centers.shape[1])) for c in centers])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = np.repeat([f"c{i}" for i in range(len(centers))], n_per)
    return X.astype(np.float32), y


def test_simulate_tiny() -> None:
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((6, 8)) * 1.5
    X, y = _blobs(80, rng, centers)
    Xt, yt = _blobs(20, rng, centers)
    data = ProductionData(
        train_texts=[f"t{i}" for i in range(len(y))],
        test_texts=[f"s{i}" for i in range(len(yt))],
        X_train=X,
        X_test=Xt,
        y_train=y,
        y_test=yt,
    )
    outcome = simulate(data, seed=1, n_labeled=30, n_reports=60, batch=10, horizon=30, C=1.0)
    figures = {f.name: f for f in outcome.figures}
    assert outcome.simulation == "feedback"
    assert set(figures) >= {"gain_ratio_vs_fifo", "gain_ratio_vs_margin", "gain_per_100_fifo"}
    assert figures["gain_ratio_vs_fifo"].target == 1.5
    assert figures["gain_ratio_vs_margin"].target == 1.2
    details = outcome.details
    assert 40 <= details["true_reports"] <= 44  # 70% of 60 across the three channels
    for curve in details["accuracy_curves"].values():
        assert len(curve) == 4  # the start and one point per batch of 10
        assert all(0.0 <= a <= 1.0 for a in curve)
    assert set(details["accuracy_curves"]) == {
        "impact",
        "impact_near_duplicates",
        "margin",
        "fifo",
        "oracle_fifo",
        "oracle_margin",
    }
    found = details["true_reports_found"]
    # The reference orders are told the truth: every report they review is true.
    assert found["oracle_fifo"] == found["oracle_margin"] == [0, 10, 20, 30]
    # Each order confirms at most a batch of true reports per step.
    assert all(b - a <= 10 for f in found.values() for a, b in zip(f, f[1:], strict=False))
    # What the targets ask of the accuracy after the measured reviews (30, three batches).
    start, fifo = figures["start_accuracy"].value, figures["gain_per_100_fifo"].value
    assert figures["accuracy_needed_vs_fifo"].value == pytest.approx(start + 1.5 * fifo * 0.3)
    assert 0.0 <= figures["accuracy_every_true_report"].value <= 1.0
    assert 0.0 <= figures["accuracy_whole_train"].value <= 1.0
    # Deterministic under the seed.
    again = simulate(data, seed=1, n_labeled=30, n_reports=60, batch=10, horizon=30, C=1.0)
    assert again.details["accuracy_curves"] == details["accuracy_curves"]
