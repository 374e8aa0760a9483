"""Fitted learning curves: how a model's score grows with random labels, and how many
labels a score would take, with an interval.

The random-sampling curve a project *would* have had is only ever observed at a few
label counts (random subsets of its random audit labels), yet the question it answers
("how many random labels would reach today's accuracy?") usually lies past the largest
of them. So the observations are summarised by an inverse power law, the learning-curve
model Mukherjee et al. (2003) and Figueroa et al. (2012) fit to predict the sample size a
classifier needs::

    score(n) = asymptote - scale * n ** -exponent

and its uncertainty by a wild bootstrap of the fit's residuals, with an optional shared
shift per draw for the error every point has in common (one evaluation set scores them
all). :meth:`CurveFit.labels_for` inverts the curve for a target score and reads the
interval off the bootstrap draws; when the target lies above a draw's asymptote that
draw says "never", and the interval's upper end is infinite.

Extrapolating far past the observations is where this is weakest: with fewer random
labels than classes, the small-subset curve mostly measures which classes were seen at
all, and a fitted asymptote runs to the ceiling (see the tests for what it does
recover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares
from scipy.stats import chi2, norm

from labelwise._typing import RandomStateLike
from labelwise._validation import check_positive_int, check_random_state

__all__ = ["CurveFit", "LabelsEstimate", "PowerLawCurve", "fit_learning_curve"]

#: Starting exponents tried by the fit; the best (least squares) solution wins. Learning
#: curves of text classifiers have exponents from about 0.2 to 1.
_START_EXPONENTS = (0.25, 0.5, 1.0)
#: The largest exponent allowed: steeper than 1/n^3 is no learning curve but a step.
_MAX_EXPONENT = 3.0


@dataclass(frozen=True)
class PowerLawCurve:
    """``score(n) = asymptote - scale * n ** -exponent`` for ``n`` labels.

    Attributes
    ----------
    asymptote : float
        The score with unlimited labels.
    scale : float > 0
    exponent : float > 0
        How fast the gap to the asymptote closes.
    """

    asymptote: float
    scale: float
    exponent: float

    def score_at(self, n_labels: float | Sequence[float] | NDArray[Any]) -> NDArray[np.float64]:
        """The curve's score at ``n_labels`` (array of shape like the input)."""
        n = np.asarray(n_labels, dtype=np.float64)
        if np.any(n <= 0):
            raise ValueError(f"n_labels must be positive. Got {n[n <= 0][:5].tolist()}.")
        return np.asarray(self.asymptote - self.scale * n ** (-self.exponent))

    def labels_for(self, score: float) -> float:
        """The label count at which the curve reaches ``score``; ``inf`` when it never does.

        A score at or below the curve's value at one label needs at most one label.
        """
        gap = self.asymptote - float(score)
        if gap <= 0:
            return float("inf")
        return float(max(1.0, (self.scale / gap) ** (1.0 / self.exponent)))


@dataclass(frozen=True)
class LabelsEstimate:
    """How many labels a target score takes: a point estimate and an interval.

    Attributes
    ----------
    target : float
    labels : float
        From the curve fitted to all observations; ``inf`` if it never reaches ``target``.
    low, high : float
        The interval's ends (``level`` central share of the bootstrap draws). ``high`` is
        ``inf`` when more than ``(1 - level) / 2`` of the draws never reach the target.
    level : float
    """

    target: float
    labels: float
    low: float
    high: float
    level: float

    @property
    def bounded(self) -> bool:
        """True when the point and both ends are finite."""
        return bool(np.isfinite(self.labels) and np.isfinite(self.high))


