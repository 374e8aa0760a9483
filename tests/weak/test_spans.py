"""Span labeling functions and their aggregation per token, round trips included."""

from __future__ import annotations

import time

import pytest

from labelwise.data.spans import Span, tokenize
from labelwise.weak import DawidSkene, LabelingFunctionError, MajorityVote
from labelwise.weak.spans import (
    GazetteerFunction,
    SpanLabelingFunction,
    SpanPatternFunction,
    TaggerFunction,
    aggregate_spans,
    harvest_gazetteers,
    token_votes,
)

TEXTS = [
    "play jazz in New York City at 7 pm",
    "weather in new york tomorrow",
    "book a table for 4 in Paris",
]
TYPES = ["city", "number", "time"]


class GoldSpans(SpanLabelingFunction):
    """Marks given spans: the identity a round trip must give back."""

    def __init__(self, name, spans):
        self.name = name
        self.given = spans

    @property
    def entity_types(self):
        return frozenset(s.label for spans in self.given for s in spans)

    def spans(self, texts):
        assert len(texts) == len(self.given)
        return [list(s) for s in self.given]

    def definition(self):
        return {"spans": repr(self.given)}


GOLD = [
    [Span(13, 26, "city"), Span(30, 34, "time")],
    [Span(11, 19, "city")],
    [Span(17, 18, "number"), Span(22, 27, "city")],
]


def sentences():
    return [tokenize(t) for t in TEXTS]


def test_a_gazetteer_marks_whole_words_longest_phrase_first():
    lf = GazetteerFunction("cities", "city", ["new york", "New York City", "paris"])
    found = lf.spans(TEXTS + ["newark is not new yorkish"])
    assert [[TEXTS[i][s.start : s.end] for s in spans] for i, spans in enumerate(found[:3])] == [
        ["New York City"],
        ["new york"],
        ["Paris"],
    ]
    assert found[3] == []


def test_a_pattern_marks_its_matches_and_stops_a_runaway():
    lf = SpanPatternFunction("times", "time", r"\b\d{1,2} ?(am|pm)\b", ignore_case=True)
    assert lf.spans(["at 7 PM or 10am"]) == [[Span(3, 7, "time"), Span(11, 15, "time")]]
    runaway = SpanPatternFunction("runaway", "time", r"(a|aa)+$", timeout=0.05)
    started = time.perf_counter()
    with pytest.raises(LabelingFunctionError, match="'runaway'.*on text 0"):
        runaway.spans(["a" * 60 + "!"])
    assert time.perf_counter() - started < 5


def test_gold_spans_round_trip_through_token_votes():
    votes = token_votes([GoldSpans("gold", GOLD)], sentences(), TYPES)
    assert votes.matrix.classes[:3] == ("O", "B-city", "I-city")
    assert aggregate_spans(MajorityVote().fit(votes.matrix), votes) == GOLD
    # Dawid-Skene cannot tell one function's classes apart on its own (a rare type's few
    # tokens go to a common one); two gold sentences that hold every type calibrate it.
    model = DawidSkene().fit(votes.matrix, votes.gold({0: GOLD[0], 2: GOLD[2]}))
    assert aggregate_spans(model, votes) == GOLD


def test_the_majority_decides_per_token_and_unvoted_tokens_stay_outside():
    wrong_type = [[Span(13, 26, "time")], [], []]
    votes = token_votes(
        [GoldSpans("a", GOLD), GoldSpans("b", GOLD), GoldSpans("c", wrong_type)],
        sentences(),
        TYPES,
    )
    assert aggregate_spans(MajorityVote().fit(votes.matrix), votes) == GOLD
    # Gold tags per token, O included, for the gold-aware fit.
    gold = votes.gold({1: GOLD[1]})
    offset = int(votes.offsets[1])
    assert [gold[offset + t] for t in range(5)] == ["O", "O", "B-city", "I-city", "O"]


def test_functions_that_disagree_on_where_an_entity_starts_still_give_a_span():
    # One marks "York City", the other "New York City": the I- tags of the first are
    # repaired into a span that keeps every voted token.
    short = [[Span(17, 26, "city")], [], []]
    votes = token_votes([GoldSpans("a", short)], sentences(), TYPES)
    assert aggregate_spans(MajorityVote().fit(votes.matrix), votes)[0] == [Span(17, 26, "city")]


def test_spans_off_token_edges_snap_and_overlaps_are_dropped():
    ragged = [[Span(14, 20, "city"), Span(15, 26, "city")], [], []]
    votes = token_votes([GoldSpans("a", ragged)], sentences(), TYPES)
    assert aggregate_spans(MajorityVote().fit(votes.matrix), votes)[0] == [Span(13, 21, "city")]


