"""read_dataset: JSONL, CSV and Parquet, and the InputError every bad row raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from labelwise.data.readers import TextDataset, read_dataset
from labelwise.exceptions import InputError, LabelwiseError
from labelwise.tasks import MultiLabel


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# --- happy paths -----------------------------------------------------------------------------


def test_jsonl_texts_labels_metadata(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "pool.jsonl",
        [
            {"text": "book a flight", "label": "travel", "id": 7, "lang": "en"},
            {"text": "hello there", "lang": "en"},
            {"text": "good bye", "label": None},
            {"text": "how much", "label": ""},
            {"text": "order three", "label": 3},
        ],
    )
    ds = read_dataset(path)
    assert isinstance(ds, TextDataset)
    assert len(ds) == 5
    assert ds.texts == ["book a flight", "hello there", "good bye", "how much", "order three"]
    assert ds.labels == ["travel", None, None, None, "3"]
    assert ds.metadata == [{"id": 7, "lang": "en"}, {"lang": "en"}, {}, {}, {}]
    assert ds.source == str(path)
    assert ds.is_fully_labeled is False
    assert ds.classes() == ["3", "travel"]


def test_jsonl_custom_fields_blank_lines_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "pool.ndjson"
    body = '{"utterance": "hi", "intent": "greet"}\n\n   \n{"utterance": "bye", "intent": "bye"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    ds = read_dataset(path, text_field="utterance", label_field="intent", require_labels=True)
    assert ds.texts == ["hi", "bye"]
    assert ds.labels == ["greet", "bye"]
    assert ds.metadata == [{}, {}]
    assert ds.is_fully_labeled is True


def test_jsonl_multilabel_lists(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "ml.jsonl",
        [
            {"text": "a", "label": ["sport", "news"]},
            {"text": "b", "label": []},
            {"text": "c"},
            {"text": "d", "label": ["tech"]},
        ],
    )
    ds = read_dataset(path, task=MultiLabel())
    assert ds.labels == [["sport", "news"], [], None, ["tech"]]
    assert ds.classes() == ["news", "sport", "tech"]


def test_csv_texts_labels_metadata(tmp_path: Path) -> None:
    path = tmp_path / "pool.csv"
    path.write_text(
        'text,label,source\n"hello, world",greet,web\nbook a flight,,app\n\nbye,bye,web\n',
        encoding="utf-8",
    )
    ds = read_dataset(path)
    assert ds.texts == ["hello, world", "book a flight", "bye"]
    assert ds.labels == ["greet", None, "bye"]
    assert ds.metadata == [{"source": "web"}, {"source": "app"}, {"source": "web"}]


def test_csv_multilabel_pipe_separated(tmp_path: Path) -> None:
    path = tmp_path / "ml.csv"
    path.write_text("text,label\nx,a|b\ny, c \nz,\n", encoding="utf-8")
    ds = read_dataset(path, task=MultiLabel())
    assert ds.labels == [["a", "b"], ["c"], None]


def test_parquet_texts_labels_metadata(tmp_path: Path) -> None:
    path = tmp_path / "pool.parquet"
    frame = pd.DataFrame(
        {
            "text": ["one", "two", "three"],
            "label": ["x", None, "y"],
            "score": [0.5, 1.5, 2.5],
        }
    )
    frame.to_parquet(path, index=False)
    ds = read_dataset(path)
    assert ds.texts == ["one", "two", "three"]
    assert ds.labels == ["x", None, "y"]
    assert ds.metadata == [{"score": 0.5}, {"score": 1.5}, {"score": 2.5}]


def test_parquet_multilabel_lists(tmp_path: Path) -> None:
    path = tmp_path / "ml.parquet"
    pd.DataFrame({"text": ["p", "q"], "label": [["a", "b"], ["c"]]}).to_parquet(path, index=False)
    ds = read_dataset(path, task=MultiLabel())
    assert ds.labels == [["a", "b"], ["c"]]


# --- errors ----------------------------------------------------------------------------------


def read_error(path: Path, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as info:
        read_dataset(path, **kwargs)
    return info.value


def test_invalid_json_names_line_3(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b",}\n{"text": "c"}\n', encoding="utf-8")
    err = read_error(path)
    assert err.file == str(path)
    assert err.line == 3
    assert err.field is None
    assert err.message.startswith("invalid JSON")


def test_too_deep_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b", "m": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
    err = read_error(path)
    assert (err.line, err.field) == (2, None)
    assert "levels deep" in err.message


def test_non_object_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a"}\n["text", "b"]\n', encoding="utf-8")
    err = read_error(path)
    assert (err.file, err.line, err.field) == (str(path), 2, None)
    assert "got list" in err.message


def test_missing_text_key(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "ok"}, {"body": "no text key"}])
    err = read_error(path)
    assert (err.file, err.line, err.field) == (str(path), 2, "text")
    assert err.message == "missing 'text'"


@pytest.mark.parametrize("text", ["", "   \t"])
def test_empty_text(tmp_path: Path, text: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "ok"}, {"text": "fine"}, {"text": text}])
    err = read_error(path)
    assert (err.line, err.field, err.message) == (3, "text", "empty text")


def test_text_that_is_not_a_string(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": 12}])
    err = read_error(path)
    assert (err.line, err.field) == (1, "text")
    assert "got int" in err.message


@pytest.mark.parametrize(
    ("label", "type_name"), [(1.5, "float"), (True, "bool"), ({"a": 1}, "dict"), (["a"], "list")]
)
def test_non_string_label(tmp_path: Path, label: Any, type_name: str) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl", [{"text": "ok", "label": "a"}, {"text": "x", "label": label}]
    )
    err = read_error(path)
    assert (err.file, err.line, err.field) == (str(path), 2, "label")
    assert err.message == f"label must be a string, got {type_name}"


def test_multilabel_label_must_be_list_of_strings(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "ok", "label": ["a", 3]}])
    err = read_error(path, task=MultiLabel())
    assert (err.line, err.field) == (1, "label")


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "ok"}\n{"text": "fine"}\n{"text": "café"}\n'.encode("latin-1"))
    err = read_error(path)
    # The shared row reader (iter_rows) names the field that holds the bad byte.
    assert (err.file, err.line, err.field) == (str(path), 3, "text")
    assert "UTF-8" in err.message
    assert "0xe9" in err.message


def test_non_utf8_bytes_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nnaïve,a\n".encode("latin-1"))
    err = read_error(path)
    assert (err.line, err.field) == (2, "text")


def test_csv_missing_text_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("body,label\nhello,greet\n", encoding="utf-8")
    err = read_error(path)
    assert (err.file, err.line, err.field) == (str(path), 1, "text")


def test_csv_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nhello,greet\n\nbye,bye,extra\n", encoding="utf-8")
    err = read_error(path)
    assert (err.file, err.line) == (str(path), 4)
    assert err.message.startswith("expected 2 fields, found 3")


def test_empty_csv_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    err = read_error(path)
    assert err.line == 1
    assert "no header" in err.message


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "pool.txt"
    path.write_text("hello\n", encoding="utf-8")
    err = read_error(path)
    assert err.file == str(path)
    assert err.line is None and err.field is None
    assert "'.txt'" in err.message
    assert "'.jsonl'" in err.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    err = read_error(path)
    assert (err.file, err.line, err.field, err.message) == (str(path), None, None, "file not found")


def test_only_blank_lines_gives_no_records(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n  \n\n", encoding="utf-8")
    err = read_error(path)
    assert err.file == str(path)
    assert err.line is None
    assert err.message == "no records found"


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    err = read_error(path)
    assert err.file == str(path)
    assert err.message.startswith("not a readable Parquet file")


def test_parquet_error_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"text": ["ok", "  "], "label": ["a", "b"]}).to_parquet(path, index=False)
    err = read_error(path)
    assert (err.line, err.field, err.message) == (2, "text", "empty text")


def test_require_labels_with_a_missing_label(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "train.jsonl",
        [{"text": "a", "intent": "x"}, {"text": "b", "intent": "y"}, {"text": "c"}],
    )
    err = read_error(path, label_field="intent", require_labels=True)
    assert (err.file, err.line, err.field) == (str(path), 3, "intent")
    assert err.message == "missing label"


def test_require_labels_in_csv_names_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text("text,label\na,x\nb,\n", encoding="utf-8")
    err = read_error(path, require_labels=True)
    assert (err.line, err.field) == (3, "label")


# --- the error object itself ----------------------------------------------------------------


def test_input_error_str_and_to_dict(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "ok"}, {"text": "x", "label": 2.0}])
    err = read_error(path)
    text = str(err)
    assert str(path) in text
    assert "line 2" in text
    assert "'label'" in text
    assert text == f"{path}, line 2, field 'label': label must be a string, got float"
    assert err.to_dict() == {
        "message": "label must be a string, got float",
        "file": str(path),
        "line": 2,
        "field": "label",
    }
    assert json.loads(json.dumps(err.to_dict())) == err.to_dict()


def test_input_error_is_a_value_error_and_labelwise_error() -> None:
    err = InputError("boom")
    assert isinstance(err, ValueError)
    assert isinstance(err, LabelwiseError)
    assert str(err) == "boom"
    assert err.to_dict() == {"message": "boom", "file": None, "line": None, "field": None}
    partial = InputError("bad", line=4)
    assert str(partial) == "line 4: bad"
