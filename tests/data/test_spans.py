"""Spans over text: tokenizing, snapping, BIO both ways, validation and parsing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwise.data.spans import (
    Span,
    TokenizedText,
    align_tokens,
    check_spans,
    parse_spans,
    snap_span,
    spans_to_tags,
    tags_to_spans,
    tokenize,
)
from labelwise.exceptions import InputError
from tests.shared_rows import shared_rows

TYPES = {"city", "artist", "playlist"}
TEXT = "add clem burke to my Pre-Party R&B Jams in New York"
#       0   4    9     15 18 21 24 30 33 35   40 43  47


def located(exc: pytest.ExceptionInfo[InputError]) -> tuple[str | None, int | None, str | None]:
    return exc.value.file, exc.value.line, exc.value.field


# --- tokenize / align_tokens -----------------------------------------------------------------


def test_tokenize_splits_words_and_single_punctuation() -> None:
    tokenized = tokenize("Pre-Party R&B, café!!")
    assert tokenized.tokens == ("Pre", "-", "Party", "R", "&", "B", ",", "café", "!", "!")
    assert tokenized.starts[:3] == (0, 3, 4)
    assert tokenized.ends[:3] == (3, 4, 9)
    assert len(tokenized) == 10


def test_tokenize_empty_and_blank_text() -> None:
    assert len(tokenize("")) == 0
    assert tokenize("  \n ").tokens == ()


def test_align_tokens_finds_given_tokens_in_order() -> None:
    aligned = align_tokens("a  bb a", ["a", "bb", "a"])
    assert aligned == TokenizedText("a  bb a", (0, 3, 6), (1, 5, 7))
    assert aligned.tokens == ("a", "bb", "a")


def test_align_tokens_names_the_first_token_not_found() -> None:
    with pytest.raises(ValueError, match=r"token 1 'b' is not in the text after offset 1"):
        align_tokens("b a c", ["b", "b", "c"])


def test_align_tokens_refuses_blank_tokens() -> None:
    with pytest.raises(
        ValueError, match="token 1 must be a non-empty string without edge whitespace"
    ):
        align_tokens("a b", ["a", " ", "b"])
    with pytest.raises(ValueError, match="token 0 must be a non-empty"):
        align_tokens("a b", [" a"])


def test_tokenize_splits_word_runs_at_extra_boundaries() -> None:
    tokenized = tokenize("one pmnear Vatican", boundaries=[4, 6, 6, 10, 18])
    assert tokenized.tokens == ("one", "pm", "near", "Vatican")
    assert tokenized.starts == (0, 4, 6, 11)
    assert tokenize("abcdef", boundaries=[1, 3]).tokens == ("a", "bc", "def")
    with pytest.raises(ValueError, match=r"boundaries must be offsets in \[0, 3\]; got \[-1, 4\]"):
        tokenize("abc", boundaries=[4, 1, -1])


def gold_spans(row: dict[str, Any]) -> list[Span]:
    return [Span(s["start"], s["end"], s["label"]) for s in row["spans"]]


# Rows of SNIPS test whose text lacks a space between two entities, so a gold span edge
# falls inside a word run. Every other row of SNIPS (train 13,784, test 697 of 700) and
# WNUT17 (train, dev, test) has a token edge at every gold span edge.
SNIPS_TEST_RUN_TOGETHER = {
    "What kind of weather is forecast around one pmnear Vatican?",
    "Live In L.aJoseph Meyer please",
    "Show the Sexy Dance 2times at the closest movie house",
}


@pytest.mark.parametrize(("dataset", "split"), [("snips", "test"), ("wnut17", "dev")])
def test_tokenize_puts_a_boundary_at_every_gold_span_edge(dataset: str, split: str) -> None:
    run_together = set()
    for row in shared_rows(dataset, split):
        spans, text = gold_spans(row), row["text"]
        types = {span.label for span in spans}
        tokenized = tokenize(text)
        if not {(s.start, s.end) for s in spans} <= {
            (a, b) for a in tokenized.starts for b in tokenized.ends
        }:
            run_together.add(text)
        # With the gold edges as boundaries every row keeps its spans as they are.
        edges = [offset for span in spans for offset in (span.start, span.end)]
        kept = check_spans(text, spans, types, tokenized=tokenize(text, boundaries=edges))
        assert kept == sorted(spans), text
    assert run_together == (SNIPS_TEST_RUN_TOGETHER if dataset == "snips" else set())


# --- snap_span -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "snapped"),
    [
        (43, 51, (43, 51)),  # already on edges
        (44, 49, (43, 51)),  # starts and ends inside tokens
        (42, 46, (43, 46)),  # leading whitespace dropped
        (43, 47, (43, 46)),  # trailing whitespace dropped
        (21, 24, (21, 24)),  # "Pre" of "Pre-Party": punctuation is its own token
        (22, 26, (21, 30)),  # touches Pre, -, Party
    ],
)
def test_snap_span_widens_to_touched_tokens(start: int, end: int, snapped: tuple[int, int]) -> None:
    assert snap_span(tokenize(TEXT), start, end) == snapped


def test_snap_span_refuses_whitespace_and_bad_offsets() -> None:
    tokenized = tokenize("a   b")
    with pytest.raises(ValueError, match=r"touches no token \(only whitespace\)"):
        snap_span(tokenized, 1, 4)
    for start, end in [(-1, 2), (2, 2), (3, 2), (0, 6)]:
        with pytest.raises(ValueError, match="must satisfy 0 <= start < end <= 5"):
            snap_span(tokenized, start, end)


# --- BIO -------------------------------------------------------------------------------------


def test_spans_to_tags_iob2() -> None:
    tokenized = tokenize(TEXT)
    spans = [Span(4, 14, "artist"), Span(43, 51, "city")]
    tags = spans_to_tags(tokenized, spans)
    assert tags == ["O", "B-artist", "I-artist"] + ["O"] * 10 + ["B-city", "I-city"]
    assert tags_to_spans(tokenized, tags) == spans


def test_spans_to_tags_refuses_spans_off_token_edges_or_overlapping() -> None:
    tokenized = tokenize("play New York")
    with pytest.raises(ValueError, match="not on token edges"):
        spans_to_tags(tokenized, [Span(6, 13, "city")])
    with pytest.raises(ValueError, match="overlaps another span"):
        spans_to_tags(tokenized, [Span(5, 13, "city"), Span(9, 13, "city")])


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-a", "I-a", "I-a"], [(0, 3, "a")]),
        (["B-a", "B-a", "O"], [(0, 1, "a"), (1, 2, "a")]),
        # strict IOB2 (seqeval mode="strict"): an I- that continues nothing opens nothing
        (["O", "I-a", "I-a"], []),
        (["I-a", "B-a", "I-a"], [(1, 3, "a")]),
        (["B-a", "I-b", "I-b"], [(0, 1, "a")]),
        (["B-a", "I-a", "I-b"], [(0, 2, "a")]),
        (["B-a", "O", "I-a"], [(0, 1, "a")]),
    ],
)
def test_tags_to_spans_is_strict_iob2(
    tags: list[str], expected: list[tuple[int, int, str]]
) -> None:
    tokenized = tokenize("x y z")
    spans = [Span(tokenized.starts[a], tokenized.ends[b - 1], label) for a, b, label in expected]
    assert tags_to_spans(tokenized, tags) == spans


def test_tags_to_spans_matches_seqeval_strict_entities() -> None:
    from seqeval.scheme import IOB2, Tokens

    rng = np.random.default_rng(0)
    alphabet = ["O", "B-a", "I-a", "B-b", "I-b"]
    tokenized = tokenize("t " * 8)
    for _ in range(300):
        tags = [alphabet[k] for k in rng.integers(0, len(alphabet), size=8)]
        theirs = [(e.start, e.end, e.tag) for e in Tokens(tags, IOB2).entities]
        ours = [
            (tokenized.starts.index(s.start), tokenized.ends.index(s.end) + 1, s.label)
            for s in tags_to_spans(tokenized, tags)
        ]
        assert ours == theirs, tags


@pytest.mark.parametrize("tag", ["E-a", "B-", "B_a", "b-a", "", None])
def test_tags_to_spans_refuses_other_schemes(tag: Any) -> None:
    with pytest.raises(ValueError, match="is not IOB2"):
        tags_to_spans(tokenize("x y"), ["O", tag])


def test_tags_to_spans_refuses_length_mismatch() -> None:
    with pytest.raises(ValueError, match="got 1 tags for 2 tokens"):
        tags_to_spans(tokenize("x y"), ["O"])


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[TokenizedText, list[Span]]:
    words = draw(st.lists(st.sampled_from(["ab", "c", "-", "dé", "&", "42"]), max_size=12))
    gaps = draw(
        st.lists(st.sampled_from(["", " ", "  "]), min_size=len(words), max_size=len(words))
    )
    # A space before every word run keeps adjacent words from merging into one token.
    text = "".join(
        g + w if not w.isalnum() else " " + g + w for g, w in zip(gaps, words, strict=True)
    )
    tokenized = tokenize(text)
    # Cut the token positions into runs; each run becomes a span or stays outside.
    spans, i = [], 0
    while i < len(tokenized):
        length = draw(st.integers(1, 3))
        last = min(i + length, len(tokenized)) - 1
        label = draw(st.sampled_from([None, "x", "y"]))
        if label is not None:
            spans.append(Span(tokenized.starts[i], tokenized.ends[last], label))
        i = last + 1
    return tokenized, spans


@given(text_and_spans())
def test_round_trip_spans_to_tags_to_spans(case: tuple[TokenizedText, list[Span]]) -> None:
    tokenized, spans = case
    assert tags_to_spans(tokenized, spans_to_tags(tokenized, spans)) == spans


@st.composite
def iob2_tags(draw: st.DrawFn) -> list[str]:
    tags: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        choices = ["O", "B-x", "B-y"]
        if tags and tags[-1] != "O":
            choices.append("I-" + tags[-1][2:])
        tags.append(draw(st.sampled_from(choices)))
    return tags


@given(iob2_tags())
def test_round_trip_tags_to_spans_to_tags(tags: list[str]) -> None:
    tokenized = tokenize(" ".join(["w"] * len(tags)))
    assert spans_to_tags(tokenized, tags_to_spans(tokenized, tags)) == tags


# --- check_spans -----------------------------------------------------------------------------


def test_check_spans_snaps_and_sorts() -> None:
    spans = [Span(44, 49, "city"), Span(5, 13, "artist")]
    assert check_spans(TEXT, spans, TYPES) == [Span(4, 14, "artist"), Span(43, 51, "city")]


@pytest.mark.parametrize(
    ("span", "field", "message"),
    [
        (Span(0, 3, "genre"), "spans[1].label", "unknown entity type 'genre'; expected one of"),
        (Span(-1, 3, "city"), "spans[1].start", r"start -1 is outside the text \(length 51\)"),
        (Span(50, 53, "city"), "spans[1].end", r"end 53 is past the end of the text \(length 51\)"),
        (Span(9, 9, "city"), "spans[1].end", "end 9 must be greater than start 9"),
        (Span(9, 4, "city"), "spans[1].end", "end 4 must be greater than start 9"),
        (Span(14, 15, "city"), "spans[1]", r"\[14, 15\) ' ' covers no token \(only whitespace\)"),
        (Span(10, 20, "city"), "spans[1]", r"overlaps spans\[0\] .* once snapped to token edges"),
    ],
)
def test_check_spans_errors_name_file_line_and_field(span: Span, field: str, message: str) -> None:
    spans = [Span(4, 14, "artist"), span]
    with pytest.raises(InputError, match=message) as exc:
        check_spans(TEXT, spans, TYPES, file="rows.jsonl", line=7)
    assert located(exc) == ("rows.jsonl", 7, field)
    assert str(exc.value).startswith(f"rows.jsonl, line 7, field {field!r}: ")


def test_check_spans_overlap_created_by_snapping_and_duplicates() -> None:
    # "Jam" and "s" alone touch the same token "Jams": once snapped they collide.
    with pytest.raises(InputError, match=r"overlaps spans\[0\]") as exc:
        check_spans(TEXT, [Span(35, 38, "playlist"), Span(38, 39, "playlist")], TYPES)
    assert located(exc) == (None, None, "spans[1]")
    with pytest.raises(InputError, match=r"overlaps spans\[0\]") as exc:
        check_spans(TEXT, [Span(43, 51, "city"), Span(43, 51, "city")], TYPES)
    assert located(exc) == (None, None, "spans[1]")


def test_check_spans_without_a_file_gives_the_same_message() -> None:
    with pytest.raises(InputError) as exc:
        check_spans(TEXT, [Span(0, 3, "genre")], TYPES, field="entities")
    assert located(exc) == (None, None, "entities[0].label")
    assert str(exc.value).startswith("field 'entities[0].label': unknown entity type 'genre'")


def test_check_spans_snaps_to_given_tokens() -> None:
    tokenized = align_tokens("R&B hits", ["R&B", "hits"])
    assert check_spans("R&B hits", [Span(2, 3, "genre")], {"genre"}, tokenized=tokenized) == [
        Span(0, 3, "genre")
    ]


# --- parse_spans -----------------------------------------------------------------------------

OBJECTS = [{"start": 43, "end": 51, "label": "city"}, {"start": 4, "end": 14, "label": "artist"}]
EXPECTED = [Span(4, 14, "artist"), Span(43, 51, "city")]


@pytest.mark.parametrize(
    "value",
    [
        OBJECTS,
        tuple(OBJECTS),
        np.array(OBJECTS, dtype=object),  # a Parquet list column read through pandas
        '[{"start": 43, "end": 51, "label": "city"}, {"start": 4, "end": 14, "label": "artist"}]',
        [{"start": np.int64(43), "end": np.int32(51), "label": "city", "text": "New York"}]
        + OBJECTS[1:],
    ],
)
def test_parse_spans_objects_json_and_arrays(value: Any) -> None:
    assert parse_spans(value, TEXT, TYPES) == EXPECTED


@pytest.mark.parametrize("value", [[], "[]", " [ ] "])
def test_parse_spans_no_entities(value: Any) -> None:
    assert parse_spans(value, TEXT, TYPES) == []


def test_parse_spans_from_tokens_and_tags() -> None:
    tokens = [
        "add",
        "clem",
        "burke",
        "to",
        "my",
        "Pre-Party",
        "R",
        "&",
        "B",
        "Jams",
        "in",
        "New",
        "York",
    ]
    tags = ["O", "B-artist", "I-artist", "O", "O", "B-playlist", "I-playlist", "I-playlist"]
    tags += ["I-playlist", "I-playlist", "O", "B-city", "I-city"]
    assert parse_spans(None, TEXT, TYPES, tokens=tokens, tags=tags) == [
        Span(4, 14, "artist"),
        Span(21, 39, "playlist"),
        Span(43, 51, "city"),
    ]


def test_parse_spans_prefers_the_spans_value_over_tags() -> None:
    assert parse_spans(OBJECTS, TEXT, TYPES, tokens=["add"], tags=["B-bogus"]) == EXPECTED


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ("", "spans", r"is empty; write \[\] for a text with no entities"),
        ("[{'start': 1}]", "spans", "is not valid JSON"),
        ('{"start": 4, "end": 14, "label": "artist"}', "spans", "must be a list of .* got dict"),
        (7, "spans", "must be a list of .* got int 7"),
        (np.zeros((1, 2)), "spans", "must be a list of .* got ndarray"),
        ([OBJECTS[0], "4-14"], "spans[1]", "must be an object with .* got '4-14'"),
        ([{"start": 4, "label": "artist"}], "spans[0].end", r"is missing \(keys present"),
        ([{"start": "4", "end": 14, "label": "artist"}], "spans[0].start", "integer .* got '4'"),
        ([{"start": 4, "end": 14.0, "label": "artist"}], "spans[0].end", "integer .* got 14.0"),
        ([{"start": True, "end": 14, "label": "artist"}], "spans[0].start", "got True"),
        ([{"start": 4, "end": 14, "label": ["artist"]}], "spans[0].label", "must be a string"),
        ([{"start": 4, "end": 99, "label": "artist"}], "spans[0].end", "past the end"),
    ],
)
def test_parse_spans_wrong_shapes(value: Any, field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        parse_spans(value, TEXT, TYPES, file="a.csv", line=3)
    assert located(exc) == ("a.csv", 3, field)


@pytest.mark.parametrize(
    ("tokens", "tags", "field", "message"),
    [
        (None, None, "spans", "no spans given"),
        ("play", ["O"], "tokens", "must be a list of strings"),
        (["play"], "O", "tags", "must be a list of strings"),
        (["play", "Lush"], ["O"], "tags", "has 1 tags for 2 tokens"),
        (["play", "Rush"], ["O", "O"], "tokens[1]", "'Rush' is not in the text"),
        (["play", "Lush"], ["O", "S-track"], "tags[1]", "not IOB2.*only IOB2 tags are read"),
        (["play", "Lush"], ["O", "B-genre"], "tags[1]", "unknown entity type 'genre'"),
        (["play", "Lush"], ["O", "I-track"], "tags[1]", "'I-track' follows 'O'.*IOB1"),
        (["play", "Lush"], ["B-artist", "I-track"], "tags[1]", "follows 'B-artist'"),
    ],
)
def test_parse_spans_wrong_token_columns(tokens: Any, tags: Any, field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        parse_spans(None, "play Lush", {"track", "artist"}, tokens=tokens, tags=tags, line=2)
    assert located(exc) == (None, 2, field)


def test_parse_spans_from_tags_keeps_the_given_token_edges() -> None:
    # Given tokens split one word run; the spans keep the split (SNIPS test's "one pmnear").
    tokens, tags = ["play", "Lu", "sh"], ["O", "B-track", "B-track"]
    spans = parse_spans(None, "play Lush", {"track"}, tokens=tokens, tags=tags)
    assert spans == [Span(5, 7, "track"), Span(7, 9, "track")]


@pytest.mark.parametrize("dataset", ["snips", "wnut17"])
def test_parse_spans_token_columns_agree_with_span_objects(dataset: str) -> None:
    for row in shared_rows(dataset, "test"):
        types = {s["label"] for s in row["spans"]}
        from_tags = parse_spans(None, row["text"], types, tokens=row["tokens"], tags=row["tags"])
        assert from_tags == sorted(gold_spans(row)), row["text"]
        if row["text"] not in SNIPS_TEST_RUN_TOGETHER:
            assert parse_spans(row["spans"], row["text"], types) == from_tags
