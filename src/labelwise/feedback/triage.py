"""Expected impact of reviewing a user's report, and the orders it is compared with.

The score of a report is ``P(report true) x value of the fix``:

- ``P(report true)`` combines two independent pieces of evidence in odds form (naive
  Bayes): the reporting channel's reliability ``r`` (how often its reports were confirmed,
  :class:`ChannelReliability`) is the prior, and the current model's probability ``p`` of
  the label production answered is the likelihood: a model that finds the production
  answer unlikely backs the report. ``P = r (1 - p) / (r (1 - p) + (1 - r) p)``.
- the value of the fix grows with how unsure the current model still is there
  (``1 - margin``: a confident model has little to learn from the label) and with the
  traffic density around the message (``density ** density_power``: a fix that covers
  many similar messages fixes more of production).

The current model's top-two margin therefore enters twice by design: through ``p`` (its
disagreement with production) and through the value (how much is left to learn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray, ProbaArray

#: The Beta prior of a channel's reliability: one confirmed and no rejected pseudo-report
#: over a uniform Beta(1, 1), i.e. mean 2/3, worth three reports. Users who bother to
#: report usually did hit a failure, so the prior leans true, but weakly: after about ten
#: reviewed reports a channel's own record dominates.
PRIOR: tuple[float, float] = (2.0, 1.0)
#: The model's probability of the production label is kept inside [EPS, 1 - EPS], so one
#: overconfident model cannot make a report certain either way.
EPS = 0.02


@dataclass(frozen=True)
class ChannelReliability:
    """How often each reporting channel's reports are true: a Beta posterior per channel.

    Parameters
    ----------
    confirmed, rejected : mapping of str to int
        Reviewed reports per channel: confirmed (true) and rejected (false).
    prior : (alpha, beta)
        The Beta prior every channel starts from (default :data:`PRIOR`).

    Examples
    --------
    >>> r = ChannelReliability({"web": 8}, {"web": 2})
    >>> round(r.probability("web"), 4)  # (2 + 8) / (2 + 1 + 8 + 2)
    0.7692
    >>> round(r.probability("never seen"), 4)  # the prior mean
    0.6667
    """

    confirmed: Mapping[str, int] = field(default_factory=dict)
    rejected: Mapping[str, int] = field(default_factory=dict)
    prior: tuple[float, float] = PRIOR

    def __post_init__(self) -> None:
        alpha, beta = self.prior
        if not (alpha > 0 and beta > 0):
            raise ValueError(f"prior must be two positive numbers; got {self.prior!r}")
        for name, counts in (("confirmed", self.confirmed), ("rejected", self.rejected)):
            for channel, n in counts.items():
                if n < 0:
                    raise ValueError(f"{name}[{channel!r}] must be >= 0; got {n}")

    @classmethod
    def from_reviews(
        cls,
        channels: Sequence[str],
        confirmed: Sequence[bool],
        *,
        prior: tuple[float, float] = PRIOR,
    ) -> Self:
        """Count reviews: ``channels[i]`` reported, ``confirmed[i]`` says whether it was true."""
        if len(channels) != len(confirmed):
            raise ValueError(
                f"{len(channels)} channels and {len(confirmed)} outcomes; they must match"
            )
        yes: dict[str, int] = {}
        no: dict[str, int] = {}
        for channel, ok in zip(channels, confirmed, strict=True):
            target = yes if ok else no
            target[channel] = target.get(channel, 0) + 1
        return cls(yes, no, prior)

    def probability(self, channel: str) -> float:
        """Posterior mean of P(a report from ``channel`` is true)."""
        alpha, beta = self.prior
        yes = self.confirmed.get(channel, 0)
        no = self.rejected.get(channel, 0)
        return (alpha + yes) / (alpha + beta + yes + no)

    def probabilities(self, channels: Sequence[str]) -> NDArray[np.float64]:
        """:meth:`probability` of each channel, shape (n_reports,)."""
        cache: dict[str, float] = {}
        out = np.empty(len(channels), dtype=np.float64)
        for i, channel in enumerate(channels):
            if channel not in cache:
                cache[channel] = self.probability(channel)
            out[i] = cache[channel]
        return out


@dataclass(frozen=True)
class ReportRanking:
    """Reports in review order, with the parts of their score.

    Attributes
    ----------
    order : ndarray of shape (n_reports,), int
        Report indices, the first to review first.
    scores : ndarray of shape (n_reports,)
        Expected impact of each report (indexed by report, not by rank).
    p_true : ndarray of shape (n_reports,)
        P(report true) of each report.
    value : ndarray of shape (n_reports,)
        Value of fixing each report's message.
    """

    order: IndexArray
    scores: NDArray[np.float64]
    p_true: NDArray[np.float64]
    value: NDArray[np.float64]


def production_label_evidence(
    proba: ProbaArray, production_columns: Sequence[int] | NDArray[np.intp]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The current model's probability of each production label, and its top-two margin.

    Parameters
    ----------
    proba : ndarray of shape (n_reports, n_classes)
        The current model's probabilities for the reported messages.
    production_columns : sequence of int, shape (n_reports,)
        The column of the label production answered; ``-1`` when production answered
        nothing or a label outside the schema.

    Returns
    -------
    p_production : ndarray of shape (n_reports,)
        ``proba[i, production_columns[i]]``; NaN where the column is -1 (no evidence).
    margin : ndarray of shape (n_reports,)
        Top-1 minus top-2 probability (1.0 with a single class).
    """
    P = np.asarray(proba, dtype=np.float64)
    if P.ndim != 2:
        raise ValueError(f"proba must be 2-D (n_reports, n_classes); got shape {P.shape}")
    cols = np.asarray(production_columns, dtype=np.intp)
    if cols.shape != (P.shape[0],):
        raise ValueError(f"production_columns must have shape ({P.shape[0]},); got {cols.shape}")
    if np.any((cols < -1) | (cols >= P.shape[1])):
        raise ValueError(f"production_columns must be in [-1, {P.shape[1] - 1}]")
    p = np.full(P.shape[0], np.nan)
    known = cols >= 0
    p[known] = P[np.flatnonzero(known), cols[known]]
    if P.shape[1] < 2:
        margin = np.ones(P.shape[0])
    else:
        top2 = -np.partition(-P, 1, axis=1)[:, :2]
        margin = top2[:, 0] - top2[:, 1]
    return p, margin


