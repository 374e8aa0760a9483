"""A bagged committee of one learner: the members behind query-by-committee and BALD."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import _safe_indexing

from labelwise._typing import IndexArray, ProbaArray, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.exceptions import NotFittedError


class Committee(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """``n_members`` clones of ``learner``, each fit on its own bootstrap of the labeled set.

    The members' disagreement is what query-by-committee and BALD measure
    (:mod:`labelwise.strategies.committee`); :meth:`member_proba` exposes it.

    Single-label ``y`` is resampled by a *stratified* bootstrap: within each class present
    in ``y``, as many items as the class holds are drawn with replacement from that class.
    Every member therefore sees every class of ``y`` with its original count (a class with
    one example keeps that example), so no member is ever fit on a single-class sample
    unless ``y`` itself holds one class, and all members agree on ``classes_`` even when
    ``learner`` is a plain scikit-learn classifier. Multi-label ``y`` (an indicator matrix
    or label lists, for a learner with ``multilabel`` true) is resampled by a plain
    bootstrap over rows; a label may then be constant in a member's sample, which
    :class:`~labelwise.learners.ProbabilisticClassifier` handles.

    Every parameter of ``learner`` named ``random_state`` (nested ones included, e.g.
    ``estimator__random_state``) is set per member to a seed drawn from ``random_state``,
    as scikit-learn's ``BaggingClassifier`` does, so members differ and the committee is
    reproducible.

    Parameters
    ----------
    learner : scikit-learn classifier
        Cloned once per member. Required; usually a ``ProbabilisticClassifier`` with the
        full label list, so every member's probabilities have the same columns.
    n_members : int, default 5
        Committee size, >= 1. One member means no disagreement: every committee measure
        except consensus entropy is then 0.
    random_state : int, numpy Generator or None
        Seeds the bootstraps and the members' own seeds.

    Attributes
    ----------
    members_ : list of fitted learners, length n_members
    classes_ : ndarray of shape (n_classes,)
        The first member's ``classes_``; every member has the same.
    multilabel : bool
        The learner's ``multilabel`` flag (False when it has none).

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> X = np.array([[0.0], [0.2], [2.0], [2.2], [4.0]])
    >>> learner = ProbabilisticClassifier(classes=["a", "b", "c"])
    >>> committee = Committee(learner, n_members=3, random_state=0).fit(X, ["a", "a", "b", "b", "c"])
    >>> committee.member_proba(X).shape
    (3, 5, 3)
    >>> committee.predict_proba(X).shape
    (5, 3)
    """

    def __init__(
        self, learner: Any = None, *, n_members: int = 5, random_state: RandomStateLike = None
    ) -> None:
        self.learner = learner
        self.n_members = n_members
        self.random_state = random_state

    @property
    def multilabel(self) -> bool:
        """True when ``learner`` is multi-label (its ``multilabel`` attribute)."""
        return bool(getattr(self.learner, "multilabel", False))

    def fit(self, X: Any, y: Any, sample_weight: NDArray[np.float64] | None = None) -> Self:
        """Fit every member on its own bootstrap of ``X`` (n_samples, n_features) and ``y``.

        ``y`` holds one label per row, or (multi-label) an indicator matrix of shape
        (n_samples, n_classes) or label lists. ``sample_weight`` (n_samples,) follows the
        resampled rows.
        """
        if self.learner is None:
            raise ValueError(
                "Committee needs a learner to clone, e.g. "
                "Committee(ProbabilisticClassifier(classes=[...])). Got learner=None."
            )
        n_members = check_positive_int(self.n_members, "n_members", "Committee")
        if y is None:
            raise ValueError("Committee requires y to be passed, but the target y is None.")
        n_samples = _n_rows(X)
        if n_samples == 0:
            raise ValueError("Cannot fit a Committee on zero labeled samples.")
        if _n_rows(y) != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {_n_rows(y)}.")
        if sample_weight is not None and _n_rows(sample_weight) != n_samples:
            raise ValueError(
                f"X has {n_samples} rows but sample_weight has {_n_rows(sample_weight)}."
            )
        X, y = _indexable(X), _indexable(y)
        sample_weight = None if sample_weight is None else _indexable(sample_weight)
        rng = check_random_state(self.random_state)
        by_class = None if self.multilabel else _rows_by_class(y)
        root = np.random.SeedSequence(rng.integers(np.iinfo(np.int64).max, size=2).tolist())
        seed_params = [
            name
            for name in clone(self.learner).get_params(deep=True)
            if name.endswith("random_state")
        ]
        members: list[Any] = []
        for child in root.spawn(n_members):
            member_rng = np.random.default_rng(child)
            if by_class is None:
                rows = member_rng.integers(n_samples, size=n_samples).astype(np.intp)
            else:
                rows = _stratified_bootstrap(*by_class, member_rng)
            member = clone(self.learner)
            if seed_params:
                seeds = member_rng.integers(np.iinfo(np.int32).max, size=len(seed_params))
                member.set_params(**{k: int(s) for k, s in zip(seed_params, seeds, strict=True)})
            kwargs = {}
            if sample_weight is not None:
                kwargs["sample_weight"] = _safe_indexing(sample_weight, rows)
            members.append(member.fit(_safe_indexing(X, rows), _safe_indexing(y, rows), **kwargs))
        classes = shared_classes(members, "Committee", "give the learner a fixed label list")
        self.members_, self.classes_ = members, classes
        return self

    def member_proba(self, X: Any) -> NDArray[np.float64]:
        """Every member's probabilities, shape (n_members, n_samples, n_classes)."""
        members = self._fitted_members()
        return np.stack([np.asarray(m.predict_proba(X), dtype=np.float64) for m in members])

    def predict_proba(self, X: Any) -> ProbaArray:
        """The members' mean probabilities (the consensus), shape (n_samples, n_classes)."""
        members = self._fitted_members()
        # A running sum keeps one member's output alive at a time, not all n_members.
        total = np.asarray(members[0].predict_proba(X), dtype=np.float64).copy()
        for member in members[1:]:
            total += np.asarray(member.predict_proba(X), dtype=np.float64)
        return total / len(members)

    def predict(self, X: Any) -> NDArray[Any]:
        """Labels (n_samples,) by consensus, or an indicator matrix if multilabel (p >= 0.5)."""
        return consensus_labels(self.predict_proba(X), self.classes_, multilabel=self.multilabel)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Rows are resampled with sklearn's _safe_indexing, so sparse X (TF-IDF) reaches
        # the members unchanged; whether they accept it is the learner's business.
        tags.input_tags.sparse = True
        return tags

    def _fitted_members(self) -> list[Any]:
        if not hasattr(self, "members_"):
            raise NotFittedError("This Committee is not fitted yet; call fit(X, y) first.")
        members: list[Any] = self.members_
        return members


