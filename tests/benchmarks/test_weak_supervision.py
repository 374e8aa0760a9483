"""weak_supervision.py: the batch schedule and the summary's gain over active learning."""

from __future__ import annotations

import pytest

from tests.benchmarks.test_successor_models import BENCHMARKS


@pytest.fixture
def weak_supervision(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import weak_supervision

    return weak_supervision


def test_batches_grow_with_the_labels(weak_supervision):
    sizes = []
    n = weak_supervision.SEED_LABELS
    while n < 500:
        n += weak_supervision.next_batch(n)
        sizes.append(n)
    assert {50, 100, 200, 500} <= set(sizes)


def test_the_gain_is_paired_by_seed(weak_supervision):
    runs = {
        "active": [{50: {"active": 0.5}}, {50: {"active": 0.7}}],
        "weak+active": [
            {50: {"combined": 0.6, "end_model": 0.5}},
            {50: {"combined": 0.7, "end_model": 0.6}},
        ],
    }
    summary = weak_supervision.summarize(runs, [50])
    assert summary["active"]["50"]["mean"] == pytest.approx(0.6)
    assert summary["combined"]["50"]["gain"] == pytest.approx(0.05)  # +0.1 and +0.0
    assert summary["combined"]["50"]["gain_sd"] == pytest.approx(0.05)
    assert summary["end_model"]["50"]["mean"] == pytest.approx(0.55)
