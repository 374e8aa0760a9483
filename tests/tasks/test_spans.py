"""Spans and IntentsAndEntities: reading values, checking them, merging and scoring them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelwise.exceptions import InputError, InvalidLabelError
from labelwise.tasks import IntentsAndEntities, Spans
from tests.conftest import SHARED_DATA

SNIPS = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED_DATA)) / "snips" / "train.jsonl"
TEXT = "play Lush Life by Frank now"  # Lush Life: 5..14, Frank: 18..23
TRACK = {"start": 5, "end": 14, "label": "track"}
ARTIST = {"start": 18, "end": 23, "label": "artist"}


def snips_rows(n: int = 40) -> list[dict[str, Any]]:
    with SNIPS.open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(n)]


def types_of(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({s["label"] for r in rows for s in r["spans"]})


def test_char_spans_json_strings_and_bio_columns_read_the_same_on_snips_rows() -> None:
    rows = snips_rows()
    task = Spans(types_of(rows))
    for row in rows:
        from_spans = task.parse_row(row, text=row["text"])
        as_csv = task.parse_row({"spans": json.dumps(row["spans"])}, text=row["text"])
        from_tags = task.parse_row({"tokens": row["tokens"], "tags": row["tags"]}, text=row["text"])
        assert from_spans == as_csv == from_tags == {"spans": row["spans"]}
    assert task.parse_row({"text": "x"}, text="x") is None  # no spans at all: unlabeled
    assert task.parse_row({"spans": []}, text="x") == {"spans": []}  # a decision


def test_intents_entities_reads_the_intent_from_the_label_field() -> None:
    rows = snips_rows()
    task = IntentsAndEntities(sorted({r["label"] for r in rows}), types_of(rows))
    row = rows[0]
    assert task.parse_row(row, text=row["text"]) == {"intent": row["label"], "spans": row["spans"]}
    canonical = {"intent": row["label"], "spans": row["spans"]}
    assert task.parse_row({"label": json.dumps(canonical)}, text=row["text"]) == canonical
    with pytest.raises(InputError, match="has an intent but no spans") as info:
        task.parse_row({"label": row["label"]}, text=row["text"], file="f.jsonl", line=4)
    assert (info.value.line, info.value.field) == (4, "spans")
    with pytest.raises(InputError, match="unknown intent 'Dance'"):
        task.parse_row({"label": "Dance", "spans": []}, text=row["text"])


def test_bad_spans_in_a_file_name_file_line_and_field() -> None:
    task = Spans(["track", "artist"])
    spans = [TRACK, ARTIST, {"start": 24, "end": 99, "label": "artist"}]
    with pytest.raises(InputError) as info:
        task.parse_row({"spans": spans}, text=TEXT, file="in.jsonl", line=7)
    assert (info.value.file, info.value.line, info.value.field) == ("in.jsonl", 7, "spans[2].end")
    with pytest.raises(InputError) as info:
        task.parse_row({"tokens": ["play"], "tags": ["B-song"]}, text="play", line=2)
    assert info.value.field == "tags[0]" and "unknown entity type 'song'" in info.value.message
    with pytest.raises(InvalidLabelError, match=r"label\.spans\[0\]\.label"):
        task.parse({"spans": [{"start": 0, "end": 4, "label": "city"}]}, text=TEXT)


def test_api_values_must_have_their_json_shape_and_errors_name_the_field() -> None:
    task = IntentsAndEntities(["play", "stop"], ["track", "artist"])
    # Selections snap to token edges: "ush Lif" means "Lush Life".
    value = {"intent": "play", "spans": [ARTIST, {"start": 6, "end": 12, "label": "track"}]}
    assert task.validate(value, text=TEXT) == {"intent": "play", "spans": [TRACK, ARTIST]}
    cases = [
        ({"spans": []}, "takes an object"),
        ({"intent": "dance", "spans": []}, "value.intent: unknown intent 'dance'"),
        ({"intent": "play", "spans": [TRACK, {"start": 18, "end": 40, "label": "artist"}]},
         r"value.spans[1].end: end 40 is past the end"),
        ({"intent": "play", "spans": [TRACK, {"start": 10, "end": 20, "label": "artist"}]},
         "overlaps"),
        ({"intent": "play", "spans": [{"start": 4, "end": 5, "label": "track"}]},
         "covers no token"),
    ]  # fmt: skip
    for bad, message in cases:
        with pytest.raises(InvalidLabelError) as info:
            task.validate(bad, text=TEXT)
        assert message in str(info.value), (bad, str(info.value))
    with pytest.raises(InvalidLabelError, match='"spans" list'):
        Spans(["track"]).validate(["track"], text=TEXT)


def test_consensus_keeps_spans_a_strict_majority_marked_and_ties_go_to_the_latest() -> None:
    task = Spans(["track", "artist"])
    both, track_only, none = {"spans": [TRACK, ARTIST]}, {"spans": [TRACK]}, {"spans": []}
    assert task.consensus([both, track_only, none]) == track_only  # TRACK 2/3, ARTIST 1/3
    assert task.consensus([both, track_only, both]) == both
    # Two annotators who differ: a span at exactly half is a tie, the latest value wins.
    assert task.consensus([both, none]) == none
    assert task.consensus([none, both]) == both
    with pytest.raises(ValueError, match="at least one value"):
        task.consensus([])
    ie = IntentsAndEntities(["play", "stop"], ["track", "artist"])
    merged = ie.consensus(
        [{"intent": "stop", **both}, {"intent": "play", **track_only}, {"intent": "play", **none}]
    )
    assert merged == {"intent": "play", "spans": [TRACK]}


def test_correct_needs_the_exact_span_set_and_the_intent() -> None:
    task = IntentsAndEntities(["play", "stop"], ["track", "artist"])
    reference = [{"intent": "play", "spans": [TRACK]}] * 3
    predicted = [
        {"intent": "play", "spans": [TRACK]},
        {"intent": "stop", "spans": [TRACK]},
        {"intent": "play", "spans": [TRACK, ARTIST]},
    ]
    assert task.correct(predicted, reference).tolist() == [True, False, False]
    assert Spans(["track"]).correct([{"spans": []}], [{"spans": []}]).tolist() == [True]


def test_agreement_is_span_f1_over_pairs_of_annotators() -> None:
    task = Spans(["track", "artist"])
    found = task.agreement([[{"spans": [TRACK, ARTIST]}, {"spans": [TRACK]}], [{"spans": []}]])
    assert found is not None and found.items == 1
    assert found.pairwise == pytest.approx(2 * 1 / (2 + 1)) and found.fleiss_kappa is None
    assert task.agreement([[{"spans": []}]]) is None


def test_export_values_and_words() -> None:
    ie = IntentsAndEntities(["play", "stop"], ["track", "artist"])
    value = {"intent": "play", "spans": [ARTIST, TRACK]}
    assert ie.export_value(value) == {"intent": "play", "spans": [TRACK, ARTIST]}
    assert json.loads(ie.export_text(value)) == ie.export_value(value)
    assert ie.parse(ie.export_text(value), text=TEXT) == ie.export_value(value)
    assert ie.describe(value, text=TEXT) == "play · “Lush Life” track, “Frank” artist"
    assert Spans(["track"]).describe({"spans": []}) == "no entities"
    assert np.asarray(ie.predicted_values([("stop", [(5, 14, "track")])])).shape == (1,)


def test_entity_types_may_not_hold_spaces() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        Spans(["time range"])
