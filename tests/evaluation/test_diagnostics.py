from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import Pool
from labelwise.evaluation import pool_diagnostics, stop_set
from tests.strategies.fakes import FixedProbaLearner


def test_counts_histogram_and_confidence_known_values():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8], [0.5, 0.5]])
    pool = Pool(np.arange(4.0).reshape(4, 1))
    d = pool_diagnostics(
        FixedProbaLearner(proba), pool, np.arange(4), ["a", "b"], stop_positions=np.arange(4)
    )
    assert d.predicted_counts == {"a": 3, "b": 1}  # the 0.5/0.5 tie goes to the first class
    assert sum(d.margin_histogram) == 4
    assert d.margin_histogram[0] == 1  # margin 0.0
    assert d.margin_histogram[2] == 1  # margin 0.1
    assert d.margin_histogram[16] == 1 and d.margin_histogram[12] == 1  # 0.8, 0.6
    assert d.mean_confidence == pytest.approx((0.9 + 0.55 + 0.8 + 0.5) / 4)
    assert d.stop_kappa is None


def test_stop_kappa_compares_with_the_previous_model_on_shared_positions():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    pool = Pool(np.arange(4.0).reshape(4, 1))
    same = pool_diagnostics(
        FixedProbaLearner(proba),
        pool,
        np.arange(4),
        ["a", "b"],
        stop_positions=np.arange(4),
        previous=(np.arange(4), np.array([0, 1, 1, 0])),
    )
    assert same.stop_kappa == pytest.approx(1.0)
    flipped = pool_diagnostics(
        FixedProbaLearner(proba),
        pool,
        np.arange(4),
        ["a", "b"],
        stop_positions=np.arange(4),
        previous=(np.arange(4), np.array([1, 0, 0, 1])),
    )
    assert flipped.stop_kappa == pytest.approx(-1.0)
    assert flipped.stop_changed == 1.0 and same.stop_changed == 0.0


def test_stop_set_is_fixed_by_the_seed():
    assert np.array_equal(stop_set(100, 10, 0), stop_set(100, 10, 0))
    assert stop_set(5, 10, 0).tolist() == [0, 1, 2, 3, 4]


def test_an_interrupt_between_chunks_stops_the_pass():
    proba = np.tile([[0.7, 0.3]], (10, 1))
    pool = Pool(np.arange(10.0).reshape(10, 1))
    asked = []

    def diagnose(interrupt):
        return pool_diagnostics(
            FixedProbaLearner(proba),
            pool,
            np.arange(10),
            ["a", "b"],
            stop_positions=np.arange(3),
            chunk_size=3,
            interrupt=interrupt,
        )

    def third_time():
        asked.append(True)
        return len(asked) > 2  # let two chunks through, stop before the third

    assert diagnose(third_time) is None and len(asked) == 3
    done = diagnose(lambda: False)
    assert done is not None and done.predicted_counts == {"a": 10}
