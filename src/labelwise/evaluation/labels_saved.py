"""How many labels active learning saved: the random-sampling curve a project would have had,
estimated from the labels it holds that were drawn at random, against the actively trained
model's score.

Only randomly drawn labels say how a model trained on *random* labels would do: actively
chosen items are not representative. A project holds two kinds: its random audit sample
(served at random, never trained on) and, when it has one, its evaluation set with gold
labels. The project's learner is trained on random subsets of those labels of increasing
size, drawn with the pool's class mix, and each is scored on items it did not train on: the
evaluation set (cross-validated when its own items are among the training labels) or, with
no evaluation set, the audit sample by cross-validation. A learning curve is fitted to the
scores (:func:`fit_learning_curve`) and inverted at the active model's score: "random
sampling would need about X labels (interval) to reach today's score; active learning used
Y".

When the evaluation set may train the curve (``train_on_eval``): the question is how fast
the learner learns from random labels, and an evaluation set drawn at random from the pool's
source is such a sample. It carries far more labels than a 10% audit of the first thousand,
and the curve's far end is where a small sample misleads: with 100 random labels over 151
classes, half the classes are unseen and the curve is flatter than it will be (on CLINC150
a power law fitted to the exact random curve over 50-250 labels puts accuracy 0.84 at
57,000 labels, where the curve reaches it at about 8,000). Its class mix may still differ
from the pool's, so subsets are drawn with the pool's class mix (``class_prior``). An
evaluation set from another source must not train it: CLINC150's test split holds 1,000
out-of-scope queries unlike the train split's 100, and a curve trained on it reached the
active model's accuracy at 1,300-2,200 random labels where random training labels need
3,300-12,000. A check (models trained on evaluation labels against as many audit labels)
catches TREC's test split but not CLINC150's, whose difference only shows with more labels
than the audit holds: hence the project setting, off by default.

The interval carries the scatter of the subset scores (a bootstrap of the fit), the
evaluation set's sampling error shared by every point, the error of the active model's own
score, and the asymptote (the full-data score), which a few hundred labels rarely pin: it
is profiled over every value the observations allow (:meth:`CurveFit.profile_labels_for`).
When the random labels are too few, or the answer lies more than :data:`MAX_EXTRAPOLATION`
times past the largest subset, the estimate says so and how many more audit labels it
needs, rather than printing a number.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import clone

from labelwise._typing import RandomStateLike
from labelwise._validation import check_random_state
from labelwise.evaluation.curve_fit import fit_learning_curve

__all__ = [
    "MAX_EVAL_SHIFT",
    "MAX_EXTRAPOLATION",
    "MIN_AUDIT_LABELS",
    "MIN_RANDOM_PER_CLASS",
    "RandomLabelsEstimate",
    "estimate_random_labels",
]

#: Fewest random labels the estimate is tried with: a curve needs three subset sizes of
#: several labels each.
MIN_AUDIT_LABELS = 40
#: Random labels per class the estimate needs: below about two per class a random sample
#: mostly measures which classes it happened to draw.
MIN_RANDOM_PER_CLASS = 2
#: The farthest the curve is carried: the random labels needed may be at most this many
#: times the largest training subset, else no number is given. Past it the asymptote
#: decides the answer.
MAX_EXTRAPOLATION = 10.0
#: The evaluation set trains the curve only when models trained on its labels score at
#: most this much above models trained on as many audit labels: more, and its items are
#: not like the pool's (TREC's test questions come from another year than its training
#: questions: trained on 400 of them, a model scores 0.85-0.93 on the others but 0.71-0.73
#: on random training questions).
MAX_EVAL_SHIFT = 0.03
#: Subset sizes: this many, geometric from an eighth of the largest to the largest.
_N_SIZES = 7
_SMALLEST_SHARE = 0.125
#: Folds when the scoring items are also training candidates: five for an audit sample
#: alone (each model trains on 80% of few labels), three with the evaluation set's labels
#: (plenty to train on; each fold costs a model per subset).
_CV_FOLDS = 5
_CV_FOLDS_WITH_EVAL = 3
#: The largest training subset: past a few thousand random labels the curve is known well
#: enough, and each subset costs a fit in the retrain worker.
_MAX_SUBSET = 2500
#: A subset drawn with the pool's class mix may fall short of it by this share (classes
#: with too few random labels) before the largest size is reduced.
_MIX_SLACK = 0.05

Scorer = Callable[[Any, Any, Sequence[Any]], float]


def _accuracy(model: Any, features: Any, labels: Sequence[Any]) -> float:
    predicted = np.asarray(model.predict(features), dtype=object)
    return float(np.mean(predicted == np.asarray(list(labels), dtype=object)))

    return float(np.mean(predicted == np.asarray(list(labels), dtype=object)))


@dataclass(frozen=True)
class RandomLabelsEstimate:
    """Random labels needed to reach the active model's score, or why it cannot be said yet.

    Attributes
    ----------
    estimated : bool
        False when the audit sample cannot support a curve yet (see ``reason``).
    reason : str or None
        Why there is no estimate, in plain words, with what is missing.
    model_labels : int
        Labels the active model was trained on.
    model_score : float
        Its score (accuracy) on the evaluation set, or on the audit sample without one.
    audit_labels : int
        Random audit labels the project holds.
    audit_labels_needed : int or None
        Audit labels still missing before an estimate is possible (when ``estimated`` is
        False because of too few), else None.
    scored_on : str
        Where the curve and the model are scored: ``"evaluation set"`` or ``"audit
        sample"`` (cross-validated where its items also train the curve).
    random_sample : int
        Random labels the curve was trained from (audit, plus the evaluation set's when
        it trains the curve).
    largest_subset : int
        The largest training subset on the curve.
    eval_shift : float or None
        How much better models trained on evaluation labels score than models trained on
        as many audit labels (both on held-out evaluation items, pool class mix). Above
        :data:`MAX_EVAL_SHIFT` the evaluation set is not like the pool and only audit
        labels train the curve; None when it was not checked (no evaluation set, too few
        audit labels, or ``train_on_eval`` off).
    random_labels : float or None
        Point estimate of the random labels needed; ``inf`` when there is none to give: the
        best-fitting curve never reaches the score, or only more than
        :data:`MAX_EXTRAPOLATION` times past the audit sample (the interval still holds:
        "at least ``low``").
    low, high : float or None
        The ``level`` interval; ``high`` is ``inf`` when too many bootstrap curves never
        reach the score.
    level : float
    saving, saving_low, saving_high : float or None
        ``random_labels / model_labels`` and the interval's ends divided the same way:
        "about Z× fewer labels" (below 1 means active learning needed more).
    beyond_pool : bool
        Even the interval's low end exceeds the pool: random sampling of this pool would
        not get there at all (every item labeled is the full-data model).
    curve : list of (int, float)
        The observed random curve: subset size and mean score there.
    """

    estimated: bool
    reason: str | None
    model_labels: int
    model_score: float
    audit_labels: int
    audit_labels_needed: int | None = None
    scored_on: str = "evaluation set"
    random_sample: int = 0
    largest_subset: int = 0
    eval_shift: float | None = None
    random_labels: float | None = None
    low: float | None = None
    high: float | None = None
    level: float = 0.9
    saving: float | None = None
    saving_low: float | None = None
    saving_high: float | None = None
    beyond_pool: bool = False
    curve: list[tuple[int, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: infinite numbers become None (``high`` None with ``estimated`` means
        no upper bound)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        out["curve"] = [[int(n), float(s)] for n, s in self.curve]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RandomLabelsEstimate:
        """Inverse of :meth:`to_dict` (an absent ``high`` of an estimate reads as ``inf``)."""
        values = dict(data)
        values["curve"] = [(int(n), float(s)) for n, s in values.get("curve", [])]
        if values.get("estimated") and values.get("high") is None:
            values["high"] = math.inf
            if values.get("saving_high") is None:
                values["saving_high"] = math.inf
        if values.get("estimated") and values.get("random_labels") is None:
            values["random_labels"] = math.inf
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})


def estimate_random_labels(
    learner: Any,
    audit_features: Any,
    audit_labels: Sequence[Any],
    *,
    model_score: float,
    model_labels: int,
    eval_features: Any = None,
    eval_labels: Sequence[Any] | None = None,
    train_on_eval: bool = False,
    class_prior: Mapping[str, float] | None = None,
    pool_size: int | None = None,
    scorer: Scorer = _accuracy,
    n_classes: int | None = None,
    level: float = 0.9,
    n_subsets: int = 2,
    n_bootstrap: int = 200,
    random_state: RandomStateLike = 0,
) -> RandomLabelsEstimate:
    """Estimate how many random labels would reach ``model_score``.

    Parameters
    ----------
    learner : scikit-learn classifier
        The project's learner (unfitted; cloned for every subset).
    audit_features : feature matrix of shape (n_audit, n_features)
        The random audit sample's features (dense or scipy sparse).
    audit_labels : sequence of length n_audit
    model_score : float
        The active model's score on the evaluation set when one is given, else on the
        audit sample.
    model_labels : int
        Labels the active model was trained on.
    eval_features, eval_labels : optional
        Held-out evaluation set with gold labels; without it the audit sample is scored
        by cross-validation.
    train_on_eval : bool, default False
        Let the evaluation set's labels train the curve too (cross-validated, so no item
        is scored by a model that trained on it). Only for an evaluation set drawn at
        random from the pool's source: one from elsewhere teaches its own quirks. Even
        then it is checked: models trained on its labels may score at most
        :data:`MAX_EVAL_SHIFT` above models trained on as many audit labels. False: only
        audit labels train the curve.
    class_prior : mapping of class name to share, optional
        The pool's class mix (e.g. the latest model's predicted classes on the pool):
        subsets are drawn with it, so an evaluation set with another mix trains the curve
        as random pool labels would. Default: plain random subsets. Single-label only.
    pool_size : int, optional
        Items in the pool: an interval whose low end exceeds it is flagged ``beyond_pool``.
    scorer : callable ``(model, features, labels) -> float``, default accuracy
        The same metric as ``model_score``.
    n_classes : int, optional
        Classes the project has labels for (the random labels need
        :data:`MIN_RANDOM_PER_CLASS` per class); default: the classes among them.
    level : float in (0, 1)
    n_subsets : int
        Random subsets per size (per fold).
    n_bootstrap : int
    random_state : int, Generator or None

    Returns
    -------
    RandomLabelsEstimate
    """
    audit_y = list(audit_labels)
    m = len(audit_y)
    if m != _n_rows(audit_features):
        raise ValueError(f"{_n_rows(audit_features)} audit rows but {m} audit labels.")
    if (eval_features is None) != (eval_labels is None):
        raise ValueError("Give both eval_features and eval_labels, or neither.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1). Got {level!r}.")
    with_eval = eval_labels is not None and len(eval_labels) > 0
    eval_y = list(eval_labels) if with_eval and eval_labels is not None else []
    if with_eval and len(eval_y) != _n_rows(eval_features):
        raise ValueError(f"{_n_rows(eval_features)} evaluation rows but {len(eval_y)} labels.")
    if not math.isfinite(model_score):
        return RandomLabelsEstimate(
            estimated=False,
            reason="The model has no held-out score yet to compare random sampling with.",
            model_labels=int(model_labels),
            model_score=float(model_score),
            audit_labels=m,
            scored_on="evaluation set" if with_eval else "audit sample",
            level=level,
        )
    rng = check_random_state(random_state)
    prior = dict(class_prior) if class_prior else None
    audit_only = _RandomSample.of(
        audit_features, audit_y, eval_features if with_eval else None, eval_y, False
    )
    sample, shift = audit_only, None
    if with_eval and train_on_eval and m >= MIN_AUDIT_LABELS:
        both = _RandomSample.of(audit_features, audit_y, eval_features, eval_y, True)
        shift = _eval_shift(learner, both, scorer, prior, rng)
        if shift <= MAX_EVAL_SHIFT:
            sample = both
    base = RandomLabelsEstimate(
        estimated=False,
        reason=None,
        model_labels=int(model_labels),
        model_score=float(model_score),
        audit_labels=m,
        scored_on="evaluation set" if with_eval else "audit sample",
        random_sample=sample.n_train,
        eval_shift=shift,
        level=level,
    )
    classes = n_classes if n_classes is not None else len({_key(v) for v in sample.labels})
    need = max(MIN_AUDIT_LABELS, MIN_RANDOM_PER_CLASS * classes)
    if sample.cross_validated:
        # Cross-validation trains on (k-1)/k of the sample.
        need = math.ceil(need * _CV_FOLDS / (_CV_FOLDS - 1))
    if sample.n_train < need:
        source = (
            "random labels (audit and evaluation set)"
            if sample.n_train > m
            else "random audit labels"
        )
        return _lacking(
            base,
            need - sample.n_train,
            f"{sample.n_train:,} {source} so far; the estimate needs {need:,} "
            f"({MIN_RANDOM_PER_CLASS} per class for {classes:,} classes, at least "
            f"{MIN_AUDIT_LABELS}).",
        )
    # Audit items are a random sample of the pool: their class mix already is the pool's,
    # and holding them to the predicted mix would only shrink the subsets. The mix is for
    # evaluation labels, whose own mix may be another.
    mix = prior if sample.n_train > m else None
    sizes, scores, largest = _random_curve(learner, sample, scorer, mix, n_subsets, rng)
    if np.unique(sizes).size < 3:
        return _lacking(base, need, "The random labels hold too few of at least two classes.")
    means = [(int(n), float(np.mean(scores[sizes == n]))) for n in np.unique(sizes)]
    top = max(s for _, s in means)
    eval_se = _binomial_se(top, sample.n_scored)
    fit = fit_learning_curve(
        sizes,
        scores,
        sigma=_subset_noise(sizes, scores, floor=eval_se),
        shared_se=eval_se if with_eval else 0.0,
        n_bootstrap=n_bootstrap,
        random_state=rng,
    )
    target_se = _binomial_se(model_score, sample.n_scored)
    estimate = fit.labels_for(model_score, level=level, target_se=target_se, random_state=rng)
    # The bootstrap keeps the asymptote near its best fit; the profile lets it roam over
    # every value the observations allow. The reported interval holds both.
    profile_low, profile_high = fit.profile_labels_for(
        model_score, level=level, target_se=target_se
    )
    low, high = min(estimate.low, profile_low), max(estimate.high, profile_high)
    reach = MAX_EXTRAPOLATION * largest
    if not low <= reach:
        # Random sampling of the whole pool is the full-data model: no more is needed.
        wanted = min(low, pool_size) if pool_size else low
        more = math.ceil(wanted / MAX_EXTRAPOLATION) - largest if math.isfinite(wanted) else None
        return RandomLabelsEstimate(
            **{
                **asdict(base),
                "reason": (
                    f"The {sample.n_train:,} random labels are too few to carry the random "
                    f"curve to today's score of {model_score:.3f}: a model trained on "
                    f"{largest:,} of them scores {means[-1][1]:.3f}, and the answer lies more "
                    f"than {MAX_EXTRAPOLATION:.0f}x past that."
                ),
                "audit_labels_needed": None if more is None else max(more, 1),
                "largest_subset": largest,
                "curve": means,
            }
        )
    # A point past the reach (or one the best curve never reaches) is not given: the
    # answer is then the interval, "at least ``low``".
    point = estimate.labels if estimate.labels <= reach else math.inf
    per_label = 1.0 / model_labels if model_labels > 0 else None
    return RandomLabelsEstimate(
        **{
            **asdict(base),
            "estimated": True,
            "random_labels": point,
            "low": low,
            "high": high,
            "saving": point * per_label if per_label and math.isfinite(point) else None,
            "saving_low": low * per_label if per_label else None,
            "saving_high": high * per_label if per_label else None,
            "beyond_pool": pool_size is not None and low > pool_size,
            "largest_subset": largest,
            "curve": means,
        }
    )


@dataclass(frozen=True)
class _RandomSample:
    """The random labels, and which of them score the curve.

    ``features``/``labels`` hold every random label (audit first, then evaluation). The
    scoring items are ``scoring``; ``trainable`` marks the items that may train. When the
    scoring items may also train, the curve is cross-validated over them.
    """

    features: Any
    labels: list[Any]
    scoring: NDArray[np.intp]
    trainable: NDArray[np.bool_]

    @classmethod
    def of(
        cls,
        audit_features: Any,
        audit_labels: list[Any],
        eval_features: Any,
        eval_labels: list[Any],
        train_on_eval: bool,
    ) -> _RandomSample:
        m = len(audit_labels)
        if eval_features is None:
            everything = np.arange(m, dtype=np.intp)
            return cls(audit_features, audit_labels, everything, np.ones(m, dtype=bool))
        stack = (
            sp.vstack if sp.issparse(audit_features) or sp.issparse(eval_features) else np.vstack
        )
        features = stack([audit_features, eval_features]) if m else eval_features
        e = len(eval_labels)
        trainable = np.concatenate([np.ones(m, dtype=bool), np.full(e, train_on_eval)])
        return cls(
            features, audit_labels + eval_labels, np.arange(m, m + e, dtype=np.intp), trainable
        )

    @property
    def cross_validated(self) -> bool:
        return bool(self.trainable[self.scoring].any())

    @property
    def n_train(self) -> int:
        return int(self.trainable.sum())

    @property
    def n_scored(self) -> int:
        return int(self.scoring.size)

    def folds(self, rng: np.random.Generator) -> list[NDArray[np.intp]]:
        if not self.cross_validated:
            return [self.scoring]
        k = _CV_FOLDS if self.n_train == self.n_scored else _CV_FOLDS_WITH_EVAL
        return [f.astype(np.intp) for f in np.array_split(rng.permutation(self.scoring), k)]


def _random_curve(
    learner: Any,
    sample: _RandomSample,
    scorer: Scorer,
    prior: dict[str, float] | None,
    n_subsets: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], int]:
    """Scores of the learner trained on random subsets of increasing size: (sizes, scores,
    largest size). Each score is one draw per fold, the folds' scores weighted by size, so
    it is a score on every scoring item."""
    y = _keys(sample.labels)
    folds = sample.folds(rng)
    candidates = [np.flatnonzero(sample.trainable & ~np.isin(np.arange(y.size), f)) for f in folds]
    largest = min(min(_largest_subset(y[c], prior) for c in candidates), _MAX_SUBSET)
    # Start where every class could have its share of labels: below that the curve
    # mostly measures which classes a subset happened to draw, and is flatter than
    # what follows (on CLINC150, fitting from 1.4 labels per class instead of 2 put
    # accuracy 0.908 at 1,967 random labels instead of 1,696; the curve has it at 1,572).
    floor = MIN_RANDOM_PER_CLASS * len(set(y[sample.trainable].tolist()))
    smallest = min(max(_SMALLEST_SHARE * largest, floor, 8), largest / 2)
    sizes = np.unique(np.geomspace(smallest, largest, _N_SIZES).astype(np.intp))
    out_sizes, out_scores = [], []
    for size in sizes:
        for _ in range(n_subsets):
            total, weight = 0.0, 0
            for fold, pool in zip(folds, candidates, strict=True):
                subset = _draw(y, pool, int(size), prior, rng)
                if len(set(y[subset].tolist())) < 2:
                    break
                model = clone(learner).fit(
                    _rows(sample.features, subset), [sample.labels[i] for i in subset]
                )
                labels = [sample.labels[i] for i in fold]
                total += scorer(model, _rows(sample.features, fold), labels) * fold.size
                weight += fold.size
            else:
                out_sizes.append(float(size))
                out_scores.append(total / weight)
    return np.asarray(out_sizes), np.asarray(out_scores), int(largest)


def _eval_shift(
    learner: Any,
    sample: _RandomSample,
    scorer: Scorer,
    prior: dict[str, float] | None,
    rng: np.random.Generator,
    n_draws: int = 6,
) -> float:
    """Mean score gap, over paired draws, between models trained on evaluation labels and on
    as many audit labels, each scored on the same held-out evaluation fold."""
    y = _keys(sample.labels)
    audit = np.flatnonzero(sample.trainable & ~np.isin(np.arange(y.size), sample.scoring))
    size = max(int(0.8 * audit.size), 2)
    folds = sample.folds(rng)
    gaps = []
    for _ in range(n_draws):
        gap, weight = 0.0, 0
        for fold in folds:
            evaluation = np.setdiff1d(sample.scoring, fold)
            pair = (
                _draw(y, evaluation, size, prior, rng),
                rng.choice(audit, size=size, replace=False),
            )
            if any(len(set(y[p].tolist())) < 2 for p in pair):
                continue
            labels = [sample.labels[i] for i in fold]
            scores = [
                scorer(
                    clone(learner).fit(_rows(sample.features, p), [sample.labels[i] for i in p]),
                    _rows(sample.features, fold),
                    labels,
                )
                for p in pair
            ]
            gap += (scores[0] - scores[1]) * fold.size
            weight += fold.size
        if weight:
            gaps.append(gap / weight)
    return float(np.mean(gaps)) if gaps else 0.0


def _largest_subset(y: NDArray[Any], prior: dict[str, float] | None) -> int:
    """The largest subset of ``y`` that can follow ``prior`` to within the slack.

    Only the classes the random labels hold can be drawn, so the prior is renormalised
    over them (``_draw`` does the same); a class the pool has but no random label names
    would otherwise rule out every size.
    """
    if prior is None:
        return int(y.size)
    available = Counter(y.tolist())
    weights = {c: w for c, w in prior.items() if w > 0 and available.get(c, 0) > 0}
    if not weights:
        return int(y.size)
    total = sum(weights.values())
    shares = {c: w / total for c, w in weights.items()}

    def short(n: int) -> float:
        return sum(max(n * p - available.get(c, 0), 0.0) for c, p in shares.items())

    low, high = 1, int(y.size)
    while low < high:
        mid = (low + high + 1) // 2
        if short(mid) <= _MIX_SLACK * mid:
            low = mid
        else:
            high = mid - 1
    return low


def _draw(
    y: NDArray[Any],
    pool: NDArray[np.intp],
    size: int,
    prior: dict[str, float] | None,
    rng: np.random.Generator,
) -> NDArray[np.intp]:
    """``size`` items of ``pool`` at random; with a prior, each item's chance follows its
    class's share in the prior over its share among the candidates (classes the prior
    lacks are not drawn)."""
    if prior is None or size >= pool.size:
        return rng.choice(pool, size=min(size, pool.size), replace=False)
    counts = Counter(y[pool].tolist())
    total = sum(prior.values())
    weight = np.array([prior.get(c, 0.0) / total / counts[c] for c in y[pool]], dtype=np.float64)
    if np.count_nonzero(weight) < size:
        return rng.choice(pool, size=size, replace=False)
    return rng.choice(pool, size=size, replace=False, p=weight / weight.sum())


def _keys(labels: Sequence[Any]) -> NDArray[Any]:
    """Hashable labels as a 1-D object array (multi-label tuples of equal length would
    otherwise become a 2-D array)."""
    out = np.empty(len(labels), dtype=object)
    for i, value in enumerate(labels):
        out[i] = _key(value)
    return out


def _key(value: Any) -> Any:
    """A hashable form of a label (multi-label sets as sorted tuples)."""
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(sorted(map(str, value)))
    return str(value) if not isinstance(value, np.ndarray) else tuple(value.tolist())


def _rows(features: Any, index: NDArray[np.intp]) -> Any:
    return features[index]


def _binomial_se(p: float, n: int) -> float:
    q = min(max(float(p), 1e-3), 1 - 1e-3)
    return math.sqrt(q * (1 - q) / max(n, 1))


def _subset_noise(
    sizes: NDArray[np.float64], scores: NDArray[np.float64], *, floor: float
) -> NDArray[np.float64]:
    """Each observation's standard error: the scatter between random subsets of one size,
    smoothed as ``k / sqrt(n)`` across sizes (the largest size may be the whole sample and
    have no scatter of its own), never below the scoring set's own error."""
    ks = [
        float(np.std(scores[sizes == n], ddof=1)) * math.sqrt(n)
        for n in np.unique(sizes)
        if np.sum(sizes == n) > 1
    ]
    k = float(np.median(ks)) if ks else 0.0
    return np.asarray(np.maximum(k / np.sqrt(sizes), floor))


def _lacking(base: RandomLabelsEstimate, missing: int, reason: str) -> RandomLabelsEstimate:
    return RandomLabelsEstimate(
        **{**asdict(base), "reason": reason, "audit_labels_needed": int(missing)}
    )


def _n_rows(features: Any) -> int:
    return int(features.shape[0]) if hasattr(features, "shape") else len(features)
