"""Expected impact of labeling a production message: uncertainty x frequency x novelty.

- **uncertainty**: the margin measure of the current model's probabilities,
  ``1 - (p_(1) - p_(2))`` (:func:`labelwise.strategies._measures.margin`); 1 without a
  model (every message equally unknown).
- **frequency**: a concave weight of the message's traffic count: a query asked 500
  times matters more than one asked once, but not 500 times more (a few head queries
  would otherwise take the whole budget). ``log1p`` by default, ``sqrt`` the other
  choice: on the CLINC150 stream simulation (3 seeds) they tie, 98.2% vs 98.3% of pool
  margin's test accuracy (84.6% vs 84.7%), so the flatter ``log1p`` stays the default.
- **novelty**: ``1 - max cosine`` to the items already labeled or admitted, and 0 at or
  above ``duplicate_cosine`` (a near-copy of a labeled item teaches the model nothing).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import ProbaArray
from labelwise.strategies._measures import margin

Frequency = Literal["log1p", "sqrt"]
#: Labeled items at least this similar (cosine of L2-normalised rows) count as copies.
DUPLICATE_COSINE = 0.95


def frequency_weight(counts: NDArray[np.int64], kind: Frequency = "log1p") -> NDArray[np.float64]:
    """Concave weight of traffic counts.

    Parameters
    ----------
    counts : ndarray of shape (n_samples,), int
        How often each message's text (or group) was seen; >= 1.
    kind : {"log1p", "sqrt"}
        ``log1p(count)`` (1 -> 0.69, 500 -> 6.2) or ``sqrt(count)`` (1 -> 1, 500 -> 22).

    Returns
    -------
    weight : ndarray of shape (n_samples,), float64
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size and counts.min() < 1:
        raise ValueError(f"counts must be >= 1; got a minimum of {counts.min():g}")
    if kind == "log1p":
        return np.log1p(counts)
    if kind == "sqrt":
        return np.sqrt(counts)
    raise ValueError(f"frequency kind must be 'log1p' or 'sqrt'; got {kind!r}")


def max_cosine(X: NDArray[np.floating], reference: NDArray[np.floating]) -> NDArray[np.float64]:
    """For each row of ``X``, its highest cosine to a row of ``reference``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    reference : ndarray of shape (n_reference, n_features)
        The labeled or admitted items; none gives -1 everywhere (nothing is near).

    Returns
    -------
    cosine : ndarray of shape (n_samples,), float64
    """
    X = np.asarray(X, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape[0] == 0 or X.shape[0] == 0:
        return np.full(X.shape[0], -1.0)
    if X.shape[1] != reference.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but reference has {reference.shape[1]}; they must match"
        )
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    reference = reference / np.maximum(np.linalg.norm(reference, axis=1, keepdims=True), 1e-12)
    out = np.full(X.shape[0], -1.0)
    for start in range(0, reference.shape[0], 4096):  # bounded memory on a large label set
        block = X @ reference[start : start + 4096].T
        np.maximum(out, block.max(axis=1), out=out)
    return out


def novelty(
    max_cos: NDArray[np.float64], duplicate_cosine: float = DUPLICATE_COSINE
) -> NDArray[np.float64]:
    """``1 - max cosine``, clipped to [0, 1], and 0 at or above ``duplicate_cosine``.

    Parameters
    ----------
    max_cos : ndarray of shape (n_samples,)
        Each message's highest cosine to a labeled or admitted item (-1: none).
    duplicate_cosine : float
        From this cosine on, a message is a copy of a labeled item: novelty 0.

    Returns
    -------
    novelty : ndarray of shape (n_samples,), float64 in [0, 1]
    """
    max_cos = np.asarray(max_cos, dtype=np.float64)
    out = np.clip(1.0 - max_cos, 0.0, 1.0)
    out[max_cos >= duplicate_cosine] = 0.0
    return out


def impact(
    proba: ProbaArray | None,
    counts: NDArray[np.int64],
    max_cos: NDArray[np.float64],
    *,
    frequency: Frequency = "log1p",
    duplicate_cosine: float = DUPLICATE_COSINE,
) -> NDArray[np.float64]:
    """Expected impact of labeling each message: uncertainty x frequency x novelty.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes), or None
        The current model's probabilities; None (no model yet) counts every message as
        fully uncertain.
    counts : ndarray of shape (n_samples,), int
        Traffic counts (>= 1).
    max_cos : ndarray of shape (n_samples,)
        Highest cosine to an already labeled or admitted item (:func:`max_cosine`).
    frequency : {"log1p", "sqrt"}
        The concave frequency weight.
    duplicate_cosine : float
        Novelty is 0 from this cosine on.

    Returns
    -------
    impact : ndarray of shape (n_samples,), float64, >= 0

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.array([[0.5, 0.5], [1.0, 0.0]])
    >>> impact(proba, np.array([1, 1]), np.array([-1.0, -1.0])).round(3).tolist()
    [0.693, 0.0]
    """
    counts = np.asarray(counts)
    max_cos = np.asarray(max_cos, dtype=np.float64)
    n = counts.shape[0]
    if max_cos.shape != (n,):
        raise ValueError(f"max_cos has shape {max_cos.shape}; expected ({n},) like counts")
    if proba is None:
        uncertainty = np.ones(n)
    else:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[0] != n:
            raise ValueError(f"proba has shape {proba.shape}; expected ({n}, n_classes)")
        uncertainty = margin(proba)
    return np.asarray(
        uncertainty * frequency_weight(counts, frequency) * novelty(max_cos, duplicate_cosine),
        dtype=np.float64,
    )
