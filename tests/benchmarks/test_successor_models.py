"""successor_models.py: committee choosers choose with a committee of different learners."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from labelwise.data import LabelSchema

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def successor_models(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import successor_models

    return successor_models


def pool(n_per_class: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a 4-column 'sentence' block beside 3 non-negative 'TF-IDF' columns."""
    rng = np.random.default_rng(0)
    blocks = []
    for k in range(3):
        sentence = rng.normal(size=(n_per_class, 4)) + 3 * np.eye(4)[k]
        counts = rng.poisson(1.0, size=(n_per_class, 3)) + 4 * np.eye(3)[k]
        blocks.append(np.hstack([sentence, counts]))
    labels = np.asarray([c for c in "abc" for _ in range(n_per_class)], dtype=object)
    return np.vstack(blocks), labels


@pytest.mark.parametrize("name", ["committee_margin", "committee_kl"])
def test_committee_choosers_label_distinct_items_at_each_checkpoint(successor_models, name):
    X, labels = pool()
    schema = LabelSchema(["a", "b", "c"])
    chosen = successor_models.choose(name, 0, X, labels, schema, 6, 6, [12, 18], width=4)
    assert sorted(chosen) == [12, 18]
    assert len(set(chosen[18].tolist())) == 18
    assert set(chosen[12].tolist()) < set(chosen[18].tolist())


def test_committee_choosers_need_the_recipe_features(successor_models, monkeypatch, capsys):
    argv = ["successor_models.py", "--data-dir", "x", "--choosers", "committee_kl"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        successor_models.main()
    assert "--chooser-features minilm+tfidf" in capsys.readouterr().err
