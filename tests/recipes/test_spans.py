"""The span recipe: tags from character spans, fit and rank, scores, the combined rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import labelwise
from labelwise.data.spans import Span, tokenize
from labelwise.learners.crf import BaggedCRF, CRFTagger
from labelwise.recipes import (
    combined_uncertainty,
    entity_counts,
    margin_uncertainty,
    span_f1_metrics,
    span_learner,
    train_and_rank_spans,
    training_tags,
    word_cluster_prefix,
)
from labelwise.strategies import MNLP, SequenceCommittee

#: The SNIPS sample bundled for the demo (gold intents and spans).
GOLD = Path(labelwise.__file__).parent / "service" / "demo_data" / "snips_sample.gold.jsonl"


@pytest.fixture(scope="module")
def snips():
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()[:160]]
    sentences = [tokenize(r["text"]) for r in rows]
    spans = [[Span(s["start"], s["end"], s["label"]) for s in r["spans"]] for r in rows]
    return sentences, spans


def test_training_tags_keep_touching_entities_apart():
    tokens, tags = training_tags("at one pmnear Rome", [Span(3, 9, "time"), Span(9, 13, "loc")])
    assert tokens == ("at", "one", "pm", "near", "Rome")
    assert tags == ["O", "B-time", "I-time", "B-loc", "O"]


def test_committee_strategies_get_a_bagged_tagger():
    assert isinstance(span_learner(SequenceCommittee(), random_state=0), BaggedCRF)
    assert isinstance(span_learner(MNLP()), CRFTagger)


def test_fit_and_rank_is_seeded_and_returns_character_spans(snips):
    sentences, spans = snips
    labeled, unlabeled = np.arange(40), np.arange(40, 120)

    def run():
        return train_and_rank_spans(
            sentences, labeled, spans[:40], unlabeled, 15, MNLP(), random_state=3
        )

    first, second = run(), run()
    assert first.positions.tolist() == second.positions.tolist()
    assert set(first.positions.tolist()) <= set(unlabeled.tolist())
    assert np.all(np.diff(first.scores) <= 0)
    for position, found in zip(first.positions, first.spans, strict=True):
        sentence = sentences[int(position)]
        for span in found:
            assert span.start in sentence.starts and span.end in sentence.ends
    metrics = span_f1_metrics(first.learner, sentences[120:], spans[120:], "eval", random_state=0)
    assert metrics["eval_n"] == 40 and 0 < metrics["eval_span_f1"] <= 1
    low, high = metrics["eval_span_f1_ci95"]
    assert low <= metrics["eval_span_f1"] <= high


def test_no_held_out_sentences_give_no_metrics():
    assert span_f1_metrics(None, [], [], "audit") == {}


def test_margin_and_combined_uncertainty_are_in_the_unit_interval():
    proba = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.6, 0.1, 0.3]])
    assert margin_uncertainty(proba).tolist() == pytest.approx([1.0, 0.0, 0.7])
    combined = combined_uncertainty(proba, [0.0, 1.0, 0.5])
    assert combined.tolist() == pytest.approx([1.0, 0.0, 0.6])
    with pytest.raises(ValueError, match="2 path probabilities"):
        combined_uncertainty(proba, [0.5, 0.5])


def test_entity_counts_read_spans_and_dicts_most_frequent_first():
    counts = entity_counts([[Span(0, 1, "b"), {"label": "a"}], [{"label": "a"}]])
    assert list(counts.items()) == [("a", 2), ("b", 1)]


def test_word_clusters_are_learned_on_a_pool_prefix_that_grows_in_25_percent_steps():
    assert [word_cluster_prefix(n) for n in (0, 1, 99, 100, 124, 125, 156, 157)] == [
        0,
        1,
        99,
        100,
        100,
        125,
        125,
        156,
    ]
    assert word_cluster_prefix(13_784) == 13_552  # 100 * 1.25**22
    sizes = [word_cluster_prefix(n) for n in range(100, 20_000)]
    # Never shrinks, never past the pool.
    assert all(a <= b for a, b in zip(sizes, sizes[1:], strict=False))
    assert all(size <= n for size, n in zip(sizes, range(100, 20_000), strict=True))
    assert all(word_cluster_prefix(n) >= int(0.8 * n) for n in range(100, 20_000))


def test_fit_and_rank_hands_the_pool_word_clusters_to_the_tagger(snips):
    sentences, spans = snips
    clusters = {"play": ("d2:0",), "rome": ("d2:1",)}
    ranking = train_and_rank_spans(
        sentences,
        np.arange(40),
        spans[:40],
        np.arange(40, 60),
        5,
        MNLP(),
        random_state=0,
        word_clusters=clusters,
    )
    assert ranking.learner.word_clusters == clusters
    plain = train_and_rank_spans(sentences, np.arange(40), spans[:40], np.arange(40, 60), 5, MNLP())
    assert plain.learner.word_clusters is None
