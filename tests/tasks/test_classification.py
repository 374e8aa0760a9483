"""SingleLabel and MultiLabel: parse, validate, codes, consensus, metric, export."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from labelwise.exceptions import InputError, InvalidLabelError
from labelwise.tasks import MultiLabel, SingleLabel, Task

INTENTS = ["greet", "bye", "oos"]
TAGS = ["news", "sport", "tech"]


# --- parse: file values -----------------------------------------------------------------------


@pytest.mark.parametrize("blank", [None, "", "   ", float("nan")])
@pytest.mark.parametrize("task", [SingleLabel(INTENTS), MultiLabel(TAGS)])
def test_a_blank_field_is_unlabeled(task: Task, blank: Any) -> None:
    assert task.parse(blank) is None


@pytest.mark.parametrize(("raw", "parsed"), [("bye", "bye"), (" oos\t", "oos")])
def test_single_label_parses_a_name(raw: str, parsed: str) -> None:
    assert SingleLabel(INTENTS).parse(raw) == parsed


def test_single_label_reads_an_integer_as_its_name() -> None:
    assert SingleLabel(["1", "2"]).parse(2) == "2"


@pytest.mark.parametrize(
    ("value", "type_name"), [(1.5, "float"), (True, "bool"), ({"a": 1}, "dict"), (["a"], "list")]
)
def test_single_label_refuses_other_types(value: Any, type_name: str) -> None:
    with pytest.raises(InvalidLabelError, match=f"^label must be a string, got {type_name}$"):
        SingleLabel(INTENTS).parse(value)


def test_single_label_refuses_an_unknown_name_and_lists_the_known_ones() -> None:
    with pytest.raises(InvalidLabelError) as info:
        SingleLabel(INTENTS).parse("weather")
    assert str(info.value) == "unknown label 'weather'; the labels are 'greet', 'bye', 'oos'"


def test_an_open_task_takes_any_name() -> None:
    assert SingleLabel().parse("anything") == "anything"
    assert MultiLabel().parse("z|a|z") == ["z", "a"]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (["sport", "news"], ["news", "sport"]),
        ("tech|news", ["news", "tech"]),
        (" tech | news ", ["news", "tech"]),
        ("news||", ["news"]),
        (["news", "news", " "], ["news"]),
        ([], []),
        (("sport",), ["sport"]),
    ],
)
def test_multi_label_parses_lists_and_pipe_separated_names(raw: Any, parsed: list[str]) -> None:
    assert MultiLabel(TAGS).parse(raw) == parsed


@pytest.mark.parametrize("value", [["news", 3], 7, {"news": True}])
def test_multi_label_refuses_other_shapes(value: Any) -> None:
    with pytest.raises(InvalidLabelError, match="list of label names or a '\\|'-separated string"):
        MultiLabel(TAGS).parse(value)


def test_multi_label_names_every_unknown_name() -> None:
    with pytest.raises(InvalidLabelError, match="^unknown labels 'art', 'law'; the labels are"):
        MultiLabel(TAGS).parse("art|news|law")


def test_parse_field_locates_the_error() -> None:
    with pytest.raises(InputError) as info:
        SingleLabel(INTENTS).parse_field("weather", file="pool.csv", line=7, field="intent")
    err = info.value
    assert (err.file, err.line, err.field) == ("pool.csv", 7, "intent")
    assert err.message.startswith("unknown label 'weather'")


# --- validate: API values ---------------------------------------------------------------------


def test_single_label_validate_wants_a_string_it_knows() -> None:
    task = SingleLabel(INTENTS)
    assert task.validate("bye") == "bye"
    with pytest.raises(InvalidLabelError, match="takes one label name"):
        task.validate(["bye"])
    with pytest.raises(InvalidLabelError, match="^Unknown label 'nope'; .*'oos'\\.$"):
        task.validate("nope")


def test_multi_label_validate_stores_the_canonical_set() -> None:
    task = MultiLabel(TAGS)
    assert task.validate(["tech", "news", "tech"]) == ["news", "tech"]
    assert task.validate([]) == []
    with pytest.raises(InvalidLabelError, match="takes a list of label names"):
        task.validate("news|tech")  # the file spelling is not an API value
    with pytest.raises(InvalidLabelError, match="^Unknown label 'art'"):
        task.validate(["art"])


def test_api_errors_are_value_errors() -> None:
    assert issubclass(InvalidLabelError, ValueError)


# --- codes ------------------------------------------------------------------------------------


def test_single_label_round_trip_through_codes() -> None:
    task = SingleLabel(INTENTS)
    values = ["oos", "greet", "oos"]
    codes = task.encode(values)
    assert codes.tolist() == [2, 0, 2]
    assert task.decode(codes) == values
    assert task.predicted_values(np.array(values, dtype=object)) == values
    assert task.per_class_proba is False and task.schema.multilabel is False


def test_multi_label_round_trip_through_codes() -> None:
    task = MultiLabel(TAGS)
    values = [["news", "tech"], [], ["sport"]]
    codes = task.encode(values)
    assert codes.dtype == bool and codes.shape == (3, 3)
    assert task.decode(codes) == values
    assert task.predicted_values(codes.astype(int)) == values
    assert task.per_class_proba is True and task.schema.multilabel is True


def test_an_open_task_cannot_encode() -> None:
    with pytest.raises(ValueError, match="no label list"):
        MultiLabel().encode([["a"]])


# --- consensus --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "merged"),
    [
        (["bye"], "bye"),  # one vote
        (["bye", "greet", "bye"], "bye"),  # majority
        (["bye", "greet"], "greet"),  # a tie goes to the latest of the tied values
        (["greet", "bye", "bye", "greet", "oos"], "greet"),
    ],
)
def test_single_label_consensus(votes: list[str], merged: str) -> None:
    assert SingleLabel(INTENTS).consensus(votes) == merged


@pytest.mark.parametrize(
    ("votes", "merged"),
    [
        ([["news"]], ["news"]),
        ([["news", "tech"], ["news", "tech"], ["sport"]], ["sport"]),  # the latest set
        ([["news"], []], []),
    ],
)
def test_multi_label_consensus_is_the_latest_set(votes: list[list[str]], merged: Any) -> None:
    assert MultiLabel(TAGS).consensus(votes) == merged


@pytest.mark.parametrize("task", [SingleLabel(INTENTS), MultiLabel(TAGS)])
def test_consensus_of_nothing_is_an_error(task: Task) -> None:
    with pytest.raises(ValueError, match="at least one value"):
        task.consensus([])


# --- metric -----------------------------------------------------------------------------------


def test_single_label_metric_is_accuracy() -> None:
    task = SingleLabel(INTENTS)
    assert task.metric == "accuracy"
    assert task.correct(["bye", "oos", "bye"], ["bye", "bye", "bye"]).tolist() == [1, 0, 1]
    assert task.score(["bye", "oos"], ["bye", "bye"]) == 0.5


def test_multi_label_metric_is_exact_set_match() -> None:
    task = MultiLabel(TAGS)
    assert task.metric == "exact_match"
    predicted = [["news"], ["news", "tech"], [], ["tech", "sport"]]
    reference = [["news"], ["news"], [], ["sport", "tech"]]
    assert task.correct(predicted, reference).tolist() == [True, False, True, True]
    assert task.score(predicted, reference) == 0.75


def test_metric_refuses_mismatched_lengths_and_is_nan_when_empty() -> None:
    with pytest.raises(ValueError, match="2 reference values but 1 predictions"):
        SingleLabel(INTENTS).correct(["a"], ["a", "b"])
    assert np.isnan(MultiLabel(TAGS).score([], []))


def test_agreement_is_kappa_for_single_label_and_none_for_multi_label() -> None:
    ratings = [["bye", "bye"], ["bye", "greet"], ["greet", "greet"]]
    agreement = SingleLabel(INTENTS).agreement(ratings)
    assert agreement is not None and agreement.pairwise == pytest.approx(2 / 3)
    assert MultiLabel(TAGS).agreement([[["news"], ["news"]]]) is None


# --- export -----------------------------------------------------------------------------------


def test_single_label_export_fields() -> None:
    task = SingleLabel(INTENTS)
    assert task.export_value("bye") == "bye"
    assert task.export_text("bye") == "bye"
    assert task.export_arrow_type() == pa.string()


def test_multi_label_export_fields_read_back_the_same() -> None:
    task = MultiLabel(TAGS)
    value = ["news", "tech"]
    assert task.export_value(value) == ["news", "tech"]
    assert task.export_arrow_type() == pa.list_(pa.string())
    cell = task.export_text(value)
    assert cell == "news|tech"
    # What a CSV export writes, the import reads back as the same value.
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["text", cell])
    assert task.parse(next(csv.reader(io.StringIO(buffer.getvalue())))[1]) == value


def test_class_names_say_which_classes_a_value_names() -> None:
    from labelwise.tasks import task_for

    assert SingleLabel(["a", "b"]).class_names("a") == frozenset({"a"})
    assert MultiLabel(["a", "b"]).class_names(["b", "a"]) == frozenset({"a", "b"})
    spans = task_for("spans", None)
    assert spans.class_names({"spans": []}) is None
    intents = task_for("intents_entities", ["book", "play"])
    assert intents.class_names({"intent": "book", "spans": []}) == frozenset({"book"})
