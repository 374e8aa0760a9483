"""The stream simulation on tiny synthetic data: it runs, meets its budget, and reports."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from labelwise.simulation.production import ProductionData
from labelwise.simulation.production.stream import duplicate_share, simulate, zipf_stream


def _data(seed=0, n_classes=4, per_class=60, dim=16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3

    def split(n):
        y = np.repeat(np.arange(n_classes), n)
        X = centres[y] + rng.normal(size=(y.size, dim))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return X.astype(np.float32), np.array([f"c{k}" for k in y])

    X_train, y_train = split(per_class)
    X_test, y_test = split(20)
    return ProductionData(
        train_texts=[f"t{i}" for i in range(y_train.size)],
        test_texts=[f"s{i}" for i in range(y_test.size)],
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
    )


def test_a_small_stream_keeps_its_budget_and_compares_with_pool_margin():
    outcome = simulate(
        _data(), seed=0, n_messages=2_000, budget_share=0.02, n_periods=4, retrain_every=10
    )
    figures = {f.name: f for f in outcome.figures}
    assert outcome.simulation == "stream"
    assert figures["labels used / budget"].value <= 1.0
    assert figures["labels used / budget"].met
    assert max(outcome.details["admitted_per_period"]) <= outcome.details["budget_per_period"]
    # Four tight clusters: later offers are mostly copies of labeled items (impact 0, never
    # admitted), so the budget is a cap here, not a quota; the first day spends it all.
    assert outcome.details["admitted_per_period"][0] == outcome.details["budget_per_period"]
    assert 0.5 < figures["accuracy ratio stream / pool margin"].value < 1.5
    assert 0.0 <= figures["labeled within cosine 0.95 of another"].value <= 1.0


def test_the_same_seed_gives_the_same_run():
    data = _data(1)
    kwargs: dict[str, Any] = {
        "n_messages": 800,
        "budget_share": 0.02,
        "n_periods": 2,
        "retrain_every": 8,
    }
    a = simulate(data, seed=3, **kwargs)
    b = simulate(data, seed=3, **kwargs)
    assert [f.value for f in a.figures] == [f.value for f in b.figures]


def test_zipf_stream_repeats_the_head():
    stream = zipf_stream(1000, 20_000, 1.1, np.random.default_rng(0))
    counts = np.bincount(stream, minlength=1000)
    assert counts.sum() == 20_000
    top = np.sort(counts)[::-1]
    assert top[0] > 50 * np.median(counts[counts > 0])  # a heavy head
    assert (counts > 0).sum() < 1000  # the tail is not all reached


def test_duplicate_share():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    assert duplicate_share(X) == pytest.approx(0.5)
    assert duplicate_share(X[:1]) == 0.0