def report_truth_probability(
    p_production: NDArray[np.float64], reliability: NDArray[np.float64]
) -> NDArray[np.float64]:
    """P(report true) from the channel's reliability (prior) and the model's evidence.

    ``r (1 - p) / (r (1 - p) + (1 - r) p)`` with ``p`` clipped to ``[EPS, 1 - EPS]``; a
    NaN ``p`` (no production label to judge) leaves the channel's reliability as it is.

    Examples
    --------
    >>> report_truth_probability(np.array([0.5, 0.1, np.nan]), np.array([0.7, 0.5, 0.7]))
    array([0.7, 0.9, 0.7])
    """
    p = np.clip(np.asarray(p_production, dtype=np.float64), EPS, 1 - EPS)
    r = np.clip(np.asarray(reliability, dtype=np.float64), 0.0, 1.0)
    if p.shape != r.shape:
        raise ValueError(f"p_production {p.shape} and reliability {r.shape} must match")
    p = np.where(np.isnan(p), 0.5, p)
    yes = r * (1 - p)
    no = (1 - r) * p
    return np.asarray(yes / (yes + no), dtype=np.float64)


def rank_reports(
    p_production: NDArray[np.float64],
    margin: NDArray[np.float64],
    reliability: NDArray[np.float64],
    density: NDArray[np.float64] | None = None,
    *,
    density_power: float = 0.5,
) -> ReportRanking:
    """Order reports by expected model impact, ``P(true) x (1 - margin) x density ** power``.

    Parameters
    ----------
    p_production : ndarray of shape (n_reports,)
        The current model's probability of the production label (NaN: unknown); see
        :func:`production_label_evidence`.
    margin : ndarray of shape (n_reports,)
        The current model's top-two margin on each reported message, in [0, 1].
    reliability : ndarray of shape (n_reports,)
        P(true) of each report's channel, :meth:`ChannelReliability.probabilities`.
    density : ndarray of shape (n_reports,), optional
        Traffic around each message (near neighbours, or the message's group count),
        at least 1; default all 1 (no density term).
    density_power : float, default 0.5
        How strongly density weighs: 0 ignores it, 1 makes value proportional to it.
        The square root keeps one very frequent message from burying the rest.

    Returns
    -------
    ReportRanking
        Ties go to the earlier report (a stable sort), so the order is deterministic.

    Examples
    --------
    >>> r = rank_reports(np.array([0.9, 0.2]), np.array([0.5, 0.5]), np.array([0.7, 0.7]))
    >>> r.order.tolist()
    [1, 0]
    """
    p = np.asarray(p_production, dtype=np.float64)
    m = np.asarray(margin, dtype=np.float64)
    n = p.shape[0]
    if p.ndim != 1 or m.shape != (n,):
        raise ValueError(f"p_production {p.shape} and margin {m.shape} must both be (n_reports,)")
    if density_power < 0:
        raise ValueError(f"density_power must be >= 0; got {density_power!r}")
    d = np.ones(n) if density is None else np.asarray(density, dtype=np.float64)
    if d.shape != (n,):
        raise ValueError(f"density must have shape ({n},); got {d.shape}")
    p_true = report_truth_probability(p, np.asarray(reliability, dtype=np.float64))
    value = (1.0 - np.clip(m, 0.0, 1.0)) * np.maximum(d, 1.0) ** density_power
    scores = p_true * value
    order = np.argsort(-scores, kind="stable").astype(np.intp)
    return ReportRanking(order=order, scores=scores, p_true=p_true, value=value)


