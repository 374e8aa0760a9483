"""Label models: many noisy votes per item → one probability per class.

Three, from the simplest:

- :class:`MajorityVote` counts votes.
- :class:`WeightedVote` weighs each function by its accuracy: its agreement with the
  other functions' majority, updated by its votes on gold items.
- :class:`DawidSkene` fits every function's confusion matrix (abstaining included) and
  the class prior by EM (Dawid & Skene 1979). Given gold labels it is *gold-aware*: items
  a person labeled are clamped to their label in every E-step, so the confusions (and
  the accuracy each function is credited with) are calibrated by the human labels instead
  of by the functions' own consensus. Snorkel's label model cannot take gold labels when
  fitting (snorkel #1642).

Every model takes a :class:`LabelMatrix` and gold labels as ``{item position: label}``;
``predict_proba`` returns shape (n_items, n_classes), the class prior on rows no function
voted on (Dawid-Skene's own answer there, since not firing is evidence too); ``predict``
returns class indices, -1 where no function voted or the top classes tie.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator

from labelwise.exceptions import NotFittedError
from labelwise.weak.analysis import gold_indices
from labelwise.weak.matrix import LabelMatrix

__all__ = ["DawidSkene", "LabelModel", "MajorityVote", "WeightedVote"]

#: Accuracies are kept inside (floor, 1 - floor): a function right on every gold item so
#: far must not get an infinite weight.
_ACCURACY_FLOOR = 1e-3


class LabelModel(BaseEstimator, ABC):  # type: ignore[misc]
    """Fit on a label matrix (and optional gold labels), then predict class probabilities.

    A scikit-learn estimator in its parameters (``get_params``, ``clone``), not in its
    ``fit`` signature: it learns from votes, not from a feature matrix and targets.
    """

    classes_: tuple[str, ...]
    class_prior_: NDArray[np.float64]
    #: Rows no function voted on get the class prior; a model of abstentions (Dawid-Skene)
    #: has more to say about them.
    _prior_where_uncovered: ClassVar[bool] = True

    @abstractmethod
    def fit(self, matrix: LabelMatrix, gold: Mapping[int, str] | None = None) -> Self:
        """Learn from ``matrix``; ``gold`` maps item positions to human labels."""

    @abstractmethod
    def _scores(self, matrix: LabelMatrix) -> NDArray[np.float64]:
        """Unnormalised log-probabilities of covered rows, shape (n_items, n_classes)."""

    def _check_fitted(self, matrix: LabelMatrix) -> None:
        if not hasattr(self, "classes_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit first.")
        if matrix.classes != self.classes_:
            raise ValueError(
                f"{type(self).__name__} was fitted on classes {list(self.classes_)[:5]}...; "
                f"this matrix has {list(matrix.classes)[:5]}..."
            )

    def predict_proba(self, matrix: LabelMatrix) -> NDArray[np.float64]:
        """Class probabilities, shape (n_items, n_classes); the prior where nobody voted."""
        self._check_fitted(matrix)
        scores = self._scores(matrix)
        covered = matrix.covered()
        if not self._prior_where_uncovered:
            return _softmax(scores)
        proba = np.tile(self.class_prior_, (matrix.n_items, 1))
        if covered.any():
            proba[covered] = _softmax(scores[covered])
        return proba

    def predict(self, matrix: LabelMatrix) -> NDArray[np.intp]:
        """Class index per item; -1 where no function voted or the top classes tie."""
        proba = self.predict_proba(matrix)
        out = proba.argmax(axis=1).astype(np.intp)
        top = proba.max(axis=1, keepdims=True)
        tied = (np.isclose(proba, top, rtol=0, atol=1e-12)).sum(axis=1) > 1
        covered = matrix.covered()
        out[tied | ~covered] = -1
        return np.asarray(out, dtype=np.intp)


def _softmax(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    top = scores.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0
    weights = np.exp(scores - top)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True))


def _entries(matrix: LabelMatrix) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Every vote as (row, function, class index)."""
    coo = matrix.votes.tocoo()
    return (
        coo.row.astype(np.intp),
        coo.col.astype(np.intp),
        coo.data.astype(np.intp) - 1,
    )


