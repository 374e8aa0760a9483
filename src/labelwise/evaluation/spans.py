"""Strict span-level scores for entity extraction, with bootstrap intervals.

A predicted span counts only when its (start, end, label) equals a true span of the
same sentence: a span one token short, or of the wrong type, is one false positive
and one false negative (the CoNLL / seqeval ``mode="strict"`` reading).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.data.spans import Span

__all__ = [
    "F1Interval",
    "SpanF1Bootstrap",
    "SpanScore",
    "SpanScores",
    "bootstrap_span_f1",
    "span_agreement",
    "span_scores",
]

SpanLike = Span | tuple[int, int, str]
"""A :class:`Span` or a plain ``(start, end, label)`` tuple."""

# Bootstrap weights are built this many (resample, sentence) cells at a time, so memory
# stays bounded (~32 MB) however large n_boot * n_sentences gets.
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class SpanScore:
    """Precision, recall and F1 of one group of spans.

    Attributes
    ----------
    precision : float
        Correct predicted spans / predicted spans (0 when nothing was predicted).
    recall : float
        Correct predicted spans / true spans (0 when there are no true spans).
    f1 : float
        Harmonic mean of precision and recall (0 when both are 0).
    support : int
        Number of true spans.
    """

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class SpanScores(SpanScore):
    """Micro-averaged scores over every type, and :class:`SpanScore` per type.

    Attributes
    ----------
    per_type : dict of str to SpanScore
        One entry per type seen in the truth or the predictions, sorted by name.
    """

    per_type: dict[str, SpanScore] = field(default_factory=dict)


@dataclass(frozen=True)
class F1Interval:
    """A point F1 and its bootstrap percentile interval ``[low, high]``."""

    f1: float
    low: float
    high: float


@dataclass(frozen=True)
class SpanF1Bootstrap:
    """Result of :func:`bootstrap_span_f1`.

    Attributes
    ----------
    overall : F1Interval
        Micro F1 over every type.
    per_type : dict of str to F1Interval
    n_boot : int
        Resamples drawn.
    alpha : float
        The intervals cover ``1 - alpha``.
    """

    overall: F1Interval
    per_type: dict[str, F1Interval]
    n_boot: int
    alpha: float


@dataclass(frozen=True)
class _Counts:
    """Per-sentence, per-type counts: arrays of shape (n_sentences, n_types)."""

    types: list[str]
    tp: NDArray[np.int64]
    fp: NDArray[np.int64]
    fn: NDArray[np.int64]


def _key(span: SpanLike) -> tuple[int, int, str]:
    if isinstance(span, Span):
        return span.start, span.end, span.label
    start, end, label = span
    return start, end, label


def _count(y_true: Sequence[Iterable[SpanLike]], y_pred: Sequence[Iterable[SpanLike]]) -> _Counts:
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must hold the same sentences; got {len(y_true)} and {len(y_pred)}"
        )
    # (sentence, type, outcome) for every span, counted in one pass afterwards.
    cells: list[tuple[int, str, int]] = []
    for i, (truth, guess) in enumerate(zip(y_true, y_pred, strict=True)):
        true_set = {_key(span) for span in truth}
        pred_set = {_key(span) for span in guess}
        cells += [(i, label, 0) for _, _, label in true_set & pred_set]
        cells += [(i, label, 1) for _, _, label in pred_set - true_set]
        cells += [(i, label, 2) for _, _, label in true_set - pred_set]
    types = sorted({label for _, label, _ in cells})
    column = {label: j for j, label in enumerate(types)}
    counts = np.zeros((3, len(y_true), len(types)), dtype=np.int64)
    if cells:
        sentence, label, outcome = zip(*cells, strict=True)
        np.add.at(counts, (list(outcome), list(sentence), [column[t] for t in label]), 1)
    return _Counts(types, counts[0], counts[1], counts[2])


def _ratio(num: NDArray[np.int64], den: NDArray[np.int64], empty: float) -> NDArray[np.float64]:
    """``num / den`` elementwise, ``empty`` where ``den`` is 0."""
    out = np.full(num.shape, empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _score(tp: int, fp: int, fn: int) -> SpanScore:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return SpanScore(precision=p, recall=r, f1=f1, support=tp + fn)


def span_scores(
    y_true: Sequence[Iterable[SpanLike]], y_pred: Sequence[Iterable[SpanLike]]
) -> SpanScores:
    """Strict span-level precision, recall and F1, overall (micro) and per type.

    Parameters
    ----------
    y_true, y_pred : sequence of length (n_sentences,) of iterables of Span
        The true and predicted spans of each sentence (a Span or a ``(start, end,
        label)`` tuple); a span repeated within a sentence counts once.

    Returns
    -------
    SpanScores
        Every ratio whose denominator is 0 is 0 (seqeval's ``zero_division=0``).

    Examples
    --------
    >>> s = span_scores([[Span(0, 4, "city")]], [[Span(0, 4, "city"), Span(5, 9, "city")]])
    >>> s.precision, s.recall, s.support
    (0.5, 1.0, 1)
    """
    counts = _count(y_true, y_pred)
    tp, fp, fn = (int(a.sum()) for a in (counts.tp, counts.fp, counts.fn))
    overall = _score(tp, fp, fn)
    per_type = {
        label: _score(
            int(counts.tp[:, j].sum()), int(counts.fp[:, j].sum()), int(counts.fn[:, j].sum())
        )
        for j, label in enumerate(counts.types)
    }
    return SpanScores(
        precision=overall.precision,
        recall=overall.recall,
        f1=overall.f1,
        support=overall.support,
        per_type=per_type,
    )


def _f1(tp: NDArray[np.int64], fp: NDArray[np.int64], fn: NDArray[np.int64]) -> NDArray[np.float64]:
    """F1 = 2tp / (2tp + fp + fn), elementwise; NaN where a group has no span at all."""
    return _ratio(2 * tp, 2 * tp + fp + fn, math.nan)


def _interval(f1: float, draws: NDArray[np.float64], alpha: float) -> F1Interval:
    """Percentile interval of ``draws`` (shape (n_boot,)), ignoring resamples where F1 is undefined."""
    kept = draws[~np.isnan(draws)]
    if kept.size == 0:
        return F1Interval(f1=f1, low=math.nan, high=math.nan)
    low, high = np.quantile(kept, [alpha / 2, 1 - alpha / 2])
    return F1Interval(f1=f1, low=float(low), high=float(high))


def bootstrap_span_f1(
    y_true: Sequence[Iterable[SpanLike]],
    y_pred: Sequence[Iterable[SpanLike]],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: RandomStateLike = None,
) -> SpanF1Bootstrap:
    """Strict span F1 with percentile bootstrap intervals, resampling sentences.

    Sentences (not spans) are drawn with replacement, because the spans of one sentence
    succeed or fail together. Each resample's F1 comes from the summed per-sentence
    counts, computed for all resamples at once as ``weights @ counts``.

    Parameters
    ----------
    y_true, y_pred : sequence of length (n_sentences,) of iterables of Span
    n_boot : int, default 1000
        Number of resamples.
    alpha : float, default 0.05
        Intervals cover ``1 - alpha`` (the ``alpha/2`` and ``1 - alpha/2`` quantiles).
    random_state : int, numpy Generator or None

    Returns
    -------
    SpanF1Bootstrap
        Point F1 as in :func:`span_scores`. A resample in which a type has neither true
        nor predicted spans says nothing about that type and is left out of its interval.
    """
    n_boot = check_positive_int(n_boot, "n_boot", "bootstrap_span_f1")
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(
            f"The 'alpha' parameter of bootstrap_span_f1 must be a float in (0, 1). Got {alpha!r} instead."
        )
    counts = _count(y_true, y_pred)
    n_sentences, n_types = counts.tp.shape
    if n_sentences == 0:
        raise ValueError("bootstrap_span_f1 needs at least one sentence; got 0")
    rng = check_random_state(random_state)
    # Columns: tp per type, fp per type, fn per type, then the three totals.
    table = np.hstack(
        [counts.tp, counts.fp, counts.fn]
        + [a.sum(axis=1, keepdims=True) for a in (counts.tp, counts.fp, counts.fn)]
    )
    sums = np.empty((n_boot, table.shape[1]), dtype=np.int64)
    block = max(1, _BLOCK_CELLS // n_sentences)
    uniform = np.full(n_sentences, 1.0 / n_sentences)
    for first in range(0, n_boot, block):
        size = min(block, n_boot - first)
        # How often each sentence is drawn in each resample: shape (size, n_sentences).
        weights = rng.multinomial(n_sentences, uniform, size=size)
        sums[first : first + size] = weights @ table
    tp, fp, fn = (sums[:, k * n_types : (k + 1) * n_types] for k in range(3))
    per_type_draws = _f1(tp, fp, fn)
    overall_draws = _f1(sums[:, -3], sums[:, -2], sums[:, -1])
    point = span_scores(y_true, y_pred)
    return SpanF1Bootstrap(
        overall=_interval(point.f1, overall_draws, alpha),
        per_type={
            label: _interval(point.per_type[label].f1, per_type_draws[:, j], alpha)
            for j, label in enumerate(counts.types)
        },
        n_boot=n_boot,
        alpha=float(alpha),
    )


def span_agreement(a: Sequence[Iterable[SpanLike]], b: Sequence[Iterable[SpanLike]]) -> float:
    """Span-level F1 between two annotators of the same sentences (symmetric in a and b).

    With one annotator taken as truth, F1 does not depend on which: it is
    ``2 * shared / (spans_a + spans_b)``, the positive specific agreement used for
    entity annotation, where chance-corrected kappa is undefined (no fixed set of
    negatives).

    Parameters
    ----------
    a, b : sequence of length (n_sentences,) of iterables of Span

    Returns
    -------
    float
        In [0, 1]; NaN when neither annotator marked any span (nothing to agree on).

    Examples
    --------
    >>> span_agreement([[Span(0, 4, "city")]], [[Span(0, 4, "city"), Span(5, 9, "city")]])
    0.6666666666666666
    """
    counts = _count(a, b)
    tp, fp, fn = (int(x.sum()) for x in (counts.tp, counts.fp, counts.fn))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