def margin_order(margin: NDArray[np.float64]) -> IndexArray:
    """Reports by the current model's margin alone, smallest first (ties: earlier first)."""
    return np.argsort(np.asarray(margin, dtype=np.float64), kind="stable").astype(np.intp)


def fifo_order(n_reports: int) -> IndexArray:
    """Reports in the order they arrived (first in, first out)."""
    if n_reports < 0:
        raise ValueError(f"n_reports must be >= 0; got {n_reports}")
    return np.arange(n_reports, dtype=np.intp)


def neighbour_counts(
    X_reports: NDArray[np.floating],
    X_traffic: NDArray[np.floating],
    *,
    threshold: float = 0.7,
    weights: NDArray[np.floating] | None = None,
    chunk_size: int = 1024,
) -> NDArray[np.float64]:
    """Traffic density around each reported message: how much traffic lies within cosine
    ``threshold`` of it.

    Parameters
    ----------
    X_reports : ndarray of shape (n_reports, d)
    X_traffic : ndarray of shape (n_traffic, d)
        L2-normalised rows (sentence embeddings), so a dot product is a cosine.
    threshold : float, default 0.7
    weights : ndarray of shape (n_traffic,), optional
        How often each traffic row was sent (default 1 each).
    chunk_size : int
        Reports compared per block (memory ``chunk_size x n_traffic``).

    Returns
    -------
    ndarray of shape (n_reports,)
        Summed weights of the traffic rows within the threshold (a report's own message,
        when it is part of the traffic, counts itself).
    """
    A = np.asarray(X_reports, dtype=np.float32)
    B = np.asarray(X_traffic, dtype=np.float32)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(
            f"X_reports {A.shape} and X_traffic {B.shape} must be 2-D with equal width"
        )
    w = np.ones(B.shape[0], dtype=np.float64) if weights is None else np.asarray(weights, float)
    if w.shape != (B.shape[0],):
        raise ValueError(f"weights must have shape ({B.shape[0]},); got {w.shape}")
    out = np.zeros(A.shape[0], dtype=np.float64)
    for start in range(0, A.shape[0], max(1, chunk_size)):
        block = A[start : start + chunk_size] @ B.T
        out[start : start + chunk_size] = (block >= threshold) @ w
    return out


