"""Top-k selection with a seeded tie-break, by partial sort (never a full sort of the pool)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray


def top_k(scores: NDArray[np.float64], tiebreak: NDArray[np.float64], k: int) -> IndexArray:
    """Positions of the ``k`` highest ``scores``, best first.

    Equal scores are ordered by ascending ``tiebreak`` (random keys drawn from the query's
    seed), so ties are broken at random yet reproducibly, and the result does not depend
    on how the pool was chunked.

    Parameters
    ----------
    scores : ndarray of shape (n,)
    tiebreak : ndarray of shape (n,)
    k : int, 0 <= k

    Returns
    -------
    positions : ndarray of shape (min(k, n),)
    """
    n = scores.shape[0]
    k = min(k, n)
    if k == 0:
        return np.zeros(0, dtype=np.intp)
    if k < n:
        # argpartition puts *a* k-th best at k-1; items tied with it must be settled by key.
        part = np.argpartition(-scores, k - 1)[:k]
        threshold = scores[part].min()
        above = np.flatnonzero(scores > threshold)
        tied = np.flatnonzero(scores == threshold)
        tied = tied[np.argsort(tiebreak[tied], kind="stable")[: k - above.size]]
        chosen = np.concatenate([above, tied])
    else:
        chosen = np.arange(n)
    order = np.lexsort((tiebreak[chosen], -scores[chosen]))
    return chosen[order].astype(np.intp)


#: SplitMix64's constants (Steele, Lea and Flood, OOPSLA 2014): a bijective mix of 64 bits
#: whose outputs pass BigCrush, so consecutive positions give unrelated keys.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def position_keys(seed: int, positions: NDArray[np.integer]) -> NDArray[np.float64]:
    """Tie-break keys in [0, 1) that depend on ``(seed, position)`` only.

    Unlike keys drawn in sequence from a random stream, the key of an item is the same
    whichever chunk, partition or worker scores it, so a top-k merged from any split of the
    pool equals the top-k of the whole pool.

    Parameters
    ----------
    seed : int
        The query's seed (any integer; taken modulo 2**64).
    positions : ndarray of int, shape (n,)
        Pool positions (non-negative).

    Returns
    -------
    keys : ndarray of float64, shape (n,)
    """
    z = np.asarray(positions, dtype=np.uint64) * _GOLDEN + np.uint64(seed % 2**64)
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    # The top 53 bits are exactly representable as a double in [0, 1).
    return np.asarray((z >> np.uint64(11)).astype(np.float64) / 2.0**53, dtype=np.float64)


class Ranked(NamedTuple):
    """The best items of a part of the pool, best first: what a chunk, a partition or a
    worker hands on to be merged. Each array has shape (m,)."""

    positions: IndexArray
    scores: NDArray[np.float64]
    keys: NDArray[np.float64]

    @classmethod
    def empty(cls) -> Ranked:
        return cls(np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0))


def merge_ranked(parts: Iterable[Ranked], k: int) -> Ranked:
    """The ``k`` best of the union of ``parts``, best first.

    Since every item carries its own tie-break key (:func:`position_keys`), merging the
    top-``k`` of any split of the pool gives the top-``k`` of the whole pool, in any
    grouping: ``merge([merge([a, b]), c]) == merge([a, merge([b, c])])``.
    """
    parts = list(parts)
    if not parts:
        return Ranked.empty()
    positions = np.concatenate([p.positions for p in parts]).astype(np.intp, copy=False)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float64, copy=False)
    keys = np.concatenate([p.keys for p in parts]).astype(np.float64, copy=False)
    keep = top_k(scores, keys, k)
    return Ranked(positions[keep], scores[keep], keys[keep])
