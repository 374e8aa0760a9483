from typing import Any

import numpy as np
import pytest

from labelwise.stream import frequency_weight, impact, max_cosine, novelty


def test_known_answers():
    proba = np.array([[0.5, 0.5, 0.0], [0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    counts = np.array([1, 9, 100])
    near = np.array([-1.0, 0.5, 0.2])
    got = impact(proba, counts, near)
    expected = np.array([1.0 * np.log(2), 0.5 * np.log(10) * 0.5, 0.0])
    np.testing.assert_allclose(got, expected)


def test_sqrt_frequency_and_no_model():
    got = impact(None, np.array([4, 16]), np.array([0.0, 0.0]), frequency="sqrt")
    np.testing.assert_allclose(got, [2.0, 4.0])


def test_frequency_is_concave_and_increasing():
    w = frequency_weight(np.array([1, 2, 3, 4, 5]))
    assert np.all(np.diff(w) > 0)
    assert np.all(np.diff(np.diff(w)) < 0)


def test_near_copies_have_no_novelty():
    np.testing.assert_allclose(
        novelty(np.array([-1.0, 0.3, 0.949, 0.95, 1.0])), [1, 0.7, 0.051, 0, 0]
    )


def test_max_cosine():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    ref = np.array([[3.0, 0.0]])
    np.testing.assert_allclose(max_cosine(X, ref), [1.0, 0.0, np.sqrt(0.5)])
    np.testing.assert_allclose(max_cosine(X, np.zeros((0, 2))), [-1, -1, -1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"proba": np.ones((3, 2)) / 2}, "proba has shape"),
        ({"counts": np.array([0, 1])}, "counts must be >= 1"),
        ({"max_cos": np.zeros(3)}, "max_cos has shape"),
        ({"frequency": "linear"}, "frequency kind"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args: dict[str, Any] = {"proba": None, "counts": np.array([1, 2]), "max_cos": np.zeros(2)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        impact(args.pop("proba"), args.pop("counts"), args.pop("max_cos"), **args)
