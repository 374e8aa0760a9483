"""Input checks used at the library's public edges; messages quote the bad value."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from labelwise._typing import IndexArray, ProbaArray, RandomStateLike


def check_random_state(random_state: RandomStateLike) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``numpy.random.Generator``."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if int(random_state) < 0:
            raise ValueError(f"random_state must be a non-negative int. Got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"random_state must be None, a non-negative int or a numpy Generator. "
        f"Got {random_state!r} of type {type(random_state).__name__}."
    )


def check_positive_int(value: Any, name: str, owner: str) -> int:
    """Check that ``value`` is an int >= 1, naming the parameter and its owner on failure."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be an int in [1, inf). Got {value!r} instead."
        )
    return int(value)


def check_indices(indices: Any, n_pool: int, name: str = "indices") -> IndexArray:
    """Return ``indices`` as a 1-d intp array of distinct positions in ``[0, n_pool)``."""
    arr = np.asarray(indices)
    if arr.size == 0:
        return np.zeros(0, dtype=np.intp)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional. Got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers. Got dtype {arr.dtype}.")
    bad = arr[(arr < 0) | (arr >= n_pool)]
    if bad.size:
        raise ValueError(
            f"{name} must be positions in a pool of {n_pool} items. "
            f"Out of range: {bad[:10].tolist()}."
        )
    uniq, counts = np.unique(arr, return_counts=True)
    if uniq.size != arr.size:
        raise ValueError(f"{name} must be distinct. Repeated: {uniq[counts > 1][:10].tolist()}.")
    return arr.astype(np.intp, copy=False)


def check_proba(proba: Any, *, multilabel: bool = False) -> ProbaArray:
    """Check a probability matrix of shape (n_samples, n_classes).

    Rows must sum to 1 (single-label); every entry must lie in [0, 1].
    """
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"proba must have shape (n_samples, n_classes). Got shape {arr.shape}.")
    if arr.size and (not np.isfinite(arr).all() or arr.min() < -1e-9 or arr.max() > 1 + 1e-9):
        raise ValueError("proba must hold finite values in [0, 1].")
    if not multilabel and arr.size:
        sums = arr.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
        if off.size:
            raise ValueError(
                f"proba rows must sum to 1. Row {int(off[0])} sums to {float(sums[off[0]]):.6g}."
            )
    return arr


def require_capability(obj: Any, method: str, owner: str, hint: str = "") -> None:
    """Raise ``TypeError`` naming ``method`` when ``obj`` lacks it (capability protocols)."""
    if not callable(getattr(obj, method, None)):
        raise TypeError(
            f"{owner} needs a learner with a {method}() method; "
            f"{type(obj).__name__} has none.{(' ' + hint) if hint else ''}"
        )
