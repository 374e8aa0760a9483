"""Strict span scores, their bootstrap intervals and annotator agreement."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from labelwise.data.spans import Span, align_tokens, tags_to_spans
from labelwise.evaluation.spans import (
    SpanScore,
    bootstrap_span_f1,
    span_agreement,
    span_scores,
)
from tests.shared_rows import shared_rows

CITY = Span(0, 4, "city")
CITY2 = Span(10, 14, "city")
ARTIST = Span(5, 9, "artist")


# --- span_scores: answers worked by hand -------------------------------------------------------


def test_perfect_predictions() -> None:
    scores = span_scores([[CITY, ARTIST], [CITY2]], [[ARTIST, CITY], [CITY2]])
    assert (scores.precision, scores.recall, scores.f1, scores.support) == (1.0, 1.0, 1.0, 3)
    assert scores.per_type == {
        "artist": SpanScore(1.0, 1.0, 1.0, 1),
        "city": SpanScore(1.0, 1.0, 1.0, 2),
    }


def test_empty_predictions_score_zero_with_full_support() -> None:
    scores = span_scores([[CITY], [ARTIST]], [[], []])
    assert (scores.precision, scores.recall, scores.f1, scores.support) == (0.0, 0.0, 0.0, 2)
    assert scores.per_type["city"] == SpanScore(0.0, 0.0, 0.0, 1)


def test_empty_truth_scores_zero_with_no_support() -> None:
    scores = span_scores([[], []], [[CITY], []])
    assert (scores.precision, scores.recall, scores.f1, scores.support) == (0.0, 0.0, 0.0, 0)
    assert scores.per_type == {"city": SpanScore(0.0, 0.0, 0.0, 0)}


def test_nothing_anywhere() -> None:
    scores = span_scores([[], []], [[], []])
    assert (scores.f1, scores.support, scores.per_type) == (0.0, 0, {})


def test_one_token_span() -> None:
    assert span_scores([[Span(3, 4, "x")]], [[Span(3, 4, "x")]]).f1 == 1.0


@pytest.mark.parametrize(
    "guess",
    [Span(0, 3, "city"), Span(0, 9, "city"), Span(1, 4, "city"), Span(0, 4, "artist")],
    ids=["short", "long", "shifted", "wrong-type"],
)
def test_partial_overlap_or_wrong_type_is_a_false_positive_and_a_miss(guess: Span) -> None:
    scores = span_scores([[CITY]], [[guess]])
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_micro_and_per_type_counts() -> None:
    # city: tp 1 (CITY), fn 1 (CITY2), fp 1 (Span(20, 24)); artist: tp 1, fp 0, fn 0.
    truth = [[CITY, ARTIST], [CITY2]]
    guess = [[CITY, ARTIST], [Span(20, 24, "city")]]
    scores = span_scores(truth, guess)
    assert scores.per_type["city"] == SpanScore(0.5, 0.5, 0.5, 2)
    assert scores.per_type["artist"] == SpanScore(1.0, 1.0, 1.0, 1)
    assert (scores.precision, scores.recall, scores.support) == (2 / 3, 2 / 3, 3)
    assert scores.f1 == pytest.approx(2 / 3)


def test_spans_match_only_within_their_sentence_and_tuples_count_as_spans() -> None:
    # The right span in the wrong sentence is wrong twice over.
    assert span_scores([[CITY], []], [[], [CITY]]).f1 == 0.0
    assert span_scores([[(0, 4, "city")]], [[CITY, CITY]]).f1 == 1.0


def test_sentence_counts_must_match() -> None:
    with pytest.raises(ValueError, match="same sentences; got 2 and 1"):
        span_scores([[], []], [[]])


# --- span_scores against seqeval ---------------------------------------------------------------


def perturb(tags: list[str], types: list[str], rng: np.random.Generator) -> list[str]:
    """A plausible tagger's mistakes: wrong types, shifted edges, stray I- tags, drops."""
    out = list(tags)
    for i in range(len(out)):
        roll = rng.random()
        if roll < 0.06:
            out[i] = "O"
        elif roll < 0.12:
            out[i] = f"{rng.choice(['B', 'I'])}-{rng.choice(types)}"
        elif roll < 0.16 and out[i] != "O":
            out[i] = f"{out[i][0]}-{rng.choice(types)}"
    return out


def test_strict_scores_equal_seqeval_on_perturbed_snips() -> None:
    from seqeval.metrics import classification_report, f1_score
    from seqeval.scheme import IOB2

    rows = shared_rows("snips", "test")[:400]
    types = sorted({s["label"] for row in rows for s in row["spans"]})
    rng = np.random.default_rng(11)
    true_tags = [row["tags"] for row in rows]
    pred_tags = [perturb(tags, types, rng) for tags in true_tags]
    tokenized = [align_tokens(row["text"], row["tokens"]) for row in rows]
    y_true = [tags_to_spans(t, tags) for t, tags in zip(tokenized, true_tags, strict=True)]
    y_pred = [tags_to_spans(t, tags) for t, tags in zip(tokenized, pred_tags, strict=True)]

    ours = span_scores(y_true, y_pred)
    kwargs = {"mode": "strict", "scheme": IOB2}
    theirs = classification_report(
        true_tags, pred_tags, output_dict=True, zero_division=0, **kwargs
    )
    assert 0.5 < ours.f1 < 0.95  # the perturbation leaves something to get wrong
    assert ours.f1 == pytest.approx(f1_score(true_tags, pred_tags, **kwargs))
    micro = theirs["micro avg"]
    assert (ours.precision, ours.recall, ours.support) == pytest.approx(
        (micro["precision"], micro["recall"], micro["support"])
    )
    their_types = {k for k in theirs if not k.endswith(" avg")}
    assert set(ours.per_type) == their_types
    for label, score in ours.per_type.items():
        expected = theirs[label]
        assert (score.precision, score.recall, score.f1, score.support) == pytest.approx(
            (expected["precision"], expected["recall"], expected["f1-score"], expected["support"])
        ), label