@dataclass(frozen=True)
class CurveFit:
    """A power-law learning curve fitted to observations, with bootstrap draws.

    Attributes
    ----------
    curve : PowerLawCurve
        Fitted to the observations as given.
    draws : tuple of PowerLawCurve
        Refits to bootstrap replicates of the observations.
    n_labels, scores : ndarray of shape (n_observations,)
        The observations.
    sigma : ndarray of shape (n_observations,) or None
        Their standard errors as given to the fit (None: equal weights).
    ceiling : float
        The largest asymptote the fit allowed.
    """

    curve: PowerLawCurve
    draws: tuple[PowerLawCurve, ...]
    n_labels: NDArray[np.float64]
    scores: NDArray[np.float64]
    sigma: NDArray[np.float64] | None = None
    ceiling: float = 1.0

    def profile_labels_for(
        self, target: float, *, level: float = 0.9, target_se: float = 0.0, n_grid: int = 40
    ) -> tuple[float, float]:
        """Labels needed to reach ``target``: an interval that lets the asymptote roam.

        The bootstrap interval of :meth:`labels_for` keeps the asymptote near its best fit,
        yet a few hundred labels rarely pin the asymptote (the full-data score), and near
        it the labels needed swing from hundreds to never. This interval profiles it: for
        each asymptote from the best observed score to the ceiling, the scale and exponent
        are refitted, and every asymptote whose fit is not rejected at ``level`` (weighted
        chi-square within the ``level`` quantile of one degree of freedom of the best) adds
        its label count, at the target moved ``z * target_se`` either way.

        The observations' standard errors are those given to the fit (``sigma``), else the
        best fit's residual scatter. The scale and exponent are refitted, not varied, at
        each asymptote: :meth:`labels_for`'s bootstrap carries their uncertainty, and
        :func:`~labelwise.evaluation.estimate_random_labels` reports the union of both.

        Returns
        -------
        (low, high) : float
            ``high`` is ``inf`` when an accepted asymptote lies at or below the target.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1). Got {level!r}.")
        if self.sigma is None:
            # No standard errors given: the best fit's residual scatter stands in for them.
            residual = self.scores - self.curve.score_at(self.n_labels)
            spread = np.sqrt(np.sum(residual**2) / max(self.scores.size - 3, 1))
            s = np.full_like(self.scores, max(float(spread), 1e-6))
        else:
            s = self.sigma
        top = float(np.max(self.scores))
        gaps = np.geomspace(1e-4, max(self.ceiling - top, 2e-4), n_grid)
        fits = [_fit_with_asymptote(self.n_labels, self.scores, s, top + g) for g in gaps]
        best = min(cost for _, cost in fits)
        allowed = float(chi2.ppf(level, df=1)) / 2.0  # costs are half chi-squares
        z = float(norm.ppf(0.5 + level / 2.0))
        low, high = np.inf, 0.0
        for curve, cost in fits:
            if cost - best > allowed:
                continue
            low = min(low, curve.labels_for(target - z * target_se))
            high = max(high, curve.labels_for(target + z * target_se))
        return float(low), float(high)

    def labels_for(
        self,
        target: float,
        *,
        level: float = 0.9,
        target_se: float = 0.0,
        random_state: RandomStateLike = 0,
    ) -> LabelsEstimate:
        """Labels needed to reach ``target``, with a ``level`` interval.

        Parameters
        ----------
        target : float
            The score to reach (e.g. today's accuracy of the active-learning model).
        level : float in (0, 1)
            Central share of the bootstrap draws the interval holds.
        target_se : float >= 0
            Standard error of ``target`` itself when it is an estimate (it is scored on a
            finite evaluation set): each draw is paired with a target drawn from a normal
            distribution around it, so the interval carries both uncertainties.
        random_state : int, Generator or None
            For the target draws.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1). Got {level!r}.")
        if not target_se >= 0:
            raise ValueError(f"target_se must be >= 0. Got {target_se!r}.")
        rng = check_random_state(random_state)
        targets = target + target_se * rng.standard_normal(len(self.draws))
        needed = np.array([d.labels_for(t) for d, t in zip(self.draws, targets, strict=True)])
        tail = (1.0 - level) / 2.0
        # np.quantile handles inf (draws that never reach the target) as the largest value.
        low, high = np.quantile(needed, [tail, 1.0 - tail], method="inverted_cdf")
        return LabelsEstimate(
            target=float(target),
            labels=self.curve.labels_for(target),
            low=float(low),
            high=float(high),
            level=float(level),
        )


