"""The end model and the labeling functions answering together.

Where some function votes, the prediction is the product of the end model's
probabilities and the label model's, raised to ``label_weight`` and normalised (a product
of experts); elsewhere it is the end model's alone. The rules stay part of the deployed
model instead of only labeling its training data. Measured on TREC-6 with its 68 shared
rules (``benchmarks/results/weak_supervision_trec.md``, 5 seeds, margin on the combined
answer): +10.4, +5.6, +1.1 and -1.0 points of test accuracy over active learning alone at
50, 100, 200 and 500 labels, where training the end model on the rules' labels instead
gains 3.9 at 50 and loses 10-25 from 100 on. Weight 1 helps most while the end model has
few labels;
:func:`choose_label_weight` picks a smaller one by cross-validation on gold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from labelwise.evaluation.label_issues import stratified_folds
from labelwise.weak.label_models import LabelModel
from labelwise.weak.matrix import LabelMatrix

__all__ = [
    "DEFAULT_LABEL_WEIGHT",
    "LABEL_WEIGHTS",
    "LabelWeightChoice",
    "choose_label_weight",
    "combined_proba",
]

#: The label model counts as much as the end model where a rule fires.
DEFAULT_LABEL_WEIGHT = 1.0
#: What :func:`choose_label_weight` tries: from the end model alone to full weight.
LABEL_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
#: Fewer held-out gold items than this say too little: the default weight stands.
_MIN_JUDGED = 20


def combined_proba(
    end_proba: NDArray[np.floating],
    label_proba: NDArray[np.floating],
    covered: NDArray[np.bool_],
    *,
    label_weight: float = DEFAULT_LABEL_WEIGHT,
) -> NDArray[np.float64]:
    """``end * label ** label_weight``, normalised, on covered rows; ``end`` elsewhere.

    Parameters
    ----------
    end_proba : ndarray of shape (n, n_classes)
        The end model's probabilities.
    label_proba : ndarray of shape (n, n_classes)
        The label model's, same columns.
    covered : ndarray of bool, shape (n,)
        Rows some function voted on.
    label_weight : float >= 0, default 1.0
        0 gives the end model alone.
    """
    end = np.asarray(end_proba, dtype=np.float64)
    label = np.asarray(label_proba, dtype=np.float64)
    covered = np.asarray(covered, dtype=bool)
    if end.shape != label.shape or covered.shape != end.shape[:1]:
        raise ValueError(
            f"end_proba {end.shape}, label_proba {label.shape} and covered {covered.shape} "
            "must describe the same rows and classes."
        )
    if label_weight < 0:
        raise ValueError(f"label_weight must be >= 0. Got {label_weight!r}.")
    product = end * np.clip(label, 1e-12, 1.0) ** label_weight
    total = product.sum(axis=1, keepdims=True)
    # A row where the two put all their mass on different classes keeps the end model's.
    joint = np.divide(product, total, out=end.copy(), where=total > 0)
    return np.asarray(np.where(covered[:, None], joint, end), dtype=np.float64)


@dataclass(frozen=True)
class LabelWeightChoice:
    """The label weight whose combined answer fitted held-out gold best.

    Attributes
    ----------
    weight : float
    accuracy : dict of float → float
        Held-out accuracy of each weight tried (empty when too few items were judged).
    log_likelihood : dict of float → float
        Held-out mean log-probability of the gold label, which decides.
    judged : int
        Gold items held out and scored.
    """

    weight: float
    accuracy: dict[float, float]
    log_likelihood: dict[float, float]
    judged: int


def choose_label_weight(
    learner: Any,
    features: Any,
    matrix: LabelMatrix,
    label_model: LabelModel,
    gold: Mapping[int, str],
    *,
    weights: Sequence[float] = LABEL_WEIGHTS,
    n_folds: int = 5,
    random_state: int = 0,
) -> LabelWeightChoice:
    """Pick ``label_weight`` by cross-validation on the human labels.

    Each fold's end model (``learner``, cloned) and label model (``label_model``, cloned
    and fitted gold-aware on the other folds) answer for the held-out gold items; the
    weight under which :func:`combined_proba` gives their labels the highest mean
    log-probability wins (the smaller on a tie).
    With fewer than 20 held-out items :data:`DEFAULT_LABEL_WEIGHT` stands.

    Parameters
    ----------
    learner : classifier
        ``fit(X, y)`` / ``predict_proba`` / ``classes_`` (class indices of ``matrix``).
    features : array or sparse matrix of shape (n_items, n_features)
        The pool's rows (``matrix``'s rows).
    matrix : LabelMatrix
    label_model : LabelModel
    gold : mapping of position → label name
    weights : sequence of float
    n_folds : int, default 5
    random_state : int, default 0
    """
    positions = np.array(sorted(gold), dtype=np.intp)
    index = {c: k for k, c in enumerate(matrix.classes)}
    y = np.array([index[gold[p]] for p in positions.tolist()], dtype=np.intp)
    folds = stratified_folds(y, n_folds, random_state) if positions.size else positions
    judged = folds >= 0
    if int(judged.sum()) < _MIN_JUDGED:
        return LabelWeightChoice(DEFAULT_LABEL_WEIGHT, {}, {}, int(judged.sum()))
    k = len(matrix.classes)
    on_gold = matrix.rows(positions)  # the label models answer for these items only
    end = np.zeros((positions.size, k))
    label = np.zeros((positions.size, k))
    for fold in sorted(set(folds[judged].tolist())):
        held, train = folds == fold, folds != fold
        model = clone(learner).fit(features[positions[train]], y[train])
        end[np.ix_(held, np.asarray(model.classes_, dtype=np.intp))] = model.predict_proba(
            features[positions[held]]
        )
        rest = {int(p): gold[int(p)] for p in positions[train]}
        voter = clone(label_model).fit(matrix, rest)
        label[held] = voter.predict_proba(on_gold.rows(np.flatnonzero(held)))
    covered = on_gold.covered()
    accuracy: dict[float, float] = {}
    likelihood: dict[float, float] = {}
    rows = np.flatnonzero(judged)
    for w in weights:
        proba = combined_proba(end, label, covered, label_weight=w)[rows]
        right = proba[np.arange(rows.size), y[rows]]
        accuracy[float(w)] = float((proba.argmax(axis=1) == y[rows]).mean())
        likelihood[float(w)] = float(np.log(np.clip(right, 1e-12, 1.0)).mean())
    # The log-likelihood decides: accuracy on a few dozen items ties between weights.
    weight = max(likelihood, key=lambda w: (likelihood[w], -w))
    return LabelWeightChoice(weight, accuracy, likelihood, int(judged.sum()))
