"""The label_errors production simulation, on tiny synthetic data."""

from __future__ import annotations

import numpy as np

from labelwise.simulation.production import ProductionData
from labelwise.simulation.production.label_errors import inject_noise, most_confused, simulate


def _data(seed=0, n_classes=6, n_train=40, n_test=20):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (n_classes, 8))
    # Pairs of close classes (0-1, 2-3, 4-5): the realistic confusions.
    centres[1::2] = centres[0::2] + rng.normal(0, 1.5, (n_classes // 2, 8))

    def split(n):
        X = np.concatenate([rng.normal(c, 1.0, (n, 8)) for c in centres]).astype(np.float32)
        y = np.repeat(np.array([f"c{k}" for k in range(n_classes)]), n)
        return X, y

    X_train, y_train = split(n_train)
    X_test, y_test = split(n_test)
    return ProductionData(
        train_texts=[""] * len(y_train),
        test_texts=[""] * len(y_test),
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
    )


def test_flips_go_to_the_most_confused_class_not_uniformly():
    classes = np.array(["a", "b", "c"], dtype=object)
    labels = np.array(["a", "a", "b", "c"], dtype=object)
    proba = np.array([[0.5, 0.1, 0.4], [0.6, 0.0, 0.4], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1]])
    assert most_confused(proba, labels, classes) == {"a": "c", "b": "a", "c": "b"}
    y = np.array(["a"] * 50 + ["b"] * 50, dtype=object)
    noisy, flipped = inject_noise(y, {"a": "b", "b": "a"}, 0.1, random_state=0)
    assert flipped.size == 10 and np.all(noisy[flipped] != y[flipped])
    assert np.array_equal(np.flatnonzero(noisy != y), flipped)


def test_the_simulation_finds_the_injected_errors_and_recovers_accuracy():
    outcome = simulate(_data(), seed=0, noise=0.05)
    figures = {f.name: f for f in outcome.figures}
    assert outcome.simulation == "label_errors"
    assert outcome.details["n_errors"] == 12 and outcome.details["n_reviewed"] == 24
    assert figures["pr_auc"].target == 0.7 and figures["pr_auc"].met
    assert figures["reviewed_accuracy_share"].value >= figures["noisy_accuracy_share"].value - 0.02
    assert 0 < figures["precision_at_review_cut"].value <= 1
    again = simulate(_data(), seed=0, noise=0.05)
    assert [f.value for f in again.figures] == [f.value for f in outcome.figures]
