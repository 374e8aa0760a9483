"""The new-intents simulation on tiny synthetic data: protocol split, review rule, figures."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.discovery import IntentCluster
from labelwise.simulation.production import ProductionData, new_intents


def _data(n_intents: int = 8, per_intent: int = 30, dim: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows, labels, texts = [], [], []
    for k in range(n_intents + 1):
        name = "oos" if k == n_intents else f"intent{k}"
        centre = np.zeros(dim)
        centre[k] = 1.0
        # Out-of-scope utterances are scattered; intents are tight blobs.
        spread = 0.6 if name == "oos" else 0.05
        block = centre + spread * rng.standard_normal((per_intent, dim))
        rows.append(block)
        labels += [name] * per_intent
        texts += [f"word{k} topic{k} filler{i}" for i in range(per_intent)]
    X = np.vstack(rows)
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    y = np.asarray(labels)
    return ProductionData(texts, texts[:5], X, X[:5], y, y[:5], out_of_scope="oos")


def test_the_split_hides_a_quarter_of_the_intents_and_replays_them_whole():
    data = _data()
    parts = new_intents.split(data, seed=1)
    assert len(parts["hidden"]) == 2 and "oos" not in parts["hidden"]
    labeled, traffic = set(parts["labeled"].tolist()), set(parts["traffic"].tolist())
    assert not labeled & traffic
    assert labeled | traffic == set(range(len(data.y_train)))
    assert not set(data.y_train[sorted(labeled)]) & set(parts["hidden"])
    assert parts["hidden"] == new_intents.split(data, seed=1)["hidden"]


def _cluster(members, n_representatives=5):
    members = np.asarray(members, dtype=np.intp)
    return IntentCluster(members, np.ones(members.size), "x", n_representatives=n_representatives)


def test_an_intent_surfaces_once_three_of_its_utterances_are_read_from_one_cluster():
    truth = np.array(["a", "a", "a", "b", "b", "a", "b", "b", "c", "c", "c"])
    clusters = [
        _cluster([0, 1, 3, 4, 2]),  # shows a, a, b, b, a: "a" surfaces after 5 items
        _cluster([5, 6, 7]),  # a, b, b: two b's only, nothing surfaces
        _cluster([8, 9, 10]),  # cut by the budget after 2 items: "c" does not surface
    ]
    out = new_intents.review(clusters, truth, {"a", "b", "c"}, budget=10)
    assert out["surfaced"] == {"a": 5}
    assert out["reviewed_items"] == 10 and out["reviewed_clusters"] == 3


def test_simulate_finds_well_separated_hidden_intents():
    outcome = new_intents.simulate(_data(), seed=0, min_cluster_size=5)
    figures = {f.name: f for f in outcome.figures}
    surfaced = figures["hidden intents surfaced within 500 items"]
    assert surfaced.target == 0.9 and surfaced.value == pytest.approx(1.0)
    assert figures["cluster purity"].value > 0.9
    assert len(outcome.details["hidden"]) == 2
    assert set(outcome.details["surfaced_after"]) == set(outcome.details["hidden"])
