"""Suggested labeling functions: mined from labeled items, with their evidence."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.weak import (
    KeywordFunction,
    function_from_spec,
    suggest_exemplars,
    suggest_keywords,
    suggest_label_names,
)

TEXTS = [
    "what is my balance",
    "show my account balance",
    "balance please",
    "check balance now",
    "transfer money to mom",
    "transfer 20 dollars",
    "please transfer it",
    "send a transfer please",
    "what time is it",
    "is it raining",
]
GOLD = {0: "balance", 1: "balance", 2: "balance", 4: "transfer", 5: "transfer", 6: "transfer"}


def test_keywords_frequent_in_one_label_and_rare_elsewhere():
    found = suggest_keywords(TEXTS, GOLD, min_support=3)
    assert [(s.label, s.spec["keywords"]) for s in found] == [
        ("balance", ["balance"]),
        ("transfer", ["transfer"]),
    ]
    balance = found[0]
    assert (balance.gold_votes, balance.correct, balance.precision) == (3, 3, 1.0)
    assert balance.coverage == pytest.approx(4 / 10)  # item 3 too, unlabeled
    assert 0 < balance.precision_low < 1 and balance.precision_high == 1.0
    # "please" occurs in a balance and a transfer item: not precise enough to suggest.
    assert all("please" not in s.spec["keywords"] for s in found)
    # The spec builds a working function.
    lf = function_from_spec(balance.spec)
    assert lf.apply(["my balance"]) == ["balance"]


def test_known_keywords_are_not_suggested_again():
    existing = [KeywordFunction("mine", "balance", ["Balance"])]
    found = suggest_keywords(TEXTS, GOLD, min_support=3, existing=existing)
    assert [s.label for s in found] == ["transfer"]


def _vectors():
    """Two directions: balance items along x, transfer along y, the rest in between."""
    rows = [[1, 0.1]] * 4 + [[0.1, 1]] * 4 + [[0.7, 0.7]] * 2
    v = np.array(rows, dtype=float)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exemplars_pick_a_central_item_and_a_threshold_that_keeps_precision():
    found = suggest_exemplars(TEXTS, _vectors(), GOLD, min_support=3)
    assert [s.label for s in found] == ["balance", "transfer"]
    balance = found[0]
    assert balance.spec["kind"] == "exemplar" and balance.spec["exemplars"][0] in TEXTS[:3]
    # The other labeled balance items pass; no transfer item does.
    assert (balance.gold_votes, balance.correct) == (2, 2)
    assert balance.spec["threshold"] > _vectors()[8] @ _vectors()[0]
    assert balance.coverage == pytest.approx(0.4)


def test_label_names_as_zero_shot_anchors():
    def embed(texts):
        return np.array([[1.0, 0.0] if "balance" in t else [0.0, 1.0] for t in texts])

    found = suggest_label_names(["balance", "transfer"], _vectors(), GOLD, embed=embed)
    assert [s.spec["name"] for s in found] == ["zs_balance", "zs_transfer"]
    assert all(s.precision == 1.0 for s in found)