def shared_classes(members: list[Any], owner: str, hint: str) -> NDArray[Any]:
    """The fitted members' common ``classes_``; a member with others is named, with
    ``hint`` (what to do about it)."""
    classes = np.asarray(members[0].classes_)
    for i, member in enumerate(members[1:], start=1):
        other = np.asarray(member.classes_)
        if other.shape != classes.shape or not (other == classes).all():
            raise ValueError(
                f"{owner} member {i} has classes {other.tolist()[:10]} but member 0 has "
                f"{classes.tolist()[:10]}; {hint}."
            )
    return classes


def consensus_labels(proba: ProbaArray, classes: NDArray[Any], *, multilabel: bool) -> NDArray[Any]:
    """Labels (n_samples,) from consensus probabilities (n_samples, n_classes), or an
    indicator matrix if ``multilabel`` (p >= 0.5)."""
    if multilabel:
        return (proba >= 0.5).astype(np.int8)
    return np.asarray(classes[np.argmax(proba, axis=1)])


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(np.asarray(X, dtype=object))


def _indexable(data: Any) -> Any:
    """``data`` in a form ``_safe_indexing`` can take rows of, otherwise unchanged."""
    if sp.issparse(data):
        return data.tocsr()  # COO and DIA cannot be indexed by row
    if hasattr(data, "__array__") and not hasattr(data, "iloc"):
        return np.asarray(data)
    return data


def _rows_by_class(y: Any) -> tuple[IndexArray, IndexArray, IndexArray]:
    """Row positions grouped by class: (rows sorted by class, class of each, group starts)."""
    labels = np.asarray(y, dtype=object)
    if labels.ndim != 1:
        raise ValueError(
            f"y must be 1-d for a single-label learner. Got shape {labels.shape}; "
            "set multilabel=True on the learner for indicator matrices or label lists."
        )
    # Codes by first appearance: labels need only be hashable, not orderable.
    lookup: dict[Any, int] = {}
    codes = np.fromiter(
        (lookup.setdefault(v, len(lookup)) for v in labels.tolist()),
        dtype=np.intp,
        count=labels.size,
    )
    order = np.argsort(codes, kind="stable").astype(np.intp)
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return order, codes[order], starts


def _stratified_bootstrap(
    order: IndexArray, sorted_codes: IndexArray, starts: IndexArray, rng: np.random.Generator
) -> IndexArray:
    """One draw with replacement per row, each from the rows of that row's own class."""
    counts = np.diff(np.append(starts, order.size))[sorted_codes]
    offsets = rng.integers(0, counts).astype(np.intp)
    return np.asarray(order[starts[sorted_codes] + offsets], dtype=np.intp)
