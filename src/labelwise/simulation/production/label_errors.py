"""Label errors found by the relabel queue: realistic noise in, ranked suspects out.

Protocol (issue 12, "Label errors"):

1. A held-out model (out-of-fold over the clean train labels, folds seeded 0) gives the confusion
   between intents: for each intent, the other intent its utterances get most
   probability for.
2. 5% of the train labels, drawn at random, are flipped, each to its true intent's
   most-confused intent (the errors a tired annotator makes, not uniform noise).
3. The noisy labels are ranked by :func:`labelwise.evaluation.label_issues.
   find_label_issues`, the function the service's relabel job calls.
4. Figures: the ranking's area under the precision-recall curve against the flipped set
   (average precision); the precision of the top 2 x (number of errors); and the test
   accuracy after reviewing that top (a review restores the gold label), as a share of
   the clean-label model's accuracy, beside the noisy model's share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

from labelwise._typing import RandomStateLike
from labelwise._validation import check_random_state
from labelwise.evaluation.label_issues import (
    DEFAULT_FOLDS,
    find_label_issues,
    out_of_fold_proba,
)
from labelwise.learners import ProbabilisticClassifier
from labelwise.simulation.production import Figure, ProductionData, SimulationOutcome

#: Share of train labels flipped.
NOISE = 0.05
#: Reviewed items per injected error.
REVIEW_FACTOR = 2.0
#: Targets of issue 12.
TARGET_PR_AUC = 0.7
TARGET_RECOVERY = 0.99

#: The seed-independent part of a run (the clean model's held-out confusion and test
#: accuracy), per data set: ``benchmarks/continuous.py`` calls ``simulate`` once per seed
#: on the same data, and these fits are most of a run's time. Keyed by ``id(data)``; the
#: data object is kept beside its result, so an id cannot be reused while cached.
_CLEAN: dict[tuple[int, int, float], tuple[ProductionData, dict[Any, Any], float]] = {}


def learner(classes: Any, *, C: float = 10.0) -> ProbabilisticClassifier:
    """The benchmark's learner: logistic regression (C=10) on MiniLM rows, as
    ``benchmarks/best_configuration.py``."""
    return ProbabilisticClassifier(LogisticRegression(C=C, max_iter=1000), classes=classes)


def most_confused(
    pred_probs: NDArray[np.float64], labels: NDArray[Any], classes: NDArray[Any]
) -> dict[Any, Any]:
    """For each class, the other class its items get the most held-out probability for.

    Parameters
    ----------
    pred_probs : ndarray of shape (n_samples, n_classes)
        Out-of-fold probabilities, columns ordered as ``classes``.
    labels : ndarray of shape (n_samples,)
        True labels.
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    dict
        ``{class: most confused other class}``.
    """
    column = {c: j for j, c in enumerate(classes.tolist())}
    confusion = np.zeros((classes.size, classes.size))
    rows = np.asarray([column[v] for v in labels.tolist()], dtype=np.intp)
    np.add.at(confusion, rows, pred_probs)
    np.fill_diagonal(confusion, -1.0)
    return {c: classes[int(np.argmax(confusion[j]))] for j, c in enumerate(classes.tolist())}


def inject_noise(
    labels: NDArray[Any],
    confused: dict[Any, Any],
    noise: float,
    random_state: RandomStateLike = None,
) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Flip ``round(noise * n)`` labels drawn at random, each to its most-confused class.

    Returns
    -------
    noisy : ndarray of shape (n_samples,)
    flipped : ndarray of shape (n_flipped,), int
        The flipped positions, sorted.
    """
    rng = check_random_state(random_state)
    n_errors = int(round(noise * labels.shape[0]))
    flipped = np.sort(rng.choice(labels.shape[0], size=n_errors, replace=False)).astype(np.intp)
    noisy = labels.copy()
    noisy[flipped] = [confused[v] for v in labels[flipped].tolist()]
    return noisy, flipped


def _accuracy(model: Any, X: Any, y: NDArray[Any]) -> float:
    return float(np.mean(np.asarray(model.predict(X), dtype=object) == y))


