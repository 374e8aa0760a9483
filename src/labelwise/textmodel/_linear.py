"""A fitted logistic-regression learner as arrays, and back, with the same probabilities.

The learner is rebuilt as the very objects the retrain fitted (a
:class:`~labelwise.learners.ProbabilisticClassifier`, or a
:class:`~labelwise.learners.Committee` of them, over scikit-learn ``LogisticRegression``
models holding the saved coefficients), so ``predict_proba`` runs the same code on the
same numbers and returns the same probabilities, bit for bit: a softmax over the seen
classes (one logistic for two), scattered into the full label list; one logistic per
label for multi-label; the members' mean for a committee.

Arrays, per member ``m`` (``classifier.<m>.*``):

- single-label: ``columns`` (the label indices the member saw, rising), and unless it
  saw one class only, ``coef`` (1 or n_seen rows, n_features) and ``intercept``;
- multi-label: ``fitted`` (per label: was it fit, or constant in the labels), ``constant``
  (the probability of a constant label), ``coef`` (n_labels, n_features) and ``intercept``
  (zeros where not fitted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from labelwise.learners import Committee, ProbabilisticClassifier
from labelwise.textmodel._files import ARRAYS, FolderReader

PROBABILISTIC = "probabilistic"
COMMITTEE = "committee"


def n_features_of(classifier: Any) -> int:
    """How many features the fitted learner reads (0 when no member saw two classes)."""
    for member in _members(classifier):
        for estimator in member.estimators_:
            if estimator is not None:
                return int(estimator.coef_.shape[1])
    return 0


def _members(classifier: Any) -> list[ProbabilisticClassifier]:
    if isinstance(classifier, Committee):
        members: list[Any] = classifier._fitted_members()
    elif isinstance(classifier, ProbabilisticClassifier):
        members = [classifier]
    else:
        raise TypeError(
            "A saved model's classifier is a ProbabilisticClassifier or a Committee of them; "
            f"got {type(classifier).__name__}."
        )
    for member in members:
        if not isinstance(member, ProbabilisticClassifier) or not hasattr(member, "estimators_"):
            raise TypeError(
                "Every committee member must be a fitted ProbabilisticClassifier; "
                f"got {type(member).__name__}."
            )
        for estimator in member.estimators_:
            if estimator is not None and type(estimator) is not LogisticRegression:
                raise TypeError(
                    "A saved model holds logistic regressions only (their probabilities are "
                    f"rebuilt from coefficients); got {type(estimator).__name__}."
                )
    return members


def classifier_parts(
    classifier: Any, n_features: int
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """``(meta, arrays)`` of a fitted learner reading ``n_features`` features."""
    members = _members(classifier)
    multilabel = bool(members[0].multilabel)
    arrays: dict[str, NDArray[Any]] = {}
    float32 = []
    for m, member in enumerate(members):
        key = f"classifier.{m}"
        if multilabel:
            n_labels = len(member.classes_)
            fitted = np.array([e is not None for e in member.estimators_])
            dtype = next((e.coef_.dtype for e in member.estimators_ if e is not None), float)
            coef = np.zeros((n_labels, n_features), dtype=dtype)
            intercept = np.zeros(n_labels, dtype=dtype)
            for j, estimator in enumerate(member.estimators_):
                if estimator is not None:
                    coef[j], intercept[j] = estimator.coef_[0], estimator.intercept_[0]
            arrays |= {
                f"{key}.fitted": fitted,
                f"{key}.constant": np.asarray(member.constant_, dtype=np.float64),
                f"{key}.coef": coef,
                f"{key}.intercept": intercept,
            }
            continue
        arrays[f"{key}.columns"] = np.asarray(member.columns_, dtype=np.int64)
        estimator = member.estimators_[0]
        if estimator is not None:
            arrays[f"{key}.coef"] = np.asarray(estimator.coef_)
            arrays[f"{key}.intercept"] = np.asarray(estimator.intercept_)
        # Whether the learner scores float32 features in float32 (see ProbabilisticClassifier).
        float32.append(getattr(member, "softmax_weights_", None) is not None)
    meta = {
        "kind": COMMITTEE if isinstance(classifier, Committee) else PROBABILISTIC,
        "multilabel": multilabel,
        "classes": [str(c) for c in members[0].classes_],
        "members": len(members),
        "n_features": n_features,
    }
    if not multilabel:
        meta["float32_softmax"] = float32
    return meta, arrays


def classifier_from(reader: FolderReader, classes: list[str], n_features: int) -> Any:
    """The learner described under ``classifier`` in model.json (model.npz opened)."""
    kind = reader.field("classifier.kind", str)
    if kind not in (PROBABILISTIC, COMMITTEE):
        raise reader.error(
            f"unknown classifier {kind!r}; known: {PROBABILISTIC!r}, {COMMITTEE!r}",
            field="classifier.kind",
        )
    if reader.strings("classifier.classes") != classes:
        raise reader.error("must equal task.labels, in order", field="classifier.classes")
    multilabel = reader.field("classifier.multilabel", bool)
    n_members = reader.field("classifier.members", int)
    if n_members < 1 or (kind == PROBABILISTIC and n_members != 1):
        raise reader.error(f"{n_members} members for a {kind} learner", field="classifier.members")
    if reader.field("classifier.n_features", int) != n_features:
        raise reader.error(
            f"the featurizer gives {n_features} features", field="classifier.n_features"
        )
    float32: list[Any] = [] if multilabel else reader.field("classifier.float32_softmax", list)
    if not multilabel and (len(float32) != n_members or not all(type(f) is bool for f in float32)):
        raise reader.error(
            f"must be {n_members} true/false values", field="classifier.float32_softmax"
        )
    members = [
        _multilabel_member(reader, m, classes, n_features)
        if multilabel
        else _single_member(reader, m, classes, n_features, float32[m])
        for m in range(n_members)
    ]
    if kind == PROBABILISTIC:
        return members[0]
    committee = Committee(
        ProbabilisticClassifier(classes=classes, multilabel=multilabel), n_members=n_members
    )
    committee.members_ = members
    committee.classes_ = members[0].classes_
    return committee


def _learner(classes: list[str], multilabel: bool) -> ProbabilisticClassifier:
    learner = ProbabilisticClassifier(classes=classes, multilabel=multilabel)
    learner.classes_ = np.asarray(classes, dtype=object)
    return learner


def _logistic(coef: NDArray[Any], intercept: NDArray[Any], seen: NDArray[Any]) -> Any:
    """A LogisticRegression as ``fit`` leaves it, for ``predict_proba``."""
    estimator = LogisticRegression()
    estimator.coef_ = coef
    estimator.intercept_ = intercept
    estimator.classes_ = seen
    estimator.n_features_in_ = coef.shape[1]
    return estimator


def _single_member(
    reader: FolderReader, m: int, classes: list[str], n_features: int, float32: bool
) -> ProbabilisticClassifier:
    key = f"classifier.{m}"
    columns = reader.array(f"{key}.columns", "iu", 1).astype(np.intp)
    if (
        columns.size == 0
        or (np.diff(columns) <= 0).any()
        or columns[0] < 0
        or columns[-1] >= len(classes)
    ):
        raise reader.error(
            f"must be rising label indices in [0, {len(classes)})",
            file=ARRAYS,
            field=f"{key}.columns",
        )
    learner = _learner(classes, multilabel=False)
    learner.columns_ = columns
    learner.softmax_weights_ = None
    if columns.size == 1:  # one class seen: probability 1 for it, no estimator
        learner.estimators_ = [None]
        return learner
    rows = 1 if columns.size == 2 else columns.size
    coef = reader.shaped(f"{key}.coef", "f", (rows, n_features))
    intercept = reader.shaped(f"{key}.intercept", "f", (rows,))
    learner.estimators_ = [_logistic(coef, intercept, columns)]
    if float32:
        if rows < 3:
            raise reader.error(
                "true for a member with fewer than 3 classes", field="classifier.float32_softmax"
            )
        learner.softmax_weights_ = (coef.astype(np.float32), intercept.astype(np.float32))
    return learner


def _multilabel_member(
    reader: FolderReader, m: int, classes: list[str], n_features: int
) -> ProbabilisticClassifier:
    key, n = f"classifier.{m}", len(classes)
    fitted = reader.shaped(f"{key}.fitted", "b", (n,))
    constant = reader.shaped(f"{key}.constant", "f", (n,))
    coef = reader.shaped(f"{key}.coef", "f", (n, n_features))
    intercept = reader.shaped(f"{key}.intercept", "f", (n,))
    learner = _learner(classes, multilabel=True)
    learner.constant_ = constant
    seen = np.array([0, 1], dtype=np.int8)
    learner.estimators_ = [
        _logistic(coef[j : j + 1].copy(), intercept[j : j + 1].copy(), seen) if fitted[j] else None
        for j in range(n)
    ]
    return learner
