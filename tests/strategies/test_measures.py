"""Known-answer tests of the pure uncertainty measures on hand-computed matrices."""

import numpy as np
import pytest

from labelwise.strategies._measures import entropy, least_confidence, margin

PROBA = np.array(
    [
        [0.7, 0.2, 0.1],  # confident
        [0.4, 0.4, 0.2],  # exact tie at the top
        [1 / 3, 1 / 3, 1 / 3],  # all equal
        [1.0, 0.0, 0.0],  # certain
    ]
)


def test_least_confidence_known_answers():
    np.testing.assert_allclose(least_confidence(PROBA), [0.3, 0.6, 2 / 3, 0.0])


def test_margin_known_answers():
    # 1 - (p1 - p2): 1 - 0.5, 1 - 0 (tie), 1 - 0 (all equal), 1 - 1
    np.testing.assert_allclose(margin(PROBA), [0.5, 1.0, 1.0, 0.0])


def test_entropy_known_answers():
    expected = [
        -(0.7 * np.log(0.7) + 0.2 * np.log(0.2) + 0.1 * np.log(0.1)),
        -(2 * 0.4 * np.log(0.4) + 0.2 * np.log(0.2)),
        np.log(3),
        0.0,
    ]
    np.testing.assert_allclose(entropy(PROBA), expected)


def test_single_class_column():
    one = np.array([[1.0], [1.0]])
    np.testing.assert_allclose(margin(one), [0.0, 0.0])
    np.testing.assert_allclose(least_confidence(one), [0.0, 0.0])
    np.testing.assert_allclose(entropy(one), [0.0, 0.0])


def test_zero_probabilities_do_not_produce_nan():
    proba = np.array([[0.5, 0.5, 0.0, 0.0]])
    assert np.isfinite(entropy(proba)).all()
    assert entropy(proba)[0] == pytest.approx(np.log(2))


def test_measures_rank_the_same_extremes():
    # The certain row is least informative and the uniform row most, for every measure.
    for measure in (least_confidence, margin, entropy):
        scores = measure(PROBA)
        assert scores[3] == scores.min()
        assert scores[2] == scores.max()
