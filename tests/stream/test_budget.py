import json

import numpy as np
import pytest

from labelwise.stream import BudgetManager, BudgetState
from labelwise.stream.budget import PERIODS

DAY = PERIODS["day"]
MONDAY = 4 * DAY  # 1970-01-05


def _stream(n_days, per_day, rng, *, drift=False):
    times = MONDAY + np.sort(rng.uniform(0, n_days * DAY, n_days * per_day))
    scores = rng.exponential(1.0, times.size)
    if drift:  # the model learns: impacts shrink over the stream
        scores *= np.linspace(1.0, 0.1, times.size)
    return scores, times


@pytest.mark.parametrize("drift", [False, True])
def test_meets_the_budget_per_day(drift):
    rng = np.random.default_rng(0)
    manager = BudgetManager(budget=50, period="day")
    scores, times = _stream(10, 2000, rng, drift=drift)
    state = manager.start()
    admitted = np.zeros(scores.size, dtype=bool)
    # In batches, as the service calls it, with the state carried between them.
    for start in range(0, scores.size, 700):
        part, state = manager.admit(state, scores[start : start + 700], times[start : start + 700])
        admitted[start : start + 700] = part
    days = ((times - MONDAY) // DAY).astype(int)
    per_day = np.bincount(days[admitted], minlength=10)
    assert per_day.max() <= 50
    # After the first day (no estimate yet), each day spends within 10% of its budget.
    assert np.all(per_day[1:] >= 45), per_day
    # And spends it on high scores: admitted items beat the median of what was offered.
    assert np.median(scores[admitted]) > np.quantile(scores, 0.8)


def test_batches_and_one_call_agree():
    rng = np.random.default_rng(1)
    manager = BudgetManager(budget=20, period="week")
    scores, times = _stream(14, 300, rng)
    whole, _ = manager.admit(manager.start(), scores, times)
    state = manager.start()
    parts = []
    for start in range(0, scores.size, 999):
        part, state = manager.admit(state, scores[start : start + 999], times[start : start + 999])
        parts.append(part)
    np.testing.assert_array_equal(whole, np.concatenate(parts))


def test_zero_scores_are_never_admitted():
    manager = BudgetManager(budget=100)
    admitted, _ = manager.admit(manager.start(), np.zeros(50), MONDAY + np.arange(50.0))
    assert not admitted.any()


def test_weeks_start_on_monday():
    manager = BudgetManager(budget=1, period="week")
    sunday_night = MONDAY + 7 * DAY - 1
    assert manager.period_of(sunday_night) == MONDAY
    assert manager.period_of(sunday_night + 1) == MONDAY + 7 * DAY


def test_state_round_trips_through_json():
    rng = np.random.default_rng(2)
    manager = BudgetManager(budget=5)
    scores, times = _stream(3, 100, rng)
    _, state = manager.admit(manager.start(), scores, times)
    again = BudgetState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    more = rng.random(10), times[-1] + np.arange(10.0)
    np.testing.assert_array_equal(manager.admit(state, *more)[0], manager.admit(again, *more)[0])


def test_admit_does_not_modify_the_given_state():
    manager = BudgetManager(budget=5)
    state = manager.start()
    manager.admit(state, np.ones(3), MONDAY + np.arange(3.0))
    assert state == BudgetState()


@pytest.mark.parametrize(
    ("manager", "match"),
    [
        (BudgetManager(budget=0), "budget must be an int >= 1"),
        (BudgetManager(budget=5, period="month"), "period must be one of"),
        (BudgetManager(budget=5, smoothing=0), "smoothing"),
    ],
)
def test_bad_parameters_are_named(manager, match):
    with pytest.raises(ValueError, match=match):
        manager.start()


def test_bad_offers_are_refused():
    manager = BudgetManager(budget=5)
    with pytest.raises(ValueError, match="non-decreasing"):
        manager.admit(manager.start(), np.ones(2), np.array([2.0, 1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        manager.admit(manager.start(), np.array([-1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="unknown budget state"):
        BudgetState.from_dict({"thresh": 1})