def _clean_reference(
    data: ProductionData,
    base: ProbabilisticClassifier,
    y: NDArray[Any],
    y_test: NDArray[Any],
    *,
    n_folds: int,
    C: float,
) -> tuple[dict[Any, Any], float]:
    """Each class's most-confused class under a held-out clean model (folds seeded 0:
    the noise model is a property of the data set) and the clean model's test accuracy."""
    key = (id(data), n_folds, C)
    cached = _CLEAN.get(key)
    if cached is not None and cached[0] is data:
        return cached[1], cached[2]
    clean_probs, judged, _ = out_of_fold_proba(
        base, data.X_train, y, n_folds=n_folds, random_state=0
    )
    confused = most_confused(clean_probs, y, judged)
    clean = _accuracy(learner(base.classes, C=C).fit(data.X_train, y), data.X_test, y_test)
    _CLEAN[key] = (data, confused, clean)
    return confused, clean


def simulate(
    data: ProductionData,
    *,
    seed: int,
    noise: float = NOISE,
    review_factor: float = REVIEW_FACTOR,
    n_folds: int = DEFAULT_FOLDS,
    C: float = 10.0,
) -> SimulationOutcome:
    """Inject realistic label noise, rank it, review the top and retrain.

    Parameters
    ----------
    data : ProductionData
    seed : int
        Seeds the folds and the noise draw.
    noise : float, default 0.05
        Share of train labels flipped.
    review_factor : float, default 2.0
        Items reviewed per injected error, from the top of the ranking.
    n_folds : int, default 5
        Folds of the out-of-fold probabilities (noise model and ranking).
    C : float, default 10
        Inverse regularization of the logistic regression.
    """
    y = np.asarray(data.y_train, dtype=object)
    y_test = np.asarray(data.y_test, dtype=object)
    classes = np.asarray(sorted(set(y.tolist()) | set(y_test.tolist())), dtype=object)
    base = learner(classes, C=C)

    confused, clean = _clean_reference(data, base, y, y_test, n_folds=n_folds, C=C)
    noisy, flipped = inject_noise(y, confused, noise, random_state=seed)
    is_error = np.zeros(y.shape[0], dtype=bool)
    is_error[flipped] = True

    issues = find_label_issues(base, data.X_train, noisy, n_folds=n_folds, random_state=seed)
    pr_auc = float(average_precision_score(is_error, issues.suspicion(y.shape[0])))
    n_review = int(round(review_factor * flipped.size))
    reviewed = issues.ranking[:n_review]
    caught = int(is_error[reviewed].sum())
    issue_hits = int(is_error[issues.issues].sum())
    restored = noisy.copy()
    restored[reviewed] = y[reviewed]  # a review restores the gold label

    noisy_acc = _accuracy(learner(classes, C=C).fit(data.X_train, noisy), data.X_test, y_test)
    fixed = _accuracy(learner(classes, C=C).fit(data.X_train, restored), data.X_test, y_test)
    return SimulationOutcome(
        simulation="label_errors",
        seed=seed,
        figures=[
            Figure("pr_auc", pr_auc, TARGET_PR_AUC),
            Figure("reviewed_accuracy_share", fixed / clean, TARGET_RECOVERY),
            Figure("noisy_accuracy_share", noisy_acc / clean),
            Figure("precision_at_review_cut", caught / max(n_review, 1)),
            Figure("recall_at_review_cut", caught / max(flipped.size, 1)),
        ],
        details={
            "n_train": int(y.shape[0]),
            "n_errors": int(flipped.size),
            "n_reviewed": n_review,
            "errors_caught": caught,
            "cleanlab_issues": issues.n_issues,
            "cleanlab_issue_precision": issue_hits / max(issues.n_issues, 1),
            "clean_accuracy": clean,
            "noisy_accuracy": noisy_acc,
            "reviewed_accuracy": fixed,
            "n_folds": issues.n_folds,
            "C": C,
        },
    )
