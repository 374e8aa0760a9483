"""Labeling functions: each kind votes as documented, and a runaway pattern stops."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from labelwise.weak import (
    ABSTAIN,
    KeywordFunction,
    LabelingFunctionError,
    ModelConfidenceFunction,
    PythonFunction,
    RegexFunction,
    SimilarityFunction,
    ZeroShotFunction,
)


def test_keywords_match_whole_words_and_phrases_in_any_case():
    lf = KeywordFunction("kw", "balance", ["balance", "how much  money"])
    texts = ["What is my BALANCE?", "rebalance the portfolio", "how much money do I have", "hi"]
    assert lf.apply(texts) == ["balance", ABSTAIN, "balance", ABSTAIN]
    strict = KeywordFunction("kw", "balance", ["Balance"], case_sensitive=True)
    assert strict.apply(["my balance", "my Balance"]) == [ABSTAIN, "balance"]


def test_keywords_are_literal_text_not_patterns():
    lf = KeywordFunction("kw", "price", ["$5", "a.b"])
    assert lf.apply(["costs $5 today", "axb", "a.b"]) == ["price", ABSTAIN, "price"]


def test_a_regex_votes_where_it_matches_and_lowercases_when_asked():
    lf = RegexFunction("who", "HUM", r"( |^)(who|whom)[^\w]*( |$)", lowercase=True)
    assert lf.apply(["Who wrote Hamlet ?", "What is a whodunit ?"]) == ["HUM", ABSTAIN]
    cased = RegexFunction("who", "HUM", r"^who\b")
    assert cased.apply(["Who wrote it", "who wrote it"]) == [ABSTAIN, "HUM"]


def test_a_catastrophic_pattern_stops_with_the_function_named_instead_of_hanging():
    lf = RegexFunction("runaway", "X", r"(a|aa)+$", timeout=0.05)
    started = time.perf_counter()
    with pytest.raises(LabelingFunctionError, match=r"'runaway'.*longer than 0.05 s on text 1"):
        lf.apply(["fine", "a" * 60 + "!"])
    assert time.perf_counter() - started < 5  # Python's re takes hours on this input
    # Quick on ordinary text: the limit only stops runaways.
    assert lf.apply(["aaaa"]) == ["X"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "(unclosed"}, "does not compile"),
        ({"pattern": ""}, "needs a pattern"),
        ({"pattern": "a", "timeout": 0}, "timeout must be positive"),
    ],
)
def test_bad_regex_functions_are_refused_with_their_name(kwargs, message):
    with pytest.raises(LabelingFunctionError, match=message):
        RegexFunction("bad", "X", **kwargs)


def test_regex_reads_patterns_as_python_re_does():
    patterns = [r"( |^)(what|which)[^\w]* (\w+ ){0,1}(is|was)[^\w]*( |$)", r"\bhow (much|many)\b"]
    texts = ["what is love ?", "which was first", "How many legs", "how muchness", "what  is"]
    for pattern in patterns:
        lf = RegexFunction("p", "X", pattern, lowercase=True)
        expected = [bool(re.findall(pattern, t.strip().lower())) for t in texts]
        assert [v == "X" for v in lf.apply(texts)] == expected


def test_similarity_votes_above_the_threshold_and_needs_vectors():
    anchors = np.array([[1.0, 0.0]])
    lf = SimilarityFunction("sim", "a", anchors, 0.8, source=["anchor"])
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [0.9, np.sqrt(1 - 0.81)]])
    assert lf.apply(["x", "y", "z"], vectors=vectors) == ["a", ABSTAIN, "a"]
    with pytest.raises(LabelingFunctionError, match="pass the texts' vectors"):
        lf.apply(["x"])
    with pytest.raises(LabelingFunctionError, match=r"shape \(1, 2\)"):
        lf.apply(["x"], vectors=np.ones((1, 3)))


def test_similarity_from_texts_embeds_the_anchors():
    seen = []

    def embed(texts):
        seen.extend(texts)
        return np.array([[1.0, 0.0]] * len(texts))

    lf = SimilarityFunction.from_texts("sim", "a", ["one", "two"], 0.5, embed=embed)
    assert seen == ["one", "two"] and lf.anchors.shape == (2, 2)
    assert lf.definition()["source"] == ["one", "two"]


def test_zero_shot_votes_the_nearest_label_name_when_close_enough():
    anchors = np.array([[1.0, 0.0], [0.0, 1.0]])
    lf = ZeroShotFunction("zero_shot", anchors, ["balance", "transfer"], 0.8)
    vectors = np.array([[1.0, 0.0], [0.6, 0.8], [np.sqrt(0.5), np.sqrt(0.5)], [0.0, 1.0]])
    # The second text is nearest "transfer" (0.8 against 0.6); the third is 0.71 from both.
    assert lf.apply(list("abcd"), vectors=vectors) == ["balance", "transfer", ABSTAIN, "transfer"]
    assert lf.labels == frozenset({"balance", "transfer"})
    with pytest.raises(LabelingFunctionError, match="pass the texts' vectors"):
        lf.apply(["x"])
    with pytest.raises(LabelingFunctionError, match="one anchor row per label"):
        ZeroShotFunction("zero_shot", anchors, ["balance"], 0.8)
    changed = ZeroShotFunction("zero_shot", anchors, ["balance", "transfer"], 0.7)
    assert changed.fingerprint() != lf.fingerprint()


def test_model_confidence_votes_the_top_class_when_sure_enough():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]])
    lf = ModelConfidenceFunction("model", lambda _texts: proba, ["a", "b"], 0.7, version="v3")
    assert lf.apply(["x", "y", "z"]) == ["a", ABSTAIN, "b"]
    assert lf.labels == {"a", "b"}
    with pytest.raises(LabelingFunctionError, match=r"returned shape \(3, 2\); expected \(2, 2\)"):
        lf.apply(["x", "y"])


def test_a_python_function_may_only_vote_its_labels():
    lf = PythonFunction("len", lambda t: "long" if len(t) > 5 else None, ["long"])
    assert lf.apply(["short", "much longer"]) == [ABSTAIN, "long"]
    liar = PythonFunction("liar", lambda _text: "other", ["long"])
    with pytest.raises(LabelingFunctionError, match=r"'liar' voted 'other' on text 0"):
        liar.apply(["x"])


def test_a_changed_definition_changes_the_fingerprint():
    a = KeywordFunction("kw", "x", ["a", "b"])
    assert a.fingerprint() == KeywordFunction("kw", "x", ["b", "a"]).fingerprint()
    assert a.fingerprint() != KeywordFunction("kw", "x", ["a"]).fingerprint()
    assert a.fingerprint() != KeywordFunction("kw", "y", ["a", "b"]).fingerprint()
    r = RegexFunction("r", "x", "a+")
    assert r.fingerprint() != RegexFunction("r", "x", "a+", lowercase=True).fingerprint()


@pytest.mark.parametrize("name", ["", "  ", None])
def test_a_function_needs_a_name(name):
    with pytest.raises(LabelingFunctionError, match="non-empty name"):
        KeywordFunction(name, "x", ["a"])


def test_a_keyword_function_needs_a_keyword():
    with pytest.raises(LabelingFunctionError, match="at least one non-empty keyword"):
        KeywordFunction("kw", "x", [" ", ""])