def _rows_sum(
    rows: NDArray[np.intp], n_items: int, values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Sum ``values`` (one row per vote) into the items they belong to: (n_items, k)."""
    gather = sparse.csr_matrix(
        (np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_items, rows.size)
    )
    return np.asarray(gather @ values)


def _prior(gold: NDArray[np.intp], n_classes: int, smoothing: float = 1.0) -> NDArray[np.float64]:
    """Class shares of the gold labels, smoothed; uniform without gold."""
    counts = np.bincount(gold[gold >= 0], minlength=n_classes).astype(np.float64) + smoothing
    return np.asarray(counts / counts.sum(), dtype=np.float64)


class MajorityVote(LabelModel):
    """Each vote counts once; ties split the probability equally.

    The prior (rows nobody voted on) is the gold labels' class shares, Laplace-smoothed,
    or uniform without gold.
    """

    def fit(self, matrix: LabelMatrix, gold: Mapping[int, str] | None = None) -> Self:
        self.classes_ = matrix.classes
        self.class_prior_ = _prior(gold_indices(gold, matrix), len(matrix.classes))
        return self

    def _scores(self, matrix: LabelMatrix) -> NDArray[np.float64]:
        counts = matrix.class_counts()
        with np.errstate(divide="ignore"):
            return np.log(counts)


class WeightedVote(LabelModel):
    """Votes weighted by each function's accuracy ``a``: ``log((K - 1) a / (1 - a))``.

    That weight is optimal when a function's errors spread evenly over the other ``K - 1``
    classes. A function's accuracy starts from its agreement with the clear majority of
    the other functions where they voted (``(agreed + 1) / (judged + 2)``) and is updated
    by its gold votes, the agreement counting as ``prior_strength`` of them:
    ``(correct + s * agreement) / (gold votes + s)``. Scores add the log class prior (the
    gold labels' shares, Laplace-smoothed).

    Parameters
    ----------
    prior_strength : float > 0, default 4
        Gold votes the unsupervised agreement is worth.

    Attributes
    ----------
    accuracies_ : ndarray of shape (n_functions,)
    weights_ : ndarray of shape (n_functions,)
    """

    def __init__(self, *, prior_strength: float = 4.0) -> None:
        self.prior_strength = prior_strength

    def fit(self, matrix: LabelMatrix, gold: Mapping[int, str] | None = None) -> Self:
        if not self.prior_strength > 0:
            raise ValueError(f"WeightedVote needs prior_strength > 0. Got {self.prior_strength!r}.")
        k = len(matrix.classes)
        truth = gold_indices(gold, matrix)
        rows, cols, labels = _entries(matrix)
        m = matrix.n_functions
        on_gold = truth[rows] >= 0
        gold_votes = np.bincount(cols[on_gold], minlength=m)
        gold_right = np.bincount(cols[on_gold & (labels == truth[rows])], minlength=m)
        # Majority of the *other* functions on each vote's item: the item's counts
        # without this vote.
        counts = matrix.class_counts()
        others = counts[rows] - np.eye(k)[labels]
        top = others.max(axis=1, keepdims=True)
        # Only a clear majority of the others judges a vote (a tie says nothing).
        has_others = (top[:, 0] > 0) & ((others == top).sum(axis=1) == 1)
        agrees = has_others & (others.argmax(axis=1) == labels)
        peer_votes = np.bincount(cols[has_others], minlength=m)
        peer_right = np.bincount(cols[agrees], minlength=m)
        # The agreement with the others is a prior worth ``prior_strength`` gold votes:
        # a function's first few gold votes (on actively chosen, hard items) move it,
        # they do not replace it.
        peer = (peer_right + 1.0) / (peer_votes + 2.0)
        s = self.prior_strength
        accuracy = (gold_right + s * peer) / (gold_votes + s)
        self.accuracies_ = np.clip(accuracy, _ACCURACY_FLOOR, 1 - _ACCURACY_FLOOR)
        self.weights_ = np.log((k - 1) * self.accuracies_ / (1 - self.accuracies_))
        self.classes_ = matrix.classes
        self.class_prior_ = _prior(truth, k)
        return self

    def _scores(self, matrix: LabelMatrix) -> NDArray[np.float64]:
        if matrix.n_functions != self.weights_.size:
            raise ValueError(
                f"WeightedVote was fitted on {self.weights_.size} functions; "
                f"this matrix has {matrix.n_functions}."
            )
        rows, cols, labels = _entries(matrix)
        votes = np.eye(len(self.classes_))[labels] * self.weights_[cols][:, None]
        return _rows_sum(rows, matrix.n_items, votes) + np.log(self.class_prior_)


class DawidSkene(LabelModel):
    """Per-function confusion matrices, abstention included, and a class prior, fitted by EM.

    Function ``j`` has ``confusions_[j, k, l]`` = P(it votes ``l`` | the item is ``k``),
    where ``l`` runs over the classes and, last, abstaining. Abstentions must be modelled:
    most rules vote one label or nothing (all 68 of TREC's do), and such a rule votes its
    label with probability 1 *whenever it votes*, so what tells the classes apart is how
    often it fires on each. (Left out, EM on TREC's rules is right on 20% of the covered
    questions; majority vote on 48%.)

    EM starts from the majority vote, alternates the M-step (prior and confusions from the
    current posteriors, plus ``smoothing`` pseudo-counts per cell and as many again on the
    diagonal) and the E-step (posteriors from them), and stops when no posterior moves by
    more than ``tol``. Every item takes part, those no function voted on too (that nothing
    fired is evidence); gold items stay clamped to their label.

    Parameters
    ----------
    max_iter : int, default 100
    tol : float, default 1e-6
    smoothing : float, default 1.0
        Dirichlet pseudo-counts; 0 gives the textbook maximum-likelihood updates.

    Attributes
    ----------
    class_prior_ : ndarray of shape (n_classes,)
    confusions_ : ndarray of shape (n_functions, n_classes, n_classes + 1)
    accuracies_ : ndarray of shape (n_functions,)
        The mean posterior probability of each function's votes being right: its accuracy
        as the fitted model sees it (on gold items, right means the gold label); NaN for a
        function that never voted.
    n_iter_ : int
    """

    _prior_where_uncovered = False

    def __init__(self, *, max_iter: int = 100, tol: float = 1e-6, smoothing: float = 1.0) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing

    def fit(self, matrix: LabelMatrix, gold: Mapping[int, str] | None = None) -> Self:
        if self.smoothing < 0 or self.max_iter < 1:
            raise ValueError(
                f"DawidSkene needs smoothing >= 0 and max_iter >= 1. Got {self.smoothing!r}, "
                f"{self.max_iter!r}."
            )
        k = len(matrix.classes)
        truth = gold_indices(gold, matrix)
        clamped = truth >= 0
        rows, cols, labels = _entries(matrix)
        self.classes_ = matrix.classes
        # Start from the majority vote (uniform where nothing voted); gold from its labels.
        counts = matrix.class_counts()
        posterior = np.full((matrix.n_items, k), 1.0 / k)
        voted = counts.sum(axis=1) > 0
        posterior[voted] = counts[voted] / counts[voted].sum(axis=1, keepdims=True)
        posterior[clamped] = np.eye(k)[truth[clamped]]
        m = matrix.n_functions
        # Votes grouped by (function, voted class): confusions are sums of posteriors.
        group = sparse.csr_matrix(
            (np.ones(rows.size), (cols * k + labels, np.arange(rows.size))),
            shape=(m * k, rows.size),
        )
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            self.class_prior_, self.confusions_ = self._m_step(posterior, group, rows, m, k)
            updated = _softmax(self._log_likelihood(rows, cols, labels, matrix.n_items))
            updated[clamped] = np.eye(k)[truth[clamped]]
            moved = float(np.abs(updated - posterior).max()) if updated.size else 0.0
            posterior = updated
            if moved <= self.tol:
                break
        right = posterior[rows, labels]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.accuracies_ = np.bincount(cols, weights=right, minlength=m) / np.bincount(
                cols, minlength=m
            )
        return self

    def _m_step(
        self,
        posterior: NDArray[np.float64],
        group: sparse.csr_matrix,
        rows: NDArray[np.intp],
        m: int,
        k: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        s = self.smoothing
        mass = posterior.sum(axis=0)  # (k,): expected items of each class
        prior = (mass + s) / (mass + s).sum()
        # fired[j, l, c] = expected items of class c that function j voted l on.
        fired = np.asarray(group @ posterior[rows]).reshape(m, k, k).transpose(0, 2, 1)
        abstained = np.clip(mass[None, :] - fired.sum(axis=2), 0.0, None)  # (m, k)
        cells = np.concatenate([fired, abstained[:, :, None]], axis=2)
        cells += s
        cells[:, np.arange(k), np.arange(k)] += s
        totals = cells.sum(axis=2, keepdims=True)
        confusions = np.divide(
            cells, totals, out=np.full_like(cells, 1.0 / (k + 1)), where=totals > 0
        )
        return prior, confusions

    def _log_likelihood(
        self,
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        labels: NDArray[np.intp],
        n_items: int,
    ) -> NDArray[np.float64]:
        """log P(item's votes, class) for every item and class: (n_items, n_classes).

        Every function abstains on an item unless it voted, so the sum starts from all of
        them abstaining and swaps in each vote. A floor keeps log(0) finite (smoothing 0).
        """
        log_conf = np.log(np.maximum(self.confusions_, 1e-300))
        abstain = log_conf[:, :, -1]  # (m, k)
        swaps = log_conf[cols, :, labels] - abstain[cols]
        return np.asarray(
            _rows_sum(rows, n_items, swaps)
            + abstain.sum(axis=0)[None, :]
            + np.log(self.class_prior_)[None, :],
            dtype=np.float64,
        )

    def _scores(self, matrix: LabelMatrix) -> NDArray[np.float64]:
        if matrix.n_functions != self.confusions_.shape[0]:
            raise ValueError(
                f"DawidSkene was fitted on {self.confusions_.shape[0]} functions; "
                f"this matrix has {matrix.n_functions}."
            )
        rows, cols, labels = _entries(matrix)
        return self._log_likelihood(rows, cols, labels, matrix.n_items)
