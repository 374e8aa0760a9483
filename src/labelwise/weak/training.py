"""The end model's training set: human labels, and the label model's where there are none.

Human labels always win: an item a person labeled trains with that label at weight 1,
whatever the functions say. Every other item some function voted on trains with the
label model's answer, either as its top class weighted by ``weak_weight`` times the
model's confidence (``soft=False``), or as one row per class weighted by ``weak_weight``
times that class's probability (``soft=True``, probabilistic targets for learners that
take sample weights but not soft labels). Evaluation never reads this set: held-out and
audit scores use human labels only.

:func:`vote_features` is the other way to hand the rules to the end model: their votes
per class as extra feature columns, so the model learns from the human labels how far to
trust each class's votes, and no weak label is ever trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from labelwise.weak.analysis import gold_indices
from labelwise.weak.matrix import LabelMatrix

__all__ = [
    "DEFAULT_VOTE_SCALE",
    "DEFAULT_WEAK_WEIGHT",
    "WeakTrainingSet",
    "vote_features",
    "weak_training_set",
]

#: A weak label counts half a human one at full confidence.
DEFAULT_WEAK_WEIGHT = 0.5
#: A class's vote column at one vote: on the scale of an L2-normalized embedding's
#: largest entries, so the columns neither swamp the text features nor vanish beside them.
DEFAULT_VOTE_SCALE = 0.5
#: Soft targets below this probability are dropped (rows that teach next to nothing).
_MIN_SOFT_PROBABILITY = 0.01


@dataclass(frozen=True)
class WeakTrainingSet:
    """Rows to fit the end model on (an item may appear once per class when soft).

    Attributes
    ----------
    positions : ndarray of shape (n_rows,)
        Pool positions.
    labels : ndarray of shape (n_rows,)
        Class indices.
    weights : ndarray of shape (n_rows,)
        Sample weights: 1 for a human label.
    human : ndarray of bool, shape (n_rows,)
        True for rows from human labels.
    """

    positions: NDArray[np.intp]
    labels: NDArray[np.intp]
    weights: NDArray[np.float64]
    human: NDArray[np.bool_]

    @property
    def n_weak_items(self) -> int:
        """Distinct items trained on a weak label."""
        return int(np.unique(self.positions[~self.human]).size)


def weak_training_set(
    matrix: LabelMatrix,
    label_proba: NDArray[np.float64],
    gold: Mapping[int, str],
    *,
    weak_weight: float = DEFAULT_WEAK_WEIGHT,
    min_confidence: float = 0.0,
    soft: bool = False,
) -> WeakTrainingSet:
    """Human labels plus the label model's on the other covered items.

    Parameters
    ----------
    matrix : LabelMatrix
        The pool's votes (rows are positions).
    label_proba : ndarray of shape (n_items, n_classes)
        The label model's probabilities (``LabelModel.predict_proba(matrix)``).
    gold : mapping of position → label name
        Human labels; they override every weak label.
    weak_weight : float >= 0, default 0.5
        The weight of a weak label at confidence 1; 0 trains on human labels only.
    min_confidence : float in [0, 1], default 0
        Weak items whose top probability is lower are left out.
    soft : bool, default False
        One row per class (weights ``weak_weight * p``) instead of the top class.
    """
    proba = np.asarray(label_proba, dtype=np.float64)
    if proba.shape != (matrix.n_items, len(matrix.classes)):
        raise ValueError(
            f"label_proba must have shape ({matrix.n_items}, {len(matrix.classes)}). "
            f"Got {proba.shape}."
        )
    if weak_weight < 0 or not 0.0 <= min_confidence <= 1.0:
        raise ValueError(
            f"weak_weight must be >= 0 and min_confidence in [0, 1]. Got {weak_weight!r}, "
            f"{min_confidence!r}."
        )
    truth = gold_indices(gold, matrix)
    human = np.flatnonzero(truth >= 0)
    covered = matrix.covered()
    weak = np.flatnonzero(covered & (truth < 0) & (proba.max(axis=1) >= min_confidence))
    if weak_weight == 0:
        weak = weak[:0]
    if soft:
        rows, classes = np.nonzero(proba[weak] >= _MIN_SOFT_PROBABILITY)
        weak_positions = weak[rows]
        weak_labels = classes.astype(np.intp)
        weak_weights = weak_weight * proba[weak_positions, weak_labels]
    else:
        weak_positions = weak
        weak_labels = proba[weak].argmax(axis=1).astype(np.intp)
        weak_weights = weak_weight * proba[weak].max(axis=1)
    return WeakTrainingSet(
        positions=np.concatenate([human, weak_positions]).astype(np.intp),
        labels=np.concatenate([truth[human], weak_labels]).astype(np.intp),
        weights=np.concatenate([np.ones(human.size), weak_weights]),
        human=np.concatenate([np.ones(human.size, bool), np.zeros(weak_positions.size, bool)]),
    )


def vote_features(matrix: LabelMatrix, *, scale: float = DEFAULT_VOTE_SCALE) -> sparse.csr_matrix:
    """The functions' votes per class, as feature columns for the end model.

    Column ``k`` counts the functions that voted for class ``k`` on the item, times
    ``scale``; stacked beside the text features (``scipy.sparse.hstack``), they let a
    linear model weigh each class's votes by how well they predicted the human labels.
    Unlike training on weak labels, the rules cannot outvote the people: a column the
    labels contradict gets a small or negative weight.

    Parameters
    ----------
    matrix : LabelMatrix
        Votes on the items to featurize (pool or new items: the same functions in the
        same order, so the columns line up).
    scale : float > 0, default 0.5
        The value of one vote.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_items, n_classes), float64
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0. Got {scale!r}.")
    coo = matrix.votes.tocoo()
    counts = sparse.csr_matrix(
        (np.full(coo.nnz, float(scale)), (coo.row, coo.data.astype(np.intp) - 1)),
        shape=(matrix.n_items, len(matrix.classes)),
        dtype=np.float64,
    )
    counts.sum_duplicates()  # two functions voting the same class on an item add up
    return counts
