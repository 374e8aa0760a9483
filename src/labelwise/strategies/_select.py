"""Top-k selection with a seeded tie-break, by partial sort (never a full sort of the pool)."""

from __future__ import annotations

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
