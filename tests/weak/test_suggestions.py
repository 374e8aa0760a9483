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
    suggest_zero_shot,
)
from labelwise.weak.suggestions import ALL_LABELS

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


def test_a_label_without_labeled_items_gets_a_name_anchor_covering_the_asked_share():
    def embed(texts):
        return np.array([[1.0, 0.0] if "balance" in t else [0.0, 1.0] for t in texts])

    only_balance = {p: g for p, g in GOLD.items() if g == "balance"}
    found = suggest_label_names(
        ["balance", "transfer"], _vectors(), only_balance, embed=embed, unseen_coverage=0.3
    )
    by_name = {s.spec["name"]: s for s in found}
    # Balance is measured against its labeled items; transfer has none, so its threshold
    # is set by the share of the pool nearest its name.
    assert by_name["zs_balance"].precision == 1.0
    unseen = by_name["zs_transfer"]
    # 30% asked; the four transfer items tie at the threshold, so all four are in.
    assert unseen.gold_votes == 0 and unseen.coverage == pytest.approx(0.4)
    assert (
        suggest_label_names(["balance", "transfer"], _vectors(), only_balance, embed=embed)[0].spec[
            "name"
        ]
        == "zs_balance"
    )
    with pytest.raises(ValueError, match="unseen_coverage"):
        suggest_label_names(["balance"], _vectors(), GOLD, embed=embed, unseen_coverage=1.5)


def _two_names(texts):
    return np.array([[1.0, 0.0] if "balance" in t else [0.0, 1.0] for t in texts])


def test_the_zero_shot_suggestion_is_one_function_over_every_label():
    # Too few labeled items to measure a threshold: it fires on the asked share.
    [found] = suggest_zero_shot(
        ["balance", "transfer"], _vectors(), GOLD, embed=_two_names, unmeasured_coverage=0.8
    )
    assert found.label == ALL_LABELS and found.spec["kind"] == "zero_shot"
    assert found.coverage == pytest.approx(0.8)
    lf = function_from_spec(found.spec, embed=_two_names)
    assert lf.apply(TEXTS, vectors=_vectors())[:8] == ["balance"] * 4 + ["transfer"] * 4
    # Its precision is measured on the labeled items it fires on: all six are right.
    assert (found.gold_votes, found.correct) == (6, 6)
    assert (
        suggest_zero_shot(
            ["balance", "transfer"], _vectors(), GOLD, embed=_two_names, existing=[lf]
        )
        == []
    )


def test_with_enough_labeled_items_the_zero_shot_threshold_keeps_precision():
    vectors = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, np.pi / 2, 30)])
    gold = {i: "balance" if i < 15 else "transfer" for i in range(30)}
    # Items 12 and 17 lie nearer the other name than their own: wrong for zero-shot.
    gold[12], gold[17] = "transfer", "balance"
    [found] = suggest_zero_shot(
        ["balance", "transfer"], vectors, gold, embed=_two_names, min_precision=1.0
    )
    # Only items farther from the middle than 12 and 17 stay all right.
    assert found.precision == 1.0 and found.gold_votes == 24
    assert 0 < found.coverage < 1
