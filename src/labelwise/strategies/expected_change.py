"""Expected model change and expected error reduction.

:class:`ExpectedGradientLength` scores each item by how much labeling it is expected to
move a softmax model (closed form, no autograd). :class:`ExpectedErrorReduction` refits
the learner once per hypothetical label on a random candidate subsample and keeps the
candidates whose labels are expected to lower the loss on the pool the most.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import clone

from labelwise._rows import squared_row_norms
from labelwise._typing import IndexArray, ProbaArray, RandomStateLike
from labelwise._validation import check_positive_int
from labelwise.exceptions import NotFittedError, QueryError
from labelwise.strategies import _measures
from labelwise.strategies._select import top_k
from labelwise.strategies.base import PointwiseStrategy, Query, QueryStrategy
from labelwise.strategies.context import QueryContext

LOSSES = ("zero_one", "log")
"""Loss names accepted by :class:`ExpectedErrorReduction`."""


def expected_gradient_length(
    proba: ProbaArray, squared_norms: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Expected Frobenius norm of the softmax log-loss gradient, shape (n_samples,).

    For weights ``W`` of shape (n_classes, n_features + 1) acting on ``[x, 1]``, the
    gradient of ``-log p_y`` is ``(p - e_y) [x, 1]^T``, whose norm factorises into
    ``||p - e_y|| * sqrt(||x||^2 + 1)`` with ``||p - e_y||^2 = sum_k p_k^2 - 2 p_y + 1``.
    The expectation over the model's own label distribution is
    ``sum_y p_y ||p - e_y|| * sqrt(||x||^2 + 1)``.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    squared_norms : ndarray of shape (n_samples,)
        ``||x||^2`` of each item's features (without the bias input).
    """
    sum_sq = np.einsum("ij,ij->i", proba, proba)
    # Rounding can push 1 - 2 + 1 a hair below zero for a one-hot row.
    residual = np.sqrt(np.maximum(sum_sq[:, None] - 2.0 * proba + 1.0, 0.0))
    return np.asarray((proba * residual).sum(axis=1) * np.sqrt(squared_norms + 1.0))


class ExpectedGradientLength(PointwiseStrategy):
    """Query items whose label is expected to change a softmax model the most.

    Utility ``sum_y p_y * ||p - e_y|| * sqrt(||x||^2 + 1)``: the expected length of the
    log-loss gradient with respect to the weight matrix (bias included) of a multinomial
    logistic regression on the pool features, if the item were labeled ``y`` with the
    probability the model gives ``y`` (Settles, Craven & Ray 2008). Computed in closed form
    per chunk from ``predict_proba`` and the feature row norms; dense and CSR features both
    work.

    The value is exact for a softmax / multinomial logistic-regression learner trained on
    the pool features. Scikit-learn's binary ``LogisticRegression`` keeps a single weight
    vector, whose gradient is ``1 / sqrt(2)`` of this value: the ranking is the same. For
    any other learner (trees, a network on other inputs) it is a proxy that combines
    uncertainty with the feature norm. Columns of the full schema the learner never saw
    have probability 0 and contribute nothing.

    Multi-label learners (``learner.multilabel`` true) are scored per class as binary
    problems ``[p, 1 - p]``, averaged over classes, as :class:`UtilityStrategy` does.

    Parameters
    ----------
    chunk_size : int, default 16384
        At most ``chunk_size x n_classes`` probabilities exist at once.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from labelwise.data import Pool
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0], [0.0], [5.0]])
    >>> clf = ProbabilisticClassifier(LogisticRegression(), classes=["a", "b"])
    >>> clf = clf.fit(X[:4], ["a", "a", "b", "b"])
    >>> q = ExpectedGradientLength().query(clf, Pool(X), [0, 1, 2, 3], [4, 5], 1, random_state=0)
    >>> q.indices.tolist()
    [4]
    """

    def score_block(
        self,
        ctx: QueryContext,
        block: IndexArray,
        prepared: Any,  # noqa: ARG002
    ) -> NDArray[np.float64]:
        learner: Any = ctx.learner  # checked by _check_learner before any block
        rows = ctx.pool.rows(block)
        proba = np.asarray(learner.predict_proba(rows), dtype=np.float64)
        norms = squared_row_norms(rows)
        if not getattr(learner, "multilabel", False):
            return expected_gradient_length(proba, norms)
        n_samples, n_classes = proba.shape
        flat = proba.reshape(-1)
        binary = np.stack([flat, 1.0 - flat], axis=1)
        per_class = expected_gradient_length(binary, np.repeat(norms, n_classes))
        return np.asarray(per_class.reshape(n_samples, n_classes).mean(axis=1))