# --- bootstrap_span_f1 -------------------------------------------------------------------------


TruthAndGuess = tuple[list[list[Span]], list[list[Span]]]


@pytest.fixture(scope="module")
def noisy() -> TruthAndGuess:
    """300 sentences, each with a true city span, predicted right two times in three."""
    rng = np.random.default_rng(3)
    truth = [[CITY] if k % 5 else [CITY, ARTIST] for k in range(300)]
    guess = [[CITY] if rng.random() < 2 / 3 else [CITY2] for _ in range(300)]
    return truth, guess


def test_bootstrap_interval_contains_the_point_estimate(noisy: TruthAndGuess) -> None:
    truth, guess = noisy
    result = bootstrap_span_f1(truth, guess, n_boot=500, random_state=0)
    assert result.overall.f1 == span_scores(truth, guess).f1
    assert result.overall.low < result.overall.f1 < result.overall.high
    assert result.overall.high - result.overall.low < 0.2
    assert set(result.per_type) == {"artist", "city"}
    city = result.per_type["city"]
    assert city.low < city.f1 < city.high
    # Never predicted: every resample scores artist 0.
    assert (result.per_type["artist"].low, result.per_type["artist"].high) == (0.0, 0.0)
    assert (result.n_boot, result.alpha) == (500, 0.05)


def test_bootstrap_is_deterministic_under_a_seed(noisy: TruthAndGuess) -> None:
    truth, guess = noisy
    first = bootstrap_span_f1(truth, guess, n_boot=200, random_state=5)
    assert bootstrap_span_f1(truth, guess, n_boot=200, random_state=5) == first
    assert bootstrap_span_f1(truth, guess, n_boot=200, random_state=6) != first


def test_bootstrap_blocks_do_not_change_the_draws(noisy: TruthAndGuess, monkeypatch) -> None:
    # Resamples are drawn in memory-bounded blocks; the block size must not matter.
    import labelwise.evaluation.spans as module

    truth, guess = noisy
    whole = bootstrap_span_f1(truth, guess, n_boot=50, random_state=1)
    monkeypatch.setattr(module, "_BLOCK_CELLS", 7 * len(truth))
    assert bootstrap_span_f1(truth, guess, n_boot=50, random_state=1) == whole


def test_bootstrap_of_identical_sentences_is_a_point() -> None:
    truth = [[CITY, ARTIST]] * 20
    guess = [[CITY, Span(5, 8, "artist")]] * 20
    result = bootstrap_span_f1(truth, guess, n_boot=100, random_state=0)
    assert (result.overall.low, result.overall.f1, result.overall.high) == (0.5, 0.5, 0.5)


def test_bootstrap_leaves_out_resamples_without_the_type() -> None:
    # One sentence in 50 has an artist, always found: F1 is 1 whenever it is defined.
    truth = [[CITY]] * 49 + [[ARTIST]]
    result = bootstrap_span_f1(truth, truth, n_boot=200, random_state=0)
    assert (result.per_type["artist"].low, result.per_type["artist"].high) == (1.0, 1.0)


def test_bootstrap_with_no_spans_at_all_has_no_interval() -> None:
    result = bootstrap_span_f1([[], []], [[], []], n_boot=10, random_state=0)
    assert result.overall.f1 == 0.0
    assert math.isnan(result.overall.low) and math.isnan(result.overall.high)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_boot": 0}, "'n_boot' parameter of bootstrap_span_f1 must be an int in"),
        ({"alpha": 1.0}, r"'alpha' parameter of bootstrap_span_f1 must be a float in \(0, 1\)"),
        ({"alpha": True}, "Got True instead"),
    ],
)
def test_bootstrap_parameters_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_span_f1([[CITY]], [[CITY]], **kwargs)


def test_bootstrap_needs_a_sentence() -> None:
    with pytest.raises(ValueError, match="at least one sentence"):
        bootstrap_span_f1([], [])


# --- span_agreement ----------------------------------------------------------------------------


def test_agreement_is_symmetric_f1() -> None:
    a = [[CITY, ARTIST], [CITY2]]
    b = [[CITY], [CITY2, Span(20, 24, "city")]]
    # shared 2, a has 3, b has 3: 2 * 2 / 6.
    assert span_agreement(a, b) == span_agreement(b, a) == pytest.approx(2 / 3)
    assert span_agreement(a, b) == pytest.approx(span_scores(a, b).f1)


def test_agreement_bounds() -> None:
    assert span_agreement([[CITY]], [[CITY]]) == 1.0
    assert span_agreement([[CITY]], [[]]) == 0.0
    assert math.isnan(span_agreement([[], []], [[], []]))