def _fit_with_asymptote(
    n: NDArray[np.float64], y: NDArray[np.float64], sigma: NDArray[np.float64], asymptote: float
) -> tuple[PowerLawCurve, float]:
    """Weighted least squares over ``(log scale, exponent)`` with the asymptote held; the
    curve and its cost (half the weighted sum of squared residuals)."""

    def residuals(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        log_b, c = theta
        return np.asarray((asymptote - np.exp(log_b) * n ** (-c) - y) / sigma)

    best: Any = None
    for c0 in _START_EXPONENTS:
        gap0 = max(asymptote - float(y[np.argmin(n)]), 1e-3)
        start = np.array([np.log(gap0 * float(np.min(n)) ** c0), c0])
        fit = least_squares(
            residuals, start, bounds=([-20.0, 1e-3], [20.0, _MAX_EXPONENT]), method="trf"
        )
        if best is None or fit.cost < best.cost:
            best = fit
    log_b, c = best.x
    curve = PowerLawCurve(asymptote=float(asymptote), scale=float(np.exp(log_b)), exponent=float(c))
    return curve, float(best.cost)


def _fit(
    n: NDArray[np.float64],
    y: NDArray[np.float64],
    sigma: NDArray[np.float64],
    ceiling: float,
    start_from: PowerLawCurve | None = None,
) -> PowerLawCurve:
    """Weighted least squares over ``(asymptote, log scale, exponent)``, best of a few
    starts (or one: ``start_from``, for bootstrap refits near the original fit)."""

    def residuals(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        a, log_b, c = theta
        return np.asarray((a - np.exp(log_b) * n ** (-c) - y) / sigma)

    top = float(np.max(y))
    lower = np.array([top - 1.0, -20.0, 1e-3])
    upper = np.array([ceiling, 20.0, _MAX_EXPONENT])
    starts = []
    if start_from is not None:
        theta = [start_from.asymptote, np.log(start_from.scale), start_from.exponent]
        starts.append(np.clip(theta, lower + 1e-9, upper - 1e-9))
    else:
        for c0 in _START_EXPONENTS:
            a0 = min(ceiling, top + 0.5 * (ceiling - top))
            # The scale that puts the start through the first observation.
            gap0 = max(a0 - float(y[np.argmin(n)]), 1e-3)
            starts.append(np.array([a0, np.log(gap0 * float(np.min(n)) ** c0), c0]))
    best: Any = None
    for start in starts:
        fit = least_squares(residuals, start, bounds=(lower, upper), method="trf")
        if best is None or fit.cost < best.cost:
            best = fit
    a, log_b, c = best.x
    return PowerLawCurve(asymptote=float(a), scale=float(np.exp(log_b)), exponent=float(c))


def fit_learning_curve(
    n_labels: Sequence[float] | NDArray[Any],
    scores: Sequence[float] | NDArray[Any],
    *,
    sigma: Sequence[float] | NDArray[Any] | None = None,
    shared_se: float = 0.0,
    ceiling: float = 1.0,
    n_bootstrap: int = 200,
    random_state: RandomStateLike = 0,
) -> CurveFit:
    """Fit ``score(n) = a - b * n**-c`` to observed (labels, score) points, with bootstrap draws.

    Parameters
    ----------
    n_labels : array of shape (n_observations,)
        Label counts (> 0); a count may repeat (several random subsets of one size).
    scores : array of shape (n_observations,)
        The score observed at each count, e.g. accuracy on an evaluation set.
    sigma : array of shape (n_observations,), optional
        Each observation's standard error (e.g. ``sqrt(p (1 - p) / n_eval)``, or the spread
        of repeated subsets): weights of the fit and scale of its bootstrap noise. Equal
        weights when omitted.
    shared_se : float >= 0, default 0
        Standard error every observation shares: one evaluation set scores them all, so
        its sampling error shifts the whole curve, not single points. Each bootstrap draw
        shifts all its observations by one normal draw of this size.
    ceiling : float, default 1.0
        The largest asymptote allowed (1.0 for accuracy or F1); raised to the largest
        score when a score exceeds it.
    n_bootstrap : int >= 1, default 200
        Bootstrap refits.
    random_state : int, Generator or None

    Returns
    -------
    CurveFit

    Raises
    ------
    ValueError
        Fewer than three distinct label counts (a three-parameter curve is not identified),
        mismatched shapes, non-positive counts or non-finite values.

    Notes
    -----
    The bootstrap is a wild bootstrap: each draw refits to ``fitted + residual * s`` with
    ``s`` random signs, so points keep their own noise level (small subsets scatter more)
    and a single observation per count is enough.
    """
    n = np.asarray(n_labels, dtype=np.float64).reshape(-1)
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    if n.shape != y.shape:
        raise ValueError(
            f"n_labels and scores must have the same length. Got {n.size} and {y.size}."
        )
    if not (np.all(np.isfinite(n)) and np.all(np.isfinite(y))):
        raise ValueError("n_labels and scores must be finite numbers.")
    if np.any(n <= 0):
        raise ValueError(f"n_labels must be positive. Got {n[n <= 0][:5].tolist()}.")
    if np.unique(n).size < 3:
        raise ValueError(
            "A learning curve needs scores at three or more distinct label counts; got "
            f"{np.unique(n).size} ({sorted(set(n.tolist()))})."
        )
    if sigma is None:
        s = np.ones_like(y)
    else:
        s = np.asarray(sigma, dtype=np.float64).reshape(-1)
        if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError("sigma must hold one positive, finite standard error per score.")
    if not shared_se >= 0:
        raise ValueError(f"shared_se must be >= 0. Got {shared_se!r}.")
    # A score above the ceiling (a metric that is not a share) lifts it: the asymptote
    # must be free to reach what was observed.
    ceiling = max(float(ceiling), float(np.max(y)))
    n_bootstrap = check_positive_int(n_bootstrap, "n_bootstrap", "fit_learning_curve")
    rng = check_random_state(random_state)

    curve = _fit(n, y, s, ceiling)
    fitted = curve.score_at(n)
    # Residuals of a three-parameter fit understate the noise by sqrt((m - 3) / m).
    inflate = np.sqrt(y.size / max(y.size - 3, 1))
    residual = (y - fitted) * inflate
    draws = []
    for _ in range(n_bootstrap):
        signs = rng.choice(np.array([-1.0, 1.0]), size=y.size)
        shift = shared_se * rng.standard_normal()
        replicate = np.clip(fitted + residual * signs + shift, None, ceiling)
        draws.append(_fit(n, replicate, s, ceiling, start_from=curve))
    return CurveFit(
        curve=curve,
        draws=tuple(draws),
        n_labels=n,
        scores=y,
        sigma=None if sigma is None else s,
        ceiling=ceiling,
    )
