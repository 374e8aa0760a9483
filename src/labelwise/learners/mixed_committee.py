"""A committee of *different* learners, each reading its own feature columns.

:class:`~labelwise.learners.Committee` bags one learner: its members differ only in the
bootstrap they saw, so they share that learner's blind spots. Labels chosen by one model
do not always help another (Lowell et al. 2019); a committee whose members are different
models (a linear model on sentence embeddings, naive Bayes on word counts, nearest
neighbours) disagrees where *any* of them is unsure, which is the idea behind using it as
the chooser when the labels will later train some other model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from labelwise._typing import ProbaArray
from labelwise.exceptions import NotFittedError
from labelwise.learners.committee import consensus_labels, shared_classes

#: One member: a learner and the feature columns it reads (None: every column).
Member = tuple[Any, slice | None]


class MixedCommittee(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Different learners fit on the whole labeled set, each on its own columns.

    Every member is cloned and fit on ``X[:, columns]`` with the same ``y``; none is
    resampled, because the members differ by construction. ``member_proba`` stacks their
    probabilities for the committee strategies (:mod:`labelwise.strategies.committee`);
    ``predict_proba`` is their mean, so margin or entropy sampling can rank by the
    consensus too.

    Parameters
    ----------
    members : sequence of (learner, columns)
        ``learner`` a scikit-learn classifier with ``predict_proba``, usually a
        :class:`~labelwise.learners.ProbabilisticClassifier` with the full label list so
        every member's probabilities have the same columns; ``columns`` a slice of the
        feature columns it reads (e.g. the sentence block of ``minilm+tfidf``), or None
        for all of them. At least two members.

    Attributes
    ----------
    members_ : list of fitted learners, in the order given
    classes_ : ndarray of shape (n_classes,)
        The first member's classes; every member must have the same.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.naive_bayes import MultinomialNB
    >>> from labelwise.learners import MixedCommittee, ProbabilisticClassifier
    >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> committee = MixedCommittee([
    ...     (ProbabilisticClassifier(classes=["a", "b"]), None),
    ...     (ProbabilisticClassifier(MultinomialNB(), classes=["a", "b"]), slice(1, 2)),
    ... ]).fit(X, ["a", "a", "b", "b"])
    >>> committee.member_proba(X).shape
    (2, 4, 2)
    """

    def __init__(self, members: Sequence[Member] = ()) -> None:
        self.members = members

    @property
    def multilabel(self) -> bool:
        """True when the first member is multi-label (its ``multilabel`` attribute)."""
        members = list(self.members)
        return bool(members and getattr(members[0][0], "multilabel", False))

    def _checked_members(self) -> list[Member]:
        members = list(self.members)
        if len(members) < 2:
            raise ValueError(
                "MixedCommittee needs at least two members, each a (learner, columns) pair. "
                f"Got {len(members)}."
            )
        for i, member in enumerate(members):
            if not (isinstance(member, tuple) and len(member) == 2):
                raise ValueError(
                    f"MixedCommittee member {i} must be a (learner, columns) pair. Got {member!r}."
                )
            learner, columns = member
            if not callable(getattr(learner, "predict_proba", None)):
                raise ValueError(
                    f"MixedCommittee member {i} ({type(learner).__name__}) has no predict_proba; "
                    "wrap it in labelwise.learners.ProbabilisticClassifier."
                )
            if columns is not None and not isinstance(columns, slice):
                raise ValueError(
                    f"MixedCommittee member {i}'s columns must be a slice or None. Got {columns!r}."
                )
        return members

    def fit(self, X: Any, y: Any, sample_weight: NDArray[np.float64] | None = None) -> Self:
        """Fit every member on its columns of ``X`` (n_samples, n_features) and ``y``."""
        fitted = []
        for learner, columns in self._checked_members():
            kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
            fitted.append(clone(learner).fit(_columns(X, columns), y, **kwargs))
        classes = shared_classes(fitted, "MixedCommittee", "give every learner the same label list")
        self.members_, self.classes_ = fitted, classes
        return self

    def member_proba(self, X: Any) -> NDArray[np.float64]:
        """Every member's probabilities, shape (n_members, n_samples, n_classes)."""
        return np.stack(
            [
                np.asarray(member.predict_proba(_columns(X, columns)), dtype=np.float64)
                for member, (_, columns) in zip(self._fitted(), self.members, strict=True)
            ]
        )

    def predict_proba(self, X: Any) -> ProbaArray:
        """The members' mean probabilities, shape (n_samples, n_classes)."""
        return np.asarray(self.member_proba(X).mean(axis=0), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        """Labels (n_samples,) by the mean probabilities, or an indicator matrix if
        multi-label (p >= 0.5)."""
        return consensus_labels(self.predict_proba(X), self.classes_, multilabel=self.multilabel)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # TF-IDF columns reach the members that read them
        return tags

    def _fitted(self) -> list[Any]:
        if not hasattr(self, "members_"):
            raise NotFittedError("This MixedCommittee is not fitted yet; call fit(X, y) first.")
        members: list[Any] = self.members_
        return members


def _columns(X: Any, columns: slice | None) -> Any:
    return X if columns is None else X[:, columns]