def test_harvested_gazetteers_hold_what_people_marked():
    found = harvest_gazetteers(TEXTS, {0: GOLD[0], 2: GOLD[2]})
    assert [(g.name, g.phrases) for g in found] == [
        ("gaz_city", ("new york city", "paris")),
        ("gaz_number", ("4",)),
        ("gaz_time", ("7 pm",)),
    ]


def test_unknown_types_and_repeated_names_are_refused():
    with pytest.raises(LabelingFunctionError, match=r"marks \['city'\]"):
        token_votes([GazetteerFunction("g", "city", ["paris"])], sentences(), ["time"])
    twice = [GazetteerFunction("g", "city", ["paris"]), GazetteerFunction("g", "city", ["rome"])]
    with pytest.raises(LabelingFunctionError, match="distinct names"):
        token_votes(twice, sentences(), TYPES)


def test_a_pattern_with_named_groups_marks_each_group_as_its_type():
    lf = SpanPatternFunction(
        "rating",
        {"value": "number", "best": "number", "unit": "time"},
        r"\b(?P<value>\d+) out of (?P<best>\d+)(?: (?P<unit>stars))?",
    )
    # The context ("out of") marks nothing; a group that took no part marks nothing.
    assert lf.spans(["rate it 4 out of 6 stars", "3 out of 5"]) == [
        [Span(8, 9, "number"), Span(17, 18, "number"), Span(19, 24, "time")],
        [Span(0, 1, "number"), Span(9, 10, "number")],
    ]
    assert lf.entity_types == frozenset({"number", "time"})
    votes = token_votes([lf], [tokenize("rate it 4 out of 6 stars")], TYPES)
    assert aggregate_spans(MajorityVote().fit(votes.matrix), votes) == [
        [Span(8, 9, "number"), Span(17, 18, "number"), Span(19, 24, "time")]
    ]


def test_a_pattern_must_name_the_groups_it_marks():
    with pytest.raises(LabelingFunctionError, match=r"groups \['size'\].*does not name"):
        SpanPatternFunction("party", {"size": "number"}, r"for (?P<n>\d+)")
    with pytest.raises(LabelingFunctionError, match="at least one group"):
        SpanPatternFunction("party", {}, r"for (\d+)")
    with pytest.raises(LabelingFunctionError, match="needs an entity type"):
        SpanPatternFunction("party", {"n": ""}, r"for (?P<n>\d+)")


def test_harvesting_drops_phrases_the_gold_sentences_mostly_leave_untagged():
    texts = ["book a table", "read the book", "book a room", "play jazz"]
    gold = {1: [Span(9, 13, "object")], 2: [], 0: [], 3: [Span(5, 9, "genre")]}
    everything = harvest_gazetteers(texts, gold)
    assert [(g.name, g.phrases) for g in everything] == [
        ("gaz_genre", ("jazz",)),
        ("gaz_object", ("book",)),
    ]
    # "book" is the object in 1 of its 3 occurrences: below 0.5, dropped.
    strict = harvest_gazetteers(texts, gold, min_precision=0.5)
    assert [(g.name, g.phrases) for g in strict] == [("gaz_genre", ("jazz",))]
    assert harvest_gazetteers(texts, gold, min_precision=0.3)[1].phrases == ("book",)
    with pytest.raises(ValueError, match="min_precision"):
        harvest_gazetteers(texts, gold, min_precision=1.5)


def test_a_tagger_function_votes_the_spans_its_tagger_is_sure_of():
    from labelwise.learners.crf import CRFTagger

    X = [["play", "jazz"], ["play", "rock"], ["stop"]] * 5
    y = [["O", "B-genre"], ["O", "B-genre"], ["O"]] * 5
    lf = TaggerFunction("crf", CRFTagger().fit(X, y), threshold=0.5)
    assert lf.entity_types == frozenset({"genre"})
    assert lf.spans(["play jazz", "stop"]) == [[Span(5, 9, "genre")], []]
    assert TaggerFunction("crf", lf.tagger, threshold=1.0).spans(["play jazz"]) == [[]]
    # A retrained tagger is a changed function.
    other = TaggerFunction("crf", CRFTagger(c1=1.0).fit(X, y), threshold=0.5)
    assert other.fingerprint() != lf.fingerprint()
    with pytest.raises(LabelingFunctionError, match="needs a fitted tagger"):
        TaggerFunction("crf", object())
    with pytest.raises(LabelingFunctionError, match="threshold in"):
        TaggerFunction("crf", lf.tagger, threshold=2)
