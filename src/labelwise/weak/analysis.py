"""How labeling functions behave: coverage, overlap, conflict, and accuracy against gold.

The definitions are Snorkel's, so numbers compare: a function's *coverage* is the share of
items it votes on; its *overlap* the share it votes on together with another function;
its *conflict* the share where another function votes a different label. *Accuracy* is
measured on the items a person labeled (gold), with a Wilson interval: pass the labels of
the random audit sample where there is one, since actively chosen items are the hard ones
and would make every function look worse than it is on the pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from labelwise.evaluation.intervals import wilson_interval
from labelwise.weak.matrix import LabelMatrix

__all__ = ["FunctionStats", "MatrixStats", "analyze", "gold_indices"]


@dataclass(frozen=True)
class FunctionStats:
    """One labeling function's numbers (shares are of all items, in [0, 1]).

    Attributes
    ----------
    name : str
    labels : tuple of str
        The labels it voted, most votes first.
    votes : int
        Items it voted on.
    coverage, overlap, conflict : float
    gold_votes : int
        Votes it cast on gold items.
    correct : int
        Of those, votes equal to the gold label.
    accuracy : float or None
        ``correct / gold_votes``; None without gold votes.
    accuracy_low, accuracy_high : float
        The 95% Wilson interval of the accuracy ((0, 1) without gold votes).
    """

    name: str
    labels: tuple[str, ...]
    votes: int
    coverage: float
    overlap: float
    conflict: float
    gold_votes: int
    correct: int
    accuracy: float | None
    accuracy_low: float
    accuracy_high: float


@dataclass(frozen=True)
class MatrixStats:
    """The whole matrix: per function, and shares of items any function covers.

    Attributes
    ----------
    functions : list of FunctionStats
        In column order.
    coverage : float
        Items at least one function votes on.
    overlap : float
        Items two or more functions vote on.
    conflict : float
        Items with votes for two or more labels.
    n_items : int
    gold_items : int
    """

    functions: list[FunctionStats]
    coverage: float
    overlap: float
    conflict: float
    n_items: int
    gold_items: int


def gold_indices(gold: Mapping[int, str] | None, matrix: LabelMatrix) -> NDArray[np.intp]:
    """Gold labels as class indices per item, -1 where an item has none.

    Parameters
    ----------
    gold : mapping of item position → label name, or None
    matrix : LabelMatrix
        Gives the number of items and the classes.
    """
    out = np.full(matrix.n_items, -1, dtype=np.intp)
    if not gold:
        return out
    index = {c: k for k, c in enumerate(matrix.classes)}
    for position, label in gold.items():
        if not 0 <= int(position) < matrix.n_items:
            raise ValueError(
                f"Gold item {position} is not a position among the {matrix.n_items} items."
            )
        if label not in index:
            raise ValueError(f"Gold label {label!r} of item {position} is not one of the classes.")
        out[int(position)] = index[label]
    return out


def analyze(matrix: LabelMatrix, gold: Mapping[int, str] | None = None) -> MatrixStats:
    """Coverage, overlap and conflict of every function, and accuracy on ``gold`` items.

    Parameters
    ----------
    matrix : LabelMatrix
    gold : mapping of item position → label name, optional
        Human labels (best: the random audit sample's).

    Returns
    -------
    MatrixStats
    """
    votes = matrix.votes.tocsr()
    votes.sort_indices()
    n = matrix.n_items
    per_row = np.diff(votes.indptr)
    voted_rows = np.flatnonzero(per_row)
    row_min = np.zeros(n, dtype=np.int64)
    row_max = np.zeros(n, dtype=np.int64)
    if voted_rows.size:
        starts = votes.indptr[voted_rows]
        row_min[voted_rows] = np.minimum.reduceat(votes.data, starts)
        row_max[voted_rows] = np.maximum.reduceat(votes.data, starts)
    conflicted = row_min != row_max
    # One entry per vote: its row, column and value, to count per column.
    rows = np.repeat(np.arange(n), per_row)
    cols = votes.indices
    m = matrix.n_functions
    count = np.bincount(cols, minlength=m)
    overlap = np.bincount(cols, weights=(per_row[rows] >= 2), minlength=m)
    conflict = np.bincount(cols, weights=conflicted[rows], minlength=m)
    truth = gold_indices(gold, matrix)
    on_gold = truth[rows] >= 0
    right = on_gold & (votes.data - 1 == truth[rows])
    gold_votes = np.bincount(cols, weights=on_gold, minlength=m).astype(int)
    correct = np.bincount(cols, weights=right, minlength=m).astype(int)
    by_column = votes.tocsc()
    functions = []
    for j, name in enumerate(matrix.names):
        per_label = np.bincount(
            by_column.data[by_column.indptr[j] : by_column.indptr[j + 1]] - 1,
            minlength=len(matrix.classes),
        )
        voted = np.flatnonzero(per_label)
        labels = tuple(
            matrix.classes[k] for k in voted[np.argsort(-per_label[voted], kind="stable")]
        )
        low, high = wilson_interval(int(correct[j]), int(gold_votes[j]))
        functions.append(
            FunctionStats(
                name=name,
                labels=labels,
                votes=int(count[j]),
                coverage=float(count[j] / n) if n else 0.0,
                overlap=float(overlap[j] / n) if n else 0.0,
                conflict=float(conflict[j] / n) if n else 0.0,
                gold_votes=int(gold_votes[j]),
                correct=int(correct[j]),
                accuracy=float(correct[j] / gold_votes[j]) if gold_votes[j] else None,
                accuracy_low=low,
                accuracy_high=high,
            )
        )

    def share(mask: NDArray[np.bool_]) -> float:
        return float(mask.sum() / n) if n else 0.0

    return MatrixStats(
        functions=functions,
        coverage=share(per_row >= 1),
        overlap=share(per_row >= 2),
        conflict=share(conflicted),
        n_items=n,
        gold_items=int((truth >= 0).sum()),
    )