class ExpectedErrorReduction(QueryStrategy):
    """Query the candidates whose label is expected to lower the pool's loss the most.

    Roy & McCallum (2001). A random subsample of ``n_candidates`` unlabeled items are the
    candidates, and another random subsample of ``n_eval`` unlabeled items stands in for
    the pool. For each candidate ``x`` and each of its ``max_labels`` most probable labels
    ``y`` (their probabilities renormalised to sum to 1), a fresh clone of the learner is
    fit on the labeled set plus ``(x, y)`` and its expected loss on the evaluation sample
    is measured: the mean of ``1 - max_k p'_k`` (``loss="zero_one"``) or of the entropy of
    ``p'`` in nats (``loss="log"``). The utility of ``x`` is the current expected loss
    minus the probability-weighted mean of the new ones: positive when labeling ``x`` is
    expected to help, and possibly negative.

    The cost is ``n_candidates x max_labels`` refits per query, so keep both small; the
    subsample is what makes the method usable on a large pool. Fresh learners come from
    ``sklearn.base.clone`` (a deep copy for objects that are not scikit-learn estimators);
    they are fit without sample weights.

    The strategy needs the training labels: pass them to :meth:`query` as ``labels``,
    aligned with ``labeled``, in the form ``learner.fit`` accepts (label names for a
    :class:`~labelwise.learners.ProbabilisticClassifier`); wrappers hand them on. The loop
    always passes them. Single-label learners only.

    Parameters
    ----------
    n_candidates : int, default 100
        Size of the random candidate subsample. A query returns at most this many items:
        ``min(n, n_candidates, len(unlabeled))``.
    n_eval : int, default 1000
        Size of the random evaluation subsample (all unlabeled items when fewer remain).
    max_labels : int, default 5
        Hypothetical labels tried per candidate, most probable first.
    loss : {"zero_one", "log"}, default "zero_one"
    random_state : int, Generator or None, default None
        Seed for the subsamples and the tie-break, used when ``query`` is given none.
    """

    def __init__(
        self,
        *,
        n_candidates: int = 100,
        n_eval: int = 1000,
        max_labels: int = 5,
        loss: str = "zero_one",
        random_state: RandomStateLike = None,
    ) -> None:
        self.n_candidates = n_candidates
        self.n_eval = n_eval
        self.max_labels = max_labels
        self.loss = loss
        self.random_state = random_state

    def _expected_loss(self, proba: ProbaArray) -> float:
        per_item = (
            _measures.least_confidence(proba)
            if self.loss == "zero_one"
            else _measures.entropy(proba)
        )
        return float(per_item.mean())

    def _check_params(self) -> tuple[int, int, int]:
        owner = type(self).__name__
        n_candidates = check_positive_int(self.n_candidates, "n_candidates", owner)
        n_eval = check_positive_int(self.n_eval, "n_eval", owner)
        max_labels = check_positive_int(self.max_labels, "max_labels", owner)
        if self.loss not in LOSSES:
            raise ValueError(
                f"The 'loss' parameter of {owner} must be one of "
                f"{', '.join(repr(v) for v in LOSSES)}. Got {self.loss!r} instead."
            )
        return n_candidates, n_eval, max_labels

    def _own_random_state(self) -> RandomStateLike:
        return self.random_state

    def _check_learner(self, learner: Any) -> NDArray[Any]:
        owner = type(self).__name__
        if learner is None or not hasattr(learner, "predict_proba"):
            raise NotFittedError(
                f"{owner} needs a fitted learner with predict_proba; "
                "start from a seed set or a cold-start strategy."
            )
        if not hasattr(learner, "classes_"):
            raise NotFittedError(
                f"{owner} needs a fitted learner with classes_ (the label of each "
                f"probability column); {type(learner).__name__} has none."
            )
        if getattr(learner, "multilabel", False):
            raise QueryError(f"{owner} supports single-label learners only.")
        return np.asarray(learner.classes_)

    def _select(self, ctx: QueryContext, n: int) -> Query:
        """The ``min(n, n_candidates, len(ctx.unlabeled))`` best candidates.

        Reads ``ctx.labels`` (required) and refits clones of ``ctx.learner``, which needs
        ``predict_proba`` and ``classes_``.
        """
        n_candidates, n_eval, max_labels = self._check_params()
        if ctx.labels is None:
            raise QueryError(
                f"{type(self).__name__} needs the labels of the labeled positions: "
                "pass labels=... to query (one per labeled position, same order)."
            )
        labels = list(ctx.labels)
        learner: Any = ctx.learner
        classes = self._check_learner(learner)
        pool, labeled, unlabeled, rng = ctx.pool, ctx.labeled, ctx.unlabeled, ctx.rng

        candidates = rng.choice(unlabeled, size=min(n_candidates, unlabeled.size), replace=False)
        eval_rows = pool.rows(
            rng.choice(unlabeled, size=min(n_eval, unlabeled.size), replace=False)
        )
        n = min(n, candidates.size)

        cand_proba = np.asarray(learner.predict_proba(pool.rows(candidates)), dtype=np.float64)
        if cand_proba.shape[1] != classes.size:
            raise QueryError(
                f"predict_proba returned {cand_proba.shape[1]} columns but the learner has "
                f"{classes.size} classes_."
            )
        current = self._expected_loss(
            np.asarray(learner.predict_proba(eval_rows), dtype=np.float64)
        )

        n_try = min(max_labels, classes.size)
        # Most probable labels first; a stable sort keeps schema order among equal ones.
        tried = np.argsort(-cand_proba, axis=1, kind="stable")[:, :n_try]
        weights = np.take_along_axis(cand_proba, tried, axis=1)
        totals = weights.sum(axis=1, keepdims=True)
        weights = np.divide(
            weights, totals, out=np.full_like(weights, 1.0 / n_try), where=totals > 0
        )

        X_labeled = pool.rows(labeled)
        utility = np.empty(candidates.size, dtype=np.float64)
        # One refit per (candidate, label) is the method itself; the loop is over the small
        # candidate subsample, never over the pool.
        for i, position in enumerate(candidates):
            X_train = _append_row(X_labeled, pool.rows(np.array([position], dtype=np.intp)))
            expected_new = 0.0
            for k, weight in zip(tried[i], weights[i], strict=True):
                if weight == 0.0:
                    continue
                model = clone(learner, safe=False)
                model.fit(X_train, np.asarray([*labels, classes[k]]))
                new_proba = np.asarray(model.predict_proba(eval_rows), dtype=np.float64)
                expected_new += float(weight) * self._expected_loss(new_proba)
            utility[i] = current - expected_new

        keep = top_k(utility, rng.random(candidates.size), n)
        return Query(
            indices=candidates[keep].astype(np.intp),
            scores=utility[keep],
            strategy=repr(self),
        )


def _append_row(X: Any, row: Any) -> Any:
    """``X`` with ``row`` stacked below it, keeping dense dense and sparse CSR."""
    if sp.issparse(X) or sp.issparse(row):
        return sp.vstack([X, row], format="csr")
    return np.vstack([np.asarray(X), np.asarray(row)])
