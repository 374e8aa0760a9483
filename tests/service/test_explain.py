"""Why this item, in words: one sentence per kind of reason."""

from __future__ import annotations

import pytest

from labelwise.service import explain
from labelwise.service.explain import why_this_item


class TestWhyThisItem:
    def test_margin_names_the_two_labels_the_model_is_torn_between(self) -> None:
        why = why_this_item(
            "MarginSampling(chunk_size=16384)", [("transfer", 0.51), ("balance", 0.49)]
        )
        assert why == "The model is torn between “transfer” and “balance”: 51% vs 49%."

    def test_no_strategy_repr_or_raw_score_reaches_the_labeler(self) -> None:
        why = why_this_item("MarginSampling(chunk_size=16384)", [("a", 0.9), ("b", 0.1)])
        assert "MarginSampling" not in why and "chunk_size" not in why

    @pytest.mark.parametrize("strategy", ["EntropySampling()", "LeastConfidence()"])
    def test_uncertainty_gives_the_best_guess(self, strategy: str) -> None:
        why = why_this_item(strategy, [("refund", 0.34), ("billing", 0.33), ("other", 0.33)])
        assert why == "The model is unsure: its best guess is “refund” at 34%."

    def test_a_wrapped_strategy_is_explained_by_the_one_inside(self) -> None:
        strategy = "Subsampled(strategy=MarginSampling(chunk_size=16384), size=10000)"
        why = why_this_item(strategy, [("a", 0.6), ("b", 0.4)])
        assert why.startswith("The model is torn between “a” and “b”")

    def test_committee_disagreement(self) -> None:
        why = why_this_item("VoteEntropy(n_members=5)", [("a", 0.4), ("b", 0.35)])
        assert why.startswith("The models in its committee disagree about it")

    def test_multi_label_names_the_label_closest_to_a_coin_flip(self) -> None:
        why = why_this_item(
            "MarginSampling()", [("bug", 0.9), ("billing", 0.52)], per_class_proba=True
        )
        assert why == "The model is unsure whether “billing” applies: 52%."

    def test_audit_items_are_a_random_check_even_when_a_model_exists(self) -> None:
        # The lease of an audit item carries no model version; the page used to read that
        # as "no model yet".
        assert why_this_item(explain.AUDIT, [], is_audit=True) == (
            "A random check of the model's accuracy (not chosen by the model)."
        )
        assert "model yet" not in why_this_item("MarginSampling()", [], is_audit=True)

    def test_random_reasons_say_why_truthfully(self) -> None:
        assert "no model yet" in why_this_item(explain.RANDOM_NO_MODEL, [])
        assert "retrain is on its way" in why_this_item(explain.RANDOM_QUEUE_EMPTY, [])

    @pytest.mark.parametrize(
        ("strategy", "words"),
        [
            ("CoreSet()", "unlike the items labeled so far"),
            ("BADGE()", "differs from the other items picked"),
            ("RandomSampling()", "at random"),
            ("ExpectedErrorReduction()", "reduce the model's mistakes"),
        ],
    )
    def test_other_strategies_in_plain_words(self, strategy: str, words: str) -> None:
        assert words in why_this_item(strategy, [("a", 0.5), ("b", 0.5)])

    def test_an_unknown_strategy_still_gets_a_sentence(self) -> None:
        why = why_this_item("SomethingNew(k=3)", [("a", 0.7)])
        assert why == "The model is unsure: its best guess is “a” at 70%."
        assert why_this_item("SomethingNew()", []) == (
            "The model ranked it among the most useful items to label next."
        )


def test_a_span_task_names_the_span_the_model_is_least_sure_about() -> None:
    focus = {"start": 5, "end": 10, "label": "city", "confidence": 0.312}
    assert why_this_item("MNLP()", [("play", 0.9)], focus=focus, text="y to Paris!") == (
        "The model is least sure about “Paris” as city (31%)."
    )
    # An audit item never shows the model's guess, spans included.
    assert why_this_item("MNLP()", [], focus=focus, text="x" * 20, is_audit=True) == (
        explain.AUDIT_WHY
    )
