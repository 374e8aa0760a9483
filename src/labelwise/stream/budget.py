"""An adaptive admission threshold over a stream, so that admissions meet a label budget.

Each offered message carries a score (its expected impact) and a time. The manager
admits it when its score reaches the ``1 - rate`` quantile of a window of recent scores,
where ``rate`` is what the period's budget still allows per offer expected before the
period ends: ``(budget - admitted) / expected remaining offers``. Spending too fast
raises the threshold, spending too slowly lowers it (the balancing of scikit-activeml's
``BalancedIncrementalQuantileFilter``; the expected traffic per period is an estimate
from past periods and the current one, as ``EstimatedBudgetZliobaite`` estimates its
spending). A hard cap never admits more than the budget in one period.

Periods are UTC calendar days, or weeks starting on Monday 00:00 UTC. The whole state is
plain data (:class:`BudgetState`, JSON round trip), so a service can persist it between
batches and a restarted worker goes on where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Period name -> length in seconds.
PERIODS: dict[str, float] = {"day": 86_400.0, "week": 604_800.0}
#: Periods start at this Unix time plus whole periods: 1970-01-05 was a Monday, so weeks
#: start on Mondays; days start at midnight UTC either way.
_ORIGIN = 4 * 86_400.0
#: Past periods kept in the state (for the dashboard and the traffic estimate).
_HISTORY = 30


@dataclass
class BudgetState:
    """What a :class:`BudgetManager` remembers between batches (plain data).

    Attributes
    ----------
    period_start : float or None
        Unix seconds at which the current period began (None before the first offer).
    first_offer : float or None
        Unix seconds of the current period's first offer (the traffic estimate covers
        the period from there on).
    offered, admitted : int
        Offers seen and admitted in the current period.
    expected : float or None
        Estimated offers per period, smoothed over past periods (None: no past period).
    threshold : float
        The last admission threshold used (for the dashboard).
    window : list of float
        The most recent scores, oldest first.
    history : list of [float, int, int]
        Past periods as ``[period_start, offered, admitted]``, oldest first.
    """

    period_start: float | None = None
    first_offer: float | None = None
    offered: int = 0
    admitted: int = 0
    expected: float | None = None
    threshold: float = 0.0
    window: list[float] = field(default_factory=list)
    history: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetState:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown budget state field(s) {unknown}")
        state = cls(**dict(data))
        state.window = [float(v) for v in state.window]
        state.history = [list(row) for row in state.history]
        return state


@dataclass(frozen=True)
class BudgetManager:
    """Admit stream items so that each period's admissions meet ``budget``.

    Parameters
    ----------
    budget : int
        Labels per period (>= 1).
    period : {"day", "week"}
        The budget's period.
    window_size : int
        Recent scores the threshold is a quantile of.
    smoothing : float
        Weight of the last finished period in the traffic estimate (exponential
        smoothing over periods), in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> manager = BudgetManager(budget=10, period="day")
    >>> rng = np.random.default_rng(0)
    >>> times = np.linspace(0, 86_400 * 3, 3000, endpoint=False)
    >>> admitted, state = manager.admit(manager.start(), rng.random(3000), times)
    >>> int(admitted.sum()) <= 30
    True
    """

    budget: int
    period: str = "day"
    window_size: int = 500
    smoothing: float = 0.5

    def _check(self) -> float:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ValueError(f"budget must be an int >= 1; got {self.budget!r}")
        if self.period not in PERIODS:
            raise ValueError(f"period must be one of {sorted(PERIODS)}; got {self.period!r}")
        if not isinstance(self.window_size, int) or self.window_size < 1:
            raise ValueError(f"window_size must be an int >= 1; got {self.window_size!r}")
        if not 0 < self.smoothing <= 1:
            raise ValueError(f"smoothing must be in (0, 1]; got {self.smoothing!r}")
        return PERIODS[self.period]

    def start(self) -> BudgetState:
        """A fresh state: nothing offered yet."""
        self._check()
        return BudgetState()

    def period_of(self, when: float) -> float:
        """Unix seconds at which the period holding ``when`` (Unix seconds) began."""
        length = self._check()
        return math.floor((when - _ORIGIN) / length) * length + _ORIGIN

    def admit(
        self,
        state: BudgetState,
        scores: NDArray[np.floating],
        times: NDArray[np.floating],
    ) -> tuple[NDArray[np.bool_], BudgetState]:
        """Decide, in order, which offered items are admitted.

        Parameters
        ----------
        state : BudgetState
            The state after the previous batch (not modified).
        scores : ndarray of shape (n_samples,)
            Each offer's expected impact (>= 0; 0 is never admitted).
        times : ndarray of shape (n_samples,)
            Each offer's time in Unix seconds, non-decreasing.

        Returns
        -------
        admitted : ndarray of shape (n_samples,), bool
        state : BudgetState
            The state after this batch.
        """
        length = self._check()
        scores = np.asarray(scores, dtype=np.float64)
        times = np.asarray(times, dtype=np.float64)
        if scores.ndim != 1 or scores.shape != times.shape:
            raise ValueError(
                f"scores and times must be 1-d of one length; got {scores.shape} and {times.shape}"
            )
        if scores.size and not (np.isfinite(scores).all() and scores.min() >= 0):
            raise ValueError("scores must be finite and >= 0")
        if times.size and not np.isfinite(times).all():
            raise ValueError("times must be finite Unix seconds")
        if times.size > 1 and np.any(np.diff(times) < 0):
            raise ValueError("times must be non-decreasing (offers in arrival order)")
        s = replace(state, window=list(state.window), history=[list(h) for h in state.history])
        if s.period_start is not None and times.size and times[0] < s.period_start:
            raise ValueError("an offer is older than the current period; offers go forward in time")
        admitted = np.zeros(scores.shape[0], dtype=bool)
        window = list(s.window)
        for i, (score, when) in enumerate(zip(scores.tolist(), times.tolist(), strict=True)):
            start = self.period_of(when)
            if s.period_start is None or start > s.period_start:
                self._roll(s, start, when, length)
            s.offered += 1
            window.append(score)
            if len(window) > self.window_size:
                del window[: len(window) - self.window_size]
            rate = self._rate(s, when, length)
            threshold = float(np.quantile(window, 1.0 - rate)) if rate < 1 else 0.0
            s.threshold = threshold
            if score > 0 and score >= threshold and s.admitted < self.budget:
                admitted[i] = True
                s.admitted += 1
        s.window = window
        return admitted, s

    def _roll(self, s: BudgetState, start: float, when: float, length: float) -> None:
        """Close the current period (fold its traffic into the estimate) and open ``start``'s."""
        if s.period_start is not None:
            first = s.first_offer if s.first_offer is not None else s.period_start
            covered = (s.period_start + length - first) / length
            # A period joined late (the service started mid-day) is extrapolated; one too
            # short to say anything is not counted.
            if covered >= 0.05:
                per_period = s.offered / covered
                s.expected = (
                    per_period
                    if s.expected is None
                    else self.smoothing * per_period + (1 - self.smoothing) * s.expected
                )
            s.history.append([s.period_start, s.offered, s.admitted])
            del s.history[: max(0, len(s.history) - _HISTORY)]
        s.period_start, s.first_offer = start, when
        s.offered = s.admitted = 0

    def _rate(self, s: BudgetState, when: float, length: float) -> float:
        """Admissions the budget still allows per offer expected before the period ends."""
        start = s.period_start if s.period_start is not None else when  # set by _roll
        elapsed = (when - start) / length
        first = ((s.first_offer if s.first_offer is not None else start) - start) / length
        estimates = []
        if s.expected is not None:
            estimates.append(max(s.expected * (1 - elapsed), s.expected - s.offered))
        if elapsed - first >= 0.05:
            # The pace so far, carried to the period's end.
            estimates.append(s.offered / (elapsed - first) * (1 - elapsed))
        # The smaller estimate: offers thin out over a period as the labeled set grows
        # (copies of labeled texts are not offered), so past periods overestimate what is
        # left; the hard cap keeps a low estimate from overspending. Nothing to go on (the
        # first offers ever): as many again as seen so far.
        remaining = float(min(estimates)) if estimates else float(s.offered)
        return float(min(1.0, max(0.0, (self.budget - s.admitted) / max(remaining, 1.0))))
