"""Power-law learning curves: known answers on synthetic curves, intervals that cover."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwise.evaluation import PowerLawCurve, fit_learning_curve

TRUE = PowerLawCurve(asymptote=0.9, scale=2.0, exponent=0.5)
SIZES = np.repeat([50, 100, 200, 300, 400, 500], 3)


@given(
    st.floats(0.5, 1.0),
    st.floats(0.1, 10.0),
    st.floats(0.1, 2.0),
    st.floats(2.0, 1e5),
)
def test_labels_for_inverts_score_at(asymptote, scale, exponent, n):
    curve = PowerLawCurve(asymptote, scale, exponent)
    score = float(curve.score_at(n))
    if asymptote - score > 1e-9:  # else the gap is below float resolution
        assert curve.labels_for(score) == pytest.approx(n, rel=1e-6)


def test_labels_for_edges():
    assert TRUE.labels_for(0.9) == math.inf  # the asymptote is never reached
    assert TRUE.labels_for(0.95) == math.inf
    assert TRUE.labels_for(-5.0) == 1.0  # reached before the first label
    assert TRUE.labels_for(0.9 - 2.0 / 20.0) == pytest.approx(400.0)  # 2 / sqrt(400) = 0.1


def test_a_noise_free_curve_is_recovered_exactly():
    fit = fit_learning_curve(SIZES, TRUE.score_at(SIZES), n_bootstrap=20)
    assert fit.curve.asymptote == pytest.approx(0.9, abs=1e-4)
    assert fit.curve.scale == pytest.approx(2.0, rel=1e-3)
    assert fit.curve.exponent == pytest.approx(0.5, rel=1e-3)
    target = float(TRUE.score_at(2000))
    est = fit.labels_for(target)
    assert est.labels == pytest.approx(2000.0, rel=1e-2)
    assert est.low == pytest.approx(2000.0, rel=1e-2) and est.high == pytest.approx(
        2000.0, rel=1e-2
    )
    assert est.bounded and est.level == 0.9 and est.target == target


def test_the_interval_covers_the_true_labels_on_noisy_curves():
    """90% intervals, extrapolating four times past the largest observation, cover the
    true count in most of 30 synthetic data sets (noise: 1 point of accuracy)."""
    rng = np.random.default_rng(0)
    target = float(TRUE.score_at(2000))
    covered, points, lows = 0, [], []
    for r in range(30):
        scores = TRUE.score_at(SIZES) + 0.01 * rng.standard_normal(SIZES.size)
        est = fit_learning_curve(SIZES, scores, n_bootstrap=60, random_state=r).labels_for(target)
        covered += est.low <= 2000.0 <= est.high
        points.append(est.labels)
        lows.append(est.low)
    assert covered >= 24  # >= 80% of 30
    # The point estimate is centred on the truth, and the lower end says something
    # beyond the data (more than the 500 labels observed).
    assert 2000 / 1.5 < np.median(points) < 2000 * 1.5
    assert np.median(lows) > 500


def test_a_target_above_the_asymptote_has_no_upper_end():
    fit = fit_learning_curve(SIZES, TRUE.score_at(SIZES), n_bootstrap=20)
    est = fit.labels_for(0.95)
    assert est.labels == math.inf and est.high == math.inf and not est.bounded


def test_uncertainty_shared_by_every_point_and_in_the_target_widens_the_interval():
    rng = np.random.default_rng(1)
    scores = TRUE.score_at(SIZES) + 0.005 * rng.standard_normal(SIZES.size)
    target = float(TRUE.score_at(1000))
    plain = fit_learning_curve(SIZES, scores, n_bootstrap=80).labels_for(target)
    shared = fit_learning_curve(SIZES, scores, n_bootstrap=80, shared_se=0.01).labels_for(target)
    noisy_target = fit_learning_curve(SIZES, scores, n_bootstrap=80).labels_for(
        target, target_se=0.01
    )
    assert shared.high / shared.low > plain.high / plain.low
    assert noisy_target.high / noisy_target.low > plain.high / plain.low


def test_deterministic_under_the_seed():
    scores = TRUE.score_at(SIZES) + 0.01 * np.random.default_rng(2).standard_normal(SIZES.size)
    a = fit_learning_curve(SIZES, scores, n_bootstrap=30, random_state=5)
    b = fit_learning_curve(SIZES, scores, n_bootstrap=30, random_state=5)
    assert a.draws == b.draws
    assert a.labels_for(0.85) == b.labels_for(0.85)


def test_sigma_weights_the_fit():
    """A wild outlier with a large standard error barely moves the fit."""
    scores = TRUE.score_at(SIZES).copy()
    scores[-1] -= 0.2
    sigma = np.full(SIZES.size, 0.001)
    sigma[-1] = 10.0
    fit = fit_learning_curve(SIZES, scores, sigma=sigma, n_bootstrap=5)
    assert fit.curve.asymptote == pytest.approx(0.9, abs=1e-3)


@pytest.mark.parametrize(
    ("n_labels", "scores", "kwargs", "message"),
    [
        ([10, 10, 20, 20], [0.1, 0.2, 0.3, 0.4], {}, "three or more distinct label counts"),
        ([10, 20, 30], [0.1, 0.2], {}, "same length"),
        ([0, 20, 30], [0.1, 0.2, 0.3], {}, "must be positive"),
        ([10, 20, 30], [0.1, float("nan"), 0.3], {}, "finite"),
        ([10, 20, 30], [0.1, 0.2, 0.3], {"sigma": [1.0, 0.0, 1.0]}, "sigma"),
        ([10, 20, 30], [0.1, 0.2, 0.3], {"shared_se": -1.0}, "shared_se"),
        ([10, 20, 30], [0.1, 0.2, 0.3], {"n_bootstrap": 0}, "n_bootstrap"),
    ],
)
def test_bad_input_is_named(n_labels, scores, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_learning_curve(n_labels, scores, **kwargs)


def test_bad_interval_arguments_are_named():
    fit = fit_learning_curve(SIZES, TRUE.score_at(SIZES), n_bootstrap=5)
    with pytest.raises(ValueError, match="level"):
        fit.labels_for(0.8, level=1.0)
    with pytest.raises(ValueError, match="target_se"):
        fit.labels_for(0.8, target_se=-0.1)


def test_the_profile_interval_holds_the_truth_and_opens_when_the_asymptote_is_loose():
    fit = fit_learning_curve(SIZES, TRUE.score_at(SIZES), sigma=np.full(SIZES.size, 0.004))
    low, high = fit.profile_labels_for(float(TRUE.score_at(800)), level=0.9)
    assert low <= 800 <= high and high < 2 * low
    # Near the asymptote the observations (50-500 labels) cannot tell 0.9 from anything
    # just above the target: an accepted asymptote never reaches it, so no upper end.
    near = float(TRUE.score_at(50_000))
    low, high = fit.profile_labels_for(near, level=0.9)
    assert low < 50_000 and high == math.inf


def test_the_profile_interval_widens_with_the_target_s_own_error():
    rng = np.random.default_rng(0)
    scores = TRUE.score_at(SIZES) + rng.normal(0, 0.004, SIZES.size)
    fit = fit_learning_curve(SIZES, scores, n_bootstrap=5)  # errors from the residuals
    target = float(TRUE.score_at(400))
    tight = fit.profile_labels_for(target)
    loose = fit.profile_labels_for(target, target_se=0.01)
    assert loose[0] < tight[0] and loose[1] > tight[1]
    with pytest.raises(ValueError, match="level must be in"):
        fit.profile_labels_for(target, level=0.0)
