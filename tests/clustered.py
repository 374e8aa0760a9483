"""Rows around class centres: the labeled data most learner and strategy tests need."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def clustered_rows(
    n: int, dim: int, n_classes: int, *, noise: float = 1.0, seed: int = 0, dtype: Any = np.float32
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """``n`` rows (n, dim) of ``dtype``, row ``i`` of class ``i % n_classes``: the class's
    standard-normal centre plus ``noise`` times standard-normal noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    y = np.arange(n) % n_classes
    x = (centres[y] + noise * rng.normal(size=(n, dim))).astype(dtype)
    return x, y