def diversify(
    scores: NDArray[np.float64],
    neighbours: Sequence[NDArray[np.intp]],
    *,
    discount: float = 0.5,
) -> IndexArray:
    """Review order that spreads fixes over regions: greedy on ``scores``, each pick
    multiplying the scores of its not-yet-picked neighbours by ``discount``.

    A fix teaches the model about the messages around it, so a second report from the
    same region is worth less once the first is in the order (a coverage argument, as
    in batch-mode active learning's redundancy penalties).

    Parameters
    ----------
    scores : ndarray of shape (n_reports,)
        Expected impact, :attr:`ReportRanking.scores`.
    neighbours : sequence of n_reports int arrays
        ``neighbours[i]``: the reports similar to report ``i`` (itself may be included).
    discount : float in [0, 1]
        1 leaves the order by score; 0 puts every neighbour of a pick after all
        unrelated reports.

    Returns
    -------
    ndarray of shape (n_reports,), int
        Ties go to the earlier report.

    Examples
    --------
    >>> diversify(np.array([1.0, 0.9, 0.5]), [np.array([1]), np.array([0]), np.array([])])
    array([0, 2, 1])
    """
    s = np.asarray(scores, dtype=np.float64).copy()
    n = s.shape[0]
    if len(neighbours) != n:
        raise ValueError(f"neighbours has {len(neighbours)} entries for {n} reports")
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount must be in [0, 1]; got {discount!r}")
    taken = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.intp)
    for rank in range(n):
        masked = np.where(taken, -np.inf, s)
        pick = int(np.argmax(masked))  # the first of equal scores
        order[rank] = pick
        taken[pick] = True
        near = np.asarray(neighbours[pick], dtype=np.intp)
        s[near] *= discount
    return order


def same_confusion(
    production_labels: Sequence[object], model_labels: Sequence[object]
) -> list[IndexArray]:
    """Reports about the same confusion: production answered the same label and the
    current model prefers the same other one (the neighbours :func:`diversify` takes).

    Needs no embeddings, so the service computes it from what a report stores.

    Examples
    --------
    >>> [a.tolist() for a in same_confusion(["a", "a", "b"], ["b", "b", "a"])]
    [[1], [0], []]
    """
    if len(production_labels) != len(model_labels):
        raise ValueError(
            f"{len(production_labels)} production labels and {len(model_labels)} model labels"
        )
    groups: dict[tuple[object, object], list[int]] = {}
    keys = [(str(p), str(m)) for p, m in zip(production_labels, model_labels, strict=True)]
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return [
        np.array([j for j in groups[key] if j != i], dtype=np.intp) for i, key in enumerate(keys)
    ]


#: How much a second report on the same confusion is worth once one is ahead of it
#: in the order (see :func:`diversify`).
DISCOUNT = 0.7
#: The density exponent of :func:`triage` (see :func:`rank_reports`).
DENSITY_POWER = 0.5


def triage(
    p_production: NDArray[np.float64],
    margin: NDArray[np.float64],
    reliability: NDArray[np.float64],
    density: NDArray[np.float64] | None,
    production_labels: Sequence[object],
    model_labels: Sequence[object],
    *,
    density_power: float = DENSITY_POWER,
    discount: float = DISCOUNT,
) -> ReportRanking:
    """The review order of the service and of the feedback simulation: reports by
    expected impact (:func:`rank_reports`), spread over confusions (:func:`diversify`
    with :func:`same_confusion` neighbours).

    Returns
    -------
    ReportRanking
        ``scores`` are the undiscounted expected impacts; ``order`` the diversified order.
    """
    ranking = rank_reports(p_production, margin, reliability, density, density_power=density_power)
    if discount >= 1.0 or ranking.scores.size == 0:
        return ranking
    order = diversify(
        ranking.scores, same_confusion(production_labels, model_labels), discount=discount
    )
    return ReportRanking(
        order=order, scores=ranking.scores, p_true=ranking.p_true, value=ranking.value
    )
