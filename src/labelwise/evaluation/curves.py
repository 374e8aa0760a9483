"""Learning-curve summaries: labels needed to reach a target, and area under the curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import f1_score


def labels_to_reach(
    n_labels: Sequence[int] | NDArray[Any], scores: Sequence[float] | NDArray[Any], target: float
) -> int | None:
    """The first label count at which ``scores`` reaches ``target``; ``None`` if never.

    Parameters
    ----------
    n_labels : array of shape (n_points,), increasing
    scores : array of shape (n_points,)
    target : float

    Examples
    --------
    >>> labels_to_reach([100, 200, 300], [0.5, 0.9, 0.95], 0.9)
    200
    """
    hits = np.flatnonzero(np.asarray(scores, dtype=float) >= target)
    return None if hits.size == 0 else int(np.asarray(n_labels)[hits[0]])


def area_under_curve(
    n_labels: Sequence[int] | NDArray[Any],
    scores: Sequence[float] | NDArray[Any],
    *,
    start: int,
    stop: int,
) -> float:
    """Normalised area under a learning curve over ``[start, stop]`` labels.

    The trapezoid area divided by ``stop - start``: the mean score over that label range,
    in the score's own units (1.0 = perfect throughout). Points outside the range are
    dropped; the curve is not extrapolated.
    """
    x = np.asarray(n_labels, dtype=float)
    y = np.asarray(scores, dtype=float)
    keep = (x >= start) & (x <= stop)
    x, y = x[keep], y[keep]
    if x.size < 2 or stop <= start:
        return float(y[0]) if y.size else float("nan")
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def score_predictions(y_true: Any, y_pred: Any, *, multilabel: bool = False) -> float:
    """Accuracy (single-label) or micro-averaged F1 over indicator rows (multi-label)."""
    if multilabel:
        return float(f1_score(y_true, y_pred, average="micro", zero_division=0))
    truth = np.asarray(y_true, dtype=object).reshape(-1)
    pred = np.asarray(y_pred, dtype=object).reshape(-1)
    if truth.shape != pred.shape:
        raise ValueError(f"{truth.size} true labels but {pred.size} predictions.")
    # Plain equality: sklearn's target-type sniffing rejects object arrays of ints.
    return float(np.mean(truth == pred)) if truth.size else float("nan")
