"""Pure uncertainty measures: ``proba (n_samples, n_classes) -> utility (n_samples,)``.

Higher utility = more informative. Vectorised; no per-row Python.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import ProbaArray


def least_confidence(proba: ProbaArray) -> NDArray[np.float64]:
    """``1 - max_k p_k``: 0 for a certain prediction, ``1 - 1/K`` for a uniform one."""
    return np.asarray(1.0 - proba.max(axis=1), dtype=np.float64)


def margin(proba: ProbaArray) -> NDArray[np.float64]:
    """``1 - (p_(1) - p_(2))``, the gap between the two most probable classes, flipped.

    1 when the top two classes tie (the "breaking ties" case), 0 when one class has all
    the mass. With a single column the runner-up probability is taken as 0.
    """
    if proba.shape[1] < 2:
        return np.asarray(1.0 - proba[:, 0], dtype=np.float64)
    rows = np.arange(proba.shape[0])
    best = proba.argmax(axis=1)
    first = proba[rows, best]
    # Two max passes beat np.partition by ~2.5x on (16384, 150) blocks; the copy keeps
    # this function pure. An exact tie leaves an equal value behind: margin 1.
    rest = proba.copy()
    rest[rows, best] = -np.inf
    return np.asarray(1.0 - (first - rest.max(axis=1)), dtype=np.float64)


def entropy(proba: ProbaArray) -> NDArray[np.float64]:
    """Shannon entropy in nats, ``-sum_k p_k log p_k`` with ``0 log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(proba > 0, np.log(np.where(proba > 0, proba, 1.0)), 0.0)
    return np.asarray(-(proba * logs).sum(axis=1), dtype=np.float64)
