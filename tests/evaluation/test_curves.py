"""Learning-curve summaries."""

import math

import numpy as np
import pytest

from labelwise.evaluation import area_under_curve, labels_to_reach, score_predictions


def test_labels_to_reach_first_hit_and_never():
    assert labels_to_reach([100, 200, 300, 400], [0.5, 0.91, 0.89, 0.95], 0.9) == 200
    assert labels_to_reach([100, 200], [0.5, 0.6], 0.9) is None


def test_area_is_the_mean_height_over_the_range():
    # A straight line from 0 to 1 over [0, 100] has mean height 0.5.
    assert area_under_curve([0, 50, 100], [0.0, 0.5, 1.0], start=0, stop=100) == pytest.approx(0.5)
    # Points outside the range are ignored.
    assert area_under_curve(
        [0, 50, 100, 200], [0.0, 0.5, 1.0, 0.0], start=0, stop=100
    ) == pytest.approx(0.5)
    assert area_under_curve([10], [0.3], start=10, stop=10) == 0.3
    assert math.isnan(area_under_curve([], [], start=0, stop=1))


def test_score_predictions():
    assert score_predictions(np.array(["a", "b"]), np.array(["a", "a"])) == 0.5
    y = np.array([[1, 0], [1, 1]])
    assert score_predictions(y, np.array([[1, 0], [1, 0]]), multilabel=True) == pytest.approx(0.8)
