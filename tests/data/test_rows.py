"""iter_rows: one row or one error per record, and whole-file errors raised up front."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from labelwise.data.rows import Row, iter_rows
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
