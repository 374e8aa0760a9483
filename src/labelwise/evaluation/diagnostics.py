"""What a model thinks of the whole pool: the numbers behind "is active learning helping?".

Computed per model version over the unlabeled pool, in chunks: the predicted class
distribution (set against the labeled one it shows sampling bias), a histogram of the
margin between the two most probable classes (how uncertain the pool still is), and the
agreement of successive models on a fixed stop set (stabilizing predictions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import cohen_kappa_score

from labelwise.data import Pool
from labelwise.strategies import _measures

BINS = 20


@dataclass(frozen=True)
class PoolDiagnostics:
    """One model's view of the unlabeled pool.

    Attributes
    ----------
    predicted_counts : dict of str to int
        Unlabeled items per predicted class (classes with none are omitted).
    margin_histogram : list of int, length 20
        Unlabeled items per bin of ``p_(1) - p_(2)`` over [0, 1] (first bin = most uncertain).
    mean_confidence : float
        Mean probability of the predicted class over the unlabeled pool.
    stop_positions, stop_predictions : ndarray
        The fixed stop set (pool positions) and this model's class codes on it.
    stop_kappa : float or None
        Cohen's kappa between this model's and the previous model's predictions on the
        stop set (None for the first model, or when the previous set is unknown).
    stop_changed : float or None
        Share of the stop set whose predicted class changed since the previous model.
    """

    predicted_counts: dict[str, int]
    margin_histogram: list[int]
    mean_confidence: float
    stop_positions: NDArray[np.intp] = field(repr=False)
    stop_predictions: NDArray[np.intp] = field(repr=False)
    stop_kappa: float | None
    stop_changed: float | None = None

    def to_metrics(self) -> dict[str, Any]:
        """JSON-ready fields for a model version's metrics."""
        return {
            "pool_predicted": self.predicted_counts,
            "margin_histogram": self.margin_histogram,
            "mean_confidence": round(self.mean_confidence, 4),
            "stop_kappa": None if self.stop_kappa is None else round(self.stop_kappa, 4),
            "stop_changed": None if self.stop_changed is None else round(self.stop_changed, 4),
        }


def stop_set(n_pool: int, size: int, seed: int) -> NDArray[np.intp]:
    """A fixed random subset of ``min(size, n_pool)`` pool positions, sorted."""
    rng = np.random.default_rng([seed, 7])
    return np.sort(rng.choice(n_pool, size=min(size, n_pool), replace=False)).astype(np.intp)


def pool_diagnostics(
    model: Any,
    pool: Pool,
    unlabeled: NDArray[np.intp],
    classes: Sequence[str],
    *,
    stop_positions: NDArray[np.intp],
    previous: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None,
    chunk_size: int = 16384,
    interrupt: Callable[[], bool] | None = None,
) -> PoolDiagnostics | None:
    """Diagnostics of a fitted single-label ``model`` over ``unlabeled`` positions.

    ``previous`` is the last model's ``(stop_positions, stop_predictions)``; kappa is taken
    over the positions both sets share. ``interrupt`` is asked before each chunk of
    ``chunk_size`` rows; once it returns True the pass stops and returns None (a pass over
    a million items takes seconds, and the retrain worker yields to a waiting retrain).
    """
    counts = np.zeros(len(classes), dtype=np.int64)
    histogram = np.zeros(BINS, dtype=np.int64)
    confidence = 0.0
    for start in range(0, unlabeled.size, chunk_size):
        if interrupt is not None and interrupt():
            return None
        proba = np.asarray(model.predict_proba(pool.rows(unlabeled[start : start + chunk_size])))
        counts += np.bincount(proba.argmax(axis=1), minlength=len(classes))
        margins = 1.0 - _measures.margin(proba)
        histogram += np.histogram(margins, bins=BINS, range=(0.0, 1.0))[0]
        confidence += float(proba.max(axis=1).sum())
    stop_predictions = (
        np.asarray(model.predict_proba(pool.rows(stop_positions))).argmax(axis=1).astype(np.intp)
        if stop_positions.size
        else np.zeros(0, dtype=np.intp)
    )
    kappa = changed = None
    if previous is not None:
        shared, mine, theirs = np.intersect1d(stop_positions, previous[0], return_indices=True)
        if shared.size:
            a, b = stop_predictions[mine], previous[1][theirs]
            # Identical constant predictions make kappa 0/0: call that perfect agreement.
            kappa = 1.0 if np.array_equal(a, b) else float(cohen_kappa_score(a, b))
            changed = float(np.mean(a != b))
    return PoolDiagnostics(
        predicted_counts={classes[i]: int(c) for i, c in enumerate(counts) if c},
        margin_histogram=histogram.tolist(),
        mean_confidence=confidence / unlabeled.size if unlabeled.size else 0.0,
        stop_positions=stop_positions,
        stop_predictions=stop_predictions,
        stop_kappa=kappa,
        stop_changed=changed,
    )
