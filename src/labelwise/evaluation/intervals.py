"""Confidence intervals for proportions."""

from __future__ import annotations

import math

__all__ = ["wilson_interval"]


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound for small ``n`` and p near 0/1).

    Parameters
    ----------
    successes : int
    n : int
        Trials; ``(0.0, 1.0)`` when there are none.
    z : float, default 1.959964
        The normal quantile: 95% two-sided.
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
