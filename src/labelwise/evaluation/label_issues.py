"""Suspected label errors: out-of-fold probabilities over the human labels, ranked by
cleanlab's confident learning.

A label is suspect when a model that never saw it gives it a low probability. Every
label gets such a probability from a K-fold fit (stratified: each class's labels are
spread over the folds, so a class with two labels is still learnt from the other one);
cleanlab's ``find_label_issues`` then picks the labels whose given class disagrees with
the estimated joint distribution of given and true classes, and ranks them by
self-confidence (the out-of-fold probability of the given label). The relabel queue of
the service and the ``label_errors`` production simulation both call
:func:`find_label_issues` here, so the simulation measures what the service serves.

Classes with a single label cannot be judged (no model can learn them without that very
label): their labels are always trained on and never suspected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from labelwise._typing import IndexArray, ProbaArray, RandomStateLike
from labelwise._validation import check_random_state
from labelwise.exceptions import MissingDependencyError

#: Folds of the out-of-fold fit (cleanlab's default cross-validation is 5-fold too).
DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class LabelIssues:
    """Labels ranked by how likely they are wrong.

    Attributes
    ----------
    ranking : ndarray of shape (n_judged,), int
        Positions into the given labels, most suspicious first: cleanlab's issues (ranked
        by self-confidence) first, then every other judged label by suspicion.
    scores : ndarray of shape (n_judged,), float
        Suspicion of each ranked label, ``1 - p(given label)`` out of fold, in [0, 1].
    suggested : ndarray of shape (n_judged,), object
        The most probable other class out of fold (what a reviewer is offered).
    n_issues : int
        How many of the first ``ranking`` entries cleanlab flags as label issues.
    pred_probs : ndarray of shape (n_labels, n_classes), float
        Out-of-fold probabilities of every label, columns ordered as ``classes``; rows of
        labels that were not judged are zero.
    classes : ndarray of shape (n_classes,), object
        The judged classes (two labels or more), sorted.
    n_folds : int
        Folds actually used.
    """

    ranking: IndexArray
    scores: NDArray[np.float64]
    suggested: NDArray[Any]
    n_issues: int
    pred_probs: ProbaArray
    classes: NDArray[Any]
    n_folds: int

    @property
    def issues(self) -> IndexArray:
        """Positions cleanlab flags as label issues, most suspicious first."""
        return self.ranking[: self.n_issues]

    def suspicion(self, n_labels: int) -> NDArray[np.float64]:
        """Suspicion of every label as an array of shape (``n_labels``,): issues score in
        (1, 2], other judged labels in [0, 1], unjudged labels -1 (an order, for AP)."""
        out = np.full(n_labels, -1.0)
        out[self.ranking] = self.scores
        out[self.issues] += 1.0
        return out


def stratified_folds(
    labels: Sequence[Any] | NDArray[Any], n_folds: int, random_state: RandomStateLike = None
) -> NDArray[np.intp]:
    """A fold number for each label: each class's labels shuffled and dealt round-robin.

    Unlike scikit-learn's ``StratifiedKFold`` this accepts classes smaller than
    ``n_folds`` (a class of c labels spans c folds, so each of its labels is held out
    while the others train). Labels of single-label classes get fold ``-1``: never held
    out.

    Parameters
    ----------
    labels : sequence of shape (n_labels,)
    n_folds : int, >= 2
    random_state : int, Generator or None

    Returns
    -------
    ndarray of shape (n_labels,), int
    """
    if not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ValueError(f"n_folds must be an int >= 2. Got {n_folds!r} instead.")
    rng = check_random_state(random_state)
    y = np.asarray(labels, dtype=object)
    folds = np.full(y.shape[0], -1, dtype=np.intp)
    start = 0
    for cls in sorted(set(y.tolist()), key=str):
        members = np.flatnonzero(y == cls)
        if members.size < 2:
            continue
        members = rng.permutation(members)
        # A running offset spreads small classes over different folds, so no fold is
        # left without held-out labels when many classes are smaller than n_folds.
        folds[members] = (start + np.arange(members.size)) % n_folds
        start = (start + members.size) % n_folds
    return folds


def out_of_fold_proba(
    learner: Any,
    X: Any,
    labels: Sequence[Any] | NDArray[Any],
    *,
    n_folds: int = DEFAULT_FOLDS,
    random_state: RandomStateLike = None,
) -> tuple[ProbaArray, NDArray[Any], int]:
    """Out-of-fold class probabilities of every judged label.

    Parameters
    ----------
    learner : classifier
        Anything with ``fit(X, y)`` and ``predict_proba(X)`` whose columns follow
        ``classes_`` (a :class:`~labelwise.learners.ProbabilisticClassifier`, any
        scikit-learn classifier); cloned for every fold.
    X : array or sparse matrix of shape (n_labels, n_features)
        Feature rows of the labeled items.
    labels : sequence of shape (n_labels,)
        Their given labels.
    n_folds : int, default 5
        Upper bound on folds; fewer when fewer labels can be judged.
    random_state : int, Generator or None
        Seeds the fold assignment.

    Returns
    -------
    pred_probs : ndarray of shape (n_labels, n_classes)
        Rows sum to 1 over the judged ``classes`` (zero rows for unjudged labels).
    classes : ndarray of shape (n_classes,), object
        Classes with two labels or more, sorted.
    n_folds : int
        Folds used.
    """
    y = np.asarray(labels, dtype=object)
    n_labels = y.shape[0]
    if X.shape[0] != n_labels:
        raise ValueError(
            f"X has {X.shape[0]} rows and labels has {n_labels} entries; they must match."
        )
    counts: dict[Any, int] = {}
    for value in y.tolist():
        counts[value] = counts.get(value, 0) + 1
    classes = np.asarray(sorted((c for c, n in counts.items() if n >= 2), key=str), dtype=object)
    pred_probs = np.zeros((n_labels, classes.size))
    if classes.size < 2:
        return pred_probs, classes, 0
    n_judged = sum(counts[c] for c in classes)
    k = int(min(n_folds, n_judged))
    folds = stratified_folds(y, k, random_state)
    column = {c: j for j, c in enumerate(classes.tolist())}
    for fold in range(k):
        held = np.flatnonzero(folds == fold)
        if held.size == 0:
            continue
        train = np.flatnonzero(folds != fold)
        model = clone(learner).fit(X[train], y[train])
        proba = np.asarray(model.predict_proba(X[held]), dtype=np.float64)
        for j, cls in enumerate(np.asarray(model.classes_, dtype=object).tolist()):
            if cls in column:
                pred_probs[held, column[cls]] = proba[:, j]
    judged = folds >= 0
    totals = pred_probs[judged].sum(axis=1, keepdims=True)
    uniform = np.full((1, classes.size), 1.0 / classes.size)
    # A fold model that put all its mass on single-label classes: no opinion (uniform).
    pred_probs[judged] = np.where(
        totals > 0, pred_probs[judged] / np.where(totals > 0, totals, 1.0), uniform
    )
    return pred_probs, classes, k


def find_label_issues(
    learner: Any,
    X: Any,
    labels: Sequence[Any] | NDArray[Any],
    *,
    n_folds: int = DEFAULT_FOLDS,
    random_state: RandomStateLike = None,
) -> LabelIssues:
    """Rank human labels by how likely they are wrong (confident learning).

    Parameters
    ----------
    learner : classifier
        The project's learner (``fit`` / ``predict_proba`` / ``classes_``), cloned per fold.
    X : array or sparse matrix of shape (n_labels, n_features)
    labels : sequence of shape (n_labels,)
        The given labels, one per row of ``X`` (one label per item: merge annotators first).
    n_folds : int, default 5
    random_state : int, Generator or None
        Seeds the folds; the result is deterministic for a fixed seed and learner.

    Returns
    -------
    LabelIssues
        Empty when fewer than two classes have two labels each.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(-3, 1, (30, 2)), rng.normal(3, 1, (30, 2))]
    >>> y = np.array(["a"] * 30 + ["b"] * 30, dtype=object)
    >>> y[0] = "b"  # a planted flip
    >>> issues = find_label_issues(LogisticRegression(), X, y, random_state=0)
    >>> int(issues.ranking[0]), str(issues.suggested[0])
    (0, 'a')
    """
    y = np.asarray(labels, dtype=object)
    pred_probs, classes, k = out_of_fold_proba(
        learner, X, y, n_folds=n_folds, random_state=random_state
    )
    column = {c: j for j, c in enumerate(classes.tolist())}
    judged = np.asarray([value in column for value in y.tolist()], dtype=bool)
    positions = np.flatnonzero(judged).astype(np.intp)
    if classes.size < 2 or positions.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return LabelIssues(empty, np.zeros(0), np.zeros(0, dtype=object), 0, pred_probs, classes, k)
    given = np.asarray([column[v] for v in y[positions].tolist()], dtype=np.intp)
    probs = pred_probs[positions]
    self_confidence = probs[np.arange(positions.size), given]
    flagged = _cleanlab_issues(given, probs)  # indices into ``positions``, ranked
    rest = np.setdiff1d(np.arange(positions.size), flagged)
    # Least self-confident first; ties broken by position, so the order is deterministic.
    rest = rest[np.lexsort((rest, self_confidence[rest]))]
    order = np.concatenate([flagged, rest]).astype(np.intp)
    others = probs.copy()
    others[np.arange(positions.size), given] = -1.0
    suggested = classes[np.argmax(others, axis=1)]
    return LabelIssues(
        ranking=positions[order],
        scores=1.0 - self_confidence[order],
        suggested=suggested[order],
        n_issues=int(flagged.size),
        pred_probs=pred_probs,
        classes=classes,
        n_folds=k,
    )


def find_multilabel_issues(
    learner: Any,
    X: Any,
    labels: Sequence[Sequence[Any]],
    *,
    n_folds: int = DEFAULT_FOLDS,
    random_state: RandomStateLike = None,
) -> LabelIssues:
    """Rank multi-label annotations (sets of classes) by how likely they are wrong.

    The multi-label counterpart of :func:`find_label_issues`: out-of-fold per-class
    probabilities from shuffled folds, cleanlab's ``find_label_issues(multi_label=True)``
    for the issues, and one minus cleanlab's multi-label quality score (the given set's
    per-class self-confidence, worst classes weighted most) as the suspicion (both from
    ``cleanlab.multilabel_classification``).

    Parameters
    ----------
    learner : multi-label classifier
        ``fit(X, label_sets)`` and ``predict_proba(X)`` with independent per-class
        columns following ``classes_`` (e.g. ``ProbabilisticClassifier(multilabel=True)``);
        cloned per fold.
    X : array or sparse matrix of shape (n_labels, n_features)
    labels : sequence of shape (n_labels,) of label sets
        The given classes of each row (an empty set: none of them).
    n_folds : int, default 5
    random_state : int, Generator or None

    Returns
    -------
    LabelIssues
        ``suggested`` holds sorted lists: the classes out of fold probability >= 0.5.
        Classes given fewer than twice are not judged (no fold could learn them): they
        are left out of every set before judging. Empty when fewer than two classes or
        four rows can be judged.
    """
    sets = [sorted({str(c) for c in row}) for row in labels]
    n_labels = len(sets)
    if X.shape[0] != n_labels:
        raise ValueError(
            f"X has {X.shape[0]} rows and labels has {n_labels} entries; they must match."
        )
    counts: dict[str, int] = {}
    for row in sets:
        for c in row:
            counts[c] = counts.get(c, 0) + 1
    classes = np.asarray(sorted(c for c, n in counts.items() if n >= 2), dtype=object)
    column = {c: j for j, c in enumerate(classes.tolist())}
    pred_probs = np.zeros((n_labels, classes.size))
    empty = np.zeros(0, dtype=np.intp)
    if classes.size < 2 or n_labels < 4:
        return LabelIssues(empty, np.zeros(0), np.zeros(0, dtype=object), 0, pred_probs, classes, 0)
    k = int(min(n_folds, n_labels))
    rng = check_random_state(random_state)
    folds = rng.permutation(n_labels) % k
    for fold in range(k):
        held, train = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        model = clone(learner).fit(X[train], [sets[i] for i in train])
        proba = np.asarray(model.predict_proba(X[held]), dtype=np.float64)
        for j, cls in enumerate(np.asarray(model.classes_, dtype=object).tolist()):
            if str(cls) in column:
                pred_probs[held, column[str(cls)]] = proba[:, j]
    given = [[column[c] for c in row if c in column] for row in sets]
    flagged, quality = _cleanlab_multilabel(given, pred_probs)
    rest = np.setdiff1d(np.arange(n_labels), flagged)
    rest = rest[np.lexsort((rest, quality[rest]))]  # least quality first, then position
    order = np.concatenate([flagged, rest]).astype(np.intp)
    suggested = np.empty(n_labels, dtype=object)
    for i in range(n_labels):
        suggested[i] = classes[pred_probs[i] >= 0.5].tolist()
    return LabelIssues(
        ranking=order,
        scores=1.0 - quality[order],
        suggested=suggested[order],
        n_issues=int(flagged.size),
        pred_probs=pred_probs,
        classes=classes,
        n_folds=k,
    )


def _cleanlab_multilabel(
    labels: list[list[int]], pred_probs: ProbaArray
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """cleanlab's multi-label issues ranked by self-confidence (indices into ``labels``)
    and the quality score of every given set, in [0, 1]."""
    try:
        from cleanlab.multilabel_classification.filter import find_label_issues as find
        from cleanlab.multilabel_classification.rank import get_label_quality_scores
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("pip install cleanlab") from exc
    ranked = find(
        labels=labels,
        pred_probs=pred_probs,
        return_indices_ranked_by="self_confidence",
        n_jobs=1,  # no process pool: the worker shares its machine with the server
    )
    quality = get_label_quality_scores(labels, pred_probs)
    return np.asarray(ranked, dtype=np.intp), np.asarray(quality, dtype=np.float64)


def _cleanlab_issues(labels: NDArray[np.intp], pred_probs: ProbaArray) -> NDArray[np.intp]:
    """cleanlab's label issues ranked by self-confidence (indices into ``labels``)."""
    try:
        from cleanlab.filter import find_label_issues as cleanlab_find
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("pip install cleanlab") from exc
    if np.unique(labels).size < 2:
        return np.zeros(0, dtype=np.intp)
    ranked = cleanlab_find(
        labels=labels,
        pred_probs=pred_probs,
        return_indices_ranked_by="self_confidence",
        n_jobs=1,  # no process pool: the worker shares its machine with the server
    )
    return np.asarray(ranked, dtype=np.intp)
