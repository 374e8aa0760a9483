"""Near-duplicate groups: items whose feature rows are almost the same direction.

Production traffic repeats itself with small variations ("hi", "hi!", "hi there"). A
reviewer should see each such group once, with how often it was asked, instead of
spending a label on every variant. Groups are built greedily and incrementally: a new
item joins the most similar existing leader when their cosine similarity reaches the
threshold, and otherwise leads a group of its own; leaders never change, so groups
stored yesterday stay valid as new traffic arrives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from labelwise._rows import to_dense, unit_rows
from labelwise._validation import check_positive_int


def assign_near_duplicates(
    features: Any,
    leaders: ArrayLike,
    candidates: ArrayLike,
    *,
    threshold: float = 0.95,
    chunk_size: int = 1024,
) -> NDArray[np.intp]:
    """The leader each candidate joins: the most similar leader at cosine >= ``threshold``.

    Candidates are taken in the order given; one that is close to no leader becomes a
    leader itself (its own position is returned), and later candidates may join it.

    Parameters
    ----------
    features : ndarray or sparse matrix of shape (n_items, n_features)
        Feature rows of the whole pool (e.g. sentence embeddings or TF-IDF); rows are
        L2-normalised here. An all-zero row is similar to nothing.
    leaders : array-like of int
        Positions of the existing group leaders.
    candidates : array-like of int
        Positions to assign (not leaders already).
    threshold : float in [-1, 1], default 0.95
        Smallest cosine similarity that makes two texts near-duplicates.
    chunk_size : int >= 1, default 1024
        Candidates compared with the leaders at once (memory: ``chunk_size`` x leaders).

    Returns
    -------
    ndarray of int of shape (n_candidates,)
        Per candidate, the position of its group's leader. Ties between equally similar
        leaders go to the earlier leader (existing ones in the order given, then new ones).

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [0.05, 1.0]])
    >>> assign_near_duplicates(x, [0], [1, 2, 3]).tolist()
    [0, 2, 2]
    """
    threshold = float(threshold)
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine similarity in [-1, 1]; got {threshold!r}.")
    chunk_size = check_positive_int(chunk_size, "chunk_size", "assign_near_duplicates")
    n_items = features.shape[0]
    leader_positions = _positions(leaders, n_items, "leaders")
    todo = _positions(candidates, n_items, "candidates")
    assigned = np.empty(todo.size, dtype=np.intp)
    if todo.size == 0:
        return assigned
    rows = unit_rows(features)
    sparse = sp.issparse(rows)
    known = rows[leader_positions]
    known_positions = list(leader_positions)
    for start in range(0, todo.size, chunk_size):
        chunk = todo[start : start + chunk_size]
        chunk_rows = rows[chunk]
        best_sim = np.full(chunk.size, -np.inf)
        best = np.full(chunk.size, -1, dtype=np.intp)
        if len(known_positions):
            sims = to_dense(chunk_rows @ known.T)
            best = np.argmax(sims, axis=1)
            best_sim = sims[np.arange(chunk.size), best]
        # Within the chunk, in order: a candidate may join a leader this chunk created.
        inner = to_dense(chunk_rows @ chunk_rows.T)
        new_leaders: list[int] = []  # indices into chunk
        for i in range(chunk.size):
            joined = -1
            if best_sim[i] >= threshold:
                joined = known_positions[best[i]]
            if new_leaders:
                local = inner[i, new_leaders]
                j = int(np.argmax(local))
                # An existing leader wins a tie: it was made first.
                if local[j] >= threshold and (joined < 0 or local[j] > best_sim[i]):
                    joined = int(chunk[new_leaders[j]])
            if joined < 0:
                new_leaders.append(i)
                joined = int(chunk[i])
            assigned[start + i] = joined
        if new_leaders:
            added = chunk_rows[new_leaders]
            known = sp.vstack([known, added]).tocsr() if sparse else np.vstack([known, added])
            known_positions.extend(int(chunk[i]) for i in new_leaders)
    return assigned


def _positions(values: ArrayLike, n_items: int, name: str) -> NDArray[np.intp]:
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d array of item positions; got {array!r:.80}.")
    if array.min() < 0 or array.max() >= n_items:
        raise ValueError(
            f"{name} holds a position outside the pool of {n_items} items "
            f"(min {array.min()}, max {array.max()})."
        )
    return array.astype(np.intp)
