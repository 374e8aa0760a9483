"""iter_rows: one row or one error per record, and whole-file errors raised up front."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labelwise.data.rows import MAX_JSON_DEPTH, Row, iter_rows, json_depth
from labelwise.exceptions import InputError


def test_rows_and_errors_come_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "a"}\n\n[1]\n{"text": "b"}\n', encoding="utf-8")
    out = list(iter_rows(path))
    assert out[0] == Row(1, {"text": "a"})
    assert isinstance(out[1], InputError) and out[1].line == 3
    assert out[2] == Row(4, {"text": "b"})


def test_a_line_over_the_byte_cap_is_measured_not_read(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text('{"text": "' + "y" * 5_000 + '"}\n{"text": "short"}\n', encoding="utf-8")
    first, second = iter_rows(path, max_line_bytes=1_000)
    assert isinstance(first, InputError) and first.line == 1
    assert "5,013 bytes" in first.message
    assert second == Row(2, {"text": "short"})


def test_an_overlong_csv_line_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("text\n" + "z" * 5_000 + "\nshort\n", encoding="utf-8")
    with pytest.raises(InputError, match="5,001 bytes") as info:
        list(iter_rows(path, max_line_bytes=1_000))
    assert info.value.line == 2


def test_csv_fields_longer_than_the_csv_module_default_are_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("text,label\n" + "w" * 200_000 + ",x\n", encoding="utf-8")
    (row,) = iter_rows(path)
    assert isinstance(row, Row) and len(row.values["text"]) == 200_000
    assert csv.field_size_limit() >= 200_000


def test_csv_rows_are_numbered_by_their_first_line(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('text,n\n"two\nlines",1\n\nnext,2\n"bad"x,3\nlast,4\n', encoding="utf-8")
    out = list(iter_rows(path))
    assert out[0] == Row(2, {"text": "two\nlines", "n": "1"})
    assert out[1] == Row(5, {"text": "next", "n": "2"})
    assert isinstance(out[2], InputError) and out[2].line == 6
    assert out[3] == Row(7, {"text": "last", "n": "4"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfet\x00e\x00x\x00t\x00\n\x00", "UTF-16"),
        (b"", "no header"),
        (b"text,text\na,b\n", "repeated column"),
        (b"body\nhello\n", "no 'text' column"),
    ],
)
def test_whole_file_problems_raise(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        list(iter_rows(path))


def test_parquet_without_the_text_column(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "no_text.parquet"
    pd.DataFrame({"body": ["x"]}).to_parquet(path)
    with pytest.raises(InputError, match="no 'text' column") as info:
        list(iter_rows(path))
    assert info.value.field == "text"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        # 200,000 levels made json recurse into a RecursionError that escaped the import.
        ('{"text": "x", "meta": ' + "[" * 200_000 + "]" * 200_000 + "}", "200,001 levels"),
        # A 5,000-digit integer: Python's own limit raised a bare ValueError.
        ('{"text": "x", "n": ' + "7" * 5_000 + "}", "5,000 digits"),
        ('{"text": "x", "n": 1e999}', "too large"),
        ('{"text": "x", "n": NaN}', "NaN is not a JSON number"),
        ('{"text": "x", "n": -Infinity}', "-Infinity is not a JSON number"),
    ],
)
def test_json_no_store_can_hold_is_the_row_located_error(
    tmp_path: Path, record: str, message: str
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text('{"text": "first"}\n' + record + '\n{"text": "last"}\n', encoding="utf-8")
    first, bad, last = iter_rows(path)
    assert first == Row(1, {"text": "first"})
    assert isinstance(bad, InputError) and bad.line == 2 and bad.file == str(path)
    assert message in bad.message
    assert last == Row(3, {"text": "last"})


def test_brackets_inside_strings_and_moderate_nesting_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    # The record's own braces are the first level.
    deep = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    record = '{"text": "' + "[{" * 500 + '", "meta": ' + deep + ', "n": ' + "9" * 100 + "}"
    path.write_text(record + "\n", encoding="utf-8")
    (row,) = iter_rows(path)
    assert isinstance(row, Row) and row.values["n"] == int("9" * 100)
    assert json_depth('{"a": "[[\\"[[", "b": [[1]]}') == 3


def test_invalid_json_names_the_line_and_the_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "a"}\n{"text": x}\n', encoding="utf-8")
    _, bad = iter_rows(path)
    assert isinstance(bad, InputError)
    assert (bad.line, bad.field) == (2, None)
    assert bad.message == "invalid JSON: Expecting value at column 10"


def test_conll_sentences_become_rows_with_tokens_tags_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "in.conll"
    path.write_text(
        "-DOCSTART-\tO\n\n# text = play  New York\n# intent = Play\nplay\tO\nNew\tB-city\n"
        'York\tI-city\n\n\nhi O\n\n# text_json = "a\\tb"\na\tO\nb\tO\n\nbroken\n',
        encoding="utf-8",
    )
    rows = list(iter_rows(path))
    assert rows[:3] == [
        Row(3, {"text": "play  New York", "tokens": ["play", "New", "York"],
                "tags": ["O", "B-city", "I-city"], "label": "Play"}),
        Row(10, {"text": "hi", "tokens": ["hi"], "tags": ["O"]}),
        Row(12, {"text": "a\tb", "tokens": ["a", "b"], "tags": ["O", "O"]}),
    ]  # fmt: skip
    assert isinstance(rows[3], InputError)
    assert (rows[3].line, rows[3].field) == (16, "tags[0]")
