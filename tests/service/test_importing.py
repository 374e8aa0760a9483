"""import_items: formats, dedup, dense positions, labels, and the malformed-file corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from labelwise.data import LabelSource
from labelwise.exceptions import InputError
from labelwise.service import projects, users
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.importing import (
    MAX_REPORTED_ERRORS,
    ImportFailedError,
    content_hash,
    import_items,
)
from labelwise.store import Annotation, AnnotationKind, Event, Item, TaskType


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def clinc_rows(clinc_dir: Path, n: int) -> list[dict[str, Any]]:
    with (clinc_dir / "train.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(next(handle)) for _ in range(n)]


def snapshot(session, project_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every stored item and annotation of the project, as comparable tuples."""
    session.rollback()  # read fresh, outside any earlier transaction
    items = session.execute(
        select(Item.id, Item.position, Item.text, Item.meta, Item.content_hash)
        .where(Item.project_id == project_id)
        .order_by(Item.id)
    ).all()
    annotations = session.execute(
        select(Annotation.id, Annotation.item_id, Annotation.value, Annotation.source)
        .where(Annotation.project_id == project_id)
        .order_by(Annotation.id)
    ).all()
    session.rollback()
    return [tuple(r) for r in items], [tuple(r) for r in annotations]


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="owner-password")


@pytest.fixture
def project(session, owner):
    return projects.create_project(
        session, name="intents", labels=["translate", "transfer", "timer"], owner=owner
    )


@pytest.fixture
def multi_project(session, owner):
    return projects.create_project(
        session, name="tags", labels=["a", "b", "c"], owner=owner, task=TaskType.MULTI_LABEL
    )


# --- happy paths -----------------------------------------------------------------------------


def test_jsonl_import_adds_items_with_dense_positions_metadata_and_labels(
    session, project, owner, tmp_path, clinc_dir
):
    rows = clinc_rows(clinc_dir, 120)
    known = set(project.labels)
    for row in rows:
        row["label"] = row["label"] if row["label"] in known else None
        row["lang"] = "en"
    expected_labels = sum(row["label"] is not None for row in rows)
    assert expected_labels > 0
    path = write_jsonl(tmp_path / "clinc.jsonl", rows)

    report = import_items(session, project_id=project.id, path=path, user=owner)

    assert (report.file, report.rows, report.added) == ("clinc.jsonl", 120, 120)
    assert (report.duplicates, report.labeled, report.skipped) == (0, expected_labels, [])
    items = session.scalars(
        select(Item).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    assert [item.position for item in items] == list(range(120))
    assert [item.text for item in items] == [row["text"] for row in rows]
    assert all(item.meta == {"lang": "en"} for item in items)
    assert items[0].content_hash == content_hash(rows[0]["text"])
    annotations = session.scalars(select(Annotation).order_by(Annotation.id)).all()
    assert len(annotations) == expected_labels
    assert {a.kind for a in annotations} == {AnnotationKind.LABEL}
    assert {a.source for a in annotations} == {LabelSource.HUMAN}
    assert {a.annotator_id for a in annotations} == {owner.id}
    by_item = {a.item_id: a.value for a in annotations}
    assert all(by_item.get(item.id) == row["label"] for item, row in zip(items, rows, strict=True))
    event = session.scalar(select(Event).where(Event.kind == "import"))
    assert event is not None and event.user_id == owner.id
    assert event.payload["added"] == 120 and event.payload["labeled"] == expected_labels


def test_positions_continue_from_the_current_maximum(session, project, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [{"text": f"first {i}"} for i in range(5)])
    second = write_jsonl(tmp_path / "b.jsonl", [{"text": f"second {i}"} for i in range(3)])
    import_items(session, project_id=project.id, path=first)
    report = import_items(session, project_id=project.id, path=second)
    assert report.added == 3 and report.labeled == 0
    positions = session.scalars(
        select(Item.position).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    assert positions == list(range(8))


def test_csv_and_parquet_with_custom_field_names(session, project, tmp_path):
    csv_path = tmp_path / "pool.csv"
    csv_path.write_text(
        'utterance,intent,id\n"set a timer, please",timer,1\nhello there,,2\n', encoding="utf-8"
    )
    report = import_items(
        session,
        project_id=project.id,
        path=csv_path,
        text_field="utterance",
        label_field="intent",
        source=LabelSource.RULE,
    )
    assert (report.added, report.labeled) == (2, 1)
    parquet_path = tmp_path / "pool.parquet"
    pd.DataFrame(
        {"utterance": ["wire money", "start a timer"], "intent": ["transfer", None]}
    ).to_parquet(parquet_path)
    report = import_items(
        session,
        project_id=project.id,
        path=parquet_path,
        text_field="utterance",
        label_field="intent",
    )
    assert (report.added, report.labeled) == (2, 1)
    items = session.scalars(select(Item).order_by(Item.position)).all()
    assert [i.text for i in items] == [
        "set a timer, please",
        "hello there",
        "wire money",
        "start a timer",
    ]
    assert items[0].meta == {"id": "1"}
    sources = session.scalars(select(Annotation.source).order_by(Annotation.id)).all()
    assert sources == [LabelSource.RULE, LabelSource.HUMAN]
    assert session.scalars(select(Annotation.annotator_id)).all() == [None, None]


def test_duplicates_by_normalized_hash_within_the_file_and_against_the_project(
    session, project, tmp_path
):
    assert content_hash("Hello  World ") == content_hash("hello world")
    assert content_hash("ＨＥＬＬＯ\tworld") == content_hash("hello world")  # NFKC full-width
    assert content_hash("hello world") != content_hash("hello, world")
    first = write_jsonl(
        tmp_path / "a.jsonl",
        [{"text": "Hello  World"}, {"text": "hello world", "label": "timer"}, {"text": "other"}],
    )
    report = import_items(session, project_id=project.id, path=first)
    assert (report.rows, report.added, report.duplicates, report.labeled) == (3, 2, 1, 0)
    second = write_jsonl(
        tmp_path / "b.jsonl", [{"text": "ＨＥＬＬＯ\tworld"}, {"text": "OTHER"}, {"text": "new"}]
    )
    report = import_items(session, project_id=project.id, path=second)
    assert (report.added, report.duplicates) == (1, 2)
    texts = session.scalars(select(Item.text).order_by(Item.position)).all()
    assert texts == ["Hello  World", "other", "new"]
    # Importing the same file again adds nothing.
    again = import_items(session, project_id=project.id, path=second)
    assert (again.added, again.duplicates) == (0, 3)


def test_multi_label_lists_and_pipe_separated_csv(session, multi_project, tmp_path):
    jsonl = write_jsonl(
        tmp_path / "tags.jsonl",
        [
            {"text": "one", "label": ["a", "b", "a"]},
            {"text": "two", "label": []},
            {"text": "three", "label": "c|a"},
            {"text": "four"},
        ],
    )
    report = import_items(session, project_id=multi_project.id, path=jsonl)
    assert (report.added, report.labeled) == (4, 3)
    csv_path = tmp_path / "tags.csv"
    csv_path.write_text("text,label\nfive,b|c\nsix,\n", encoding="utf-8")
    report = import_items(session, project_id=multi_project.id, path=csv_path)
    assert (report.added, report.labeled) == (2, 1)
    values = session.scalars(select(Annotation.value).order_by(Annotation.id)).all()
    # One canonical form, as a value submitted through the API is stored: each name once,
    # in the project's label order ("c|a" is stored as ["a", "c"]).
    assert values == [["a", "b"], [], ["a", "c"], ["b", "c"]]


def test_skip_mode_imports_good_rows_and_lists_the_bad_ones(session, project, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"text": "good one", "label": "timer"}\n'
        '{"text": 42}\n'
        "\n"
        '{"text": "unknown label", "label": "weather"}\n'
        "{broken\n"
        '{"text": "good two"}\n',
        encoding="utf-8",
    )
    report = import_items(session, project_id=project.id, path=path, on_error="skip")
    assert (report.rows, report.added, report.labeled) == (5, 2, 1)
    assert [(s["line"], s["field"]) for s in report.skipped] == [
        (2, "text"),
        (4, "label"),
        (5, None),
    ]
    assert all(s["file"] == str(path) for s in report.skipped)
    assert "weather" in report.skipped[1]["message"]
    assert session.scalars(select(Item.position).order_by(Item.position)).all() == [0, 1]
    event = session.scalar(select(Event).where(Event.kind == "import"))
    assert event.payload["skipped"] == 3


def test_abort_keeps_the_first_hundred_errors_and_counts_all(session, project, tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": i} for i in range(250)])
    with pytest.raises(ImportFailedError) as info:
        import_items(session, project_id=project.id, path=path)
    error = info.value
    assert error.n_errors == 250 and len(error.errors) == MAX_REPORTED_ERRORS
    assert [e.line for e in error.errors[:3]] == [1, 2, 3]
    assert isinstance(error, InputError) and (error.line, error.field) == (1, "text")
    body = error.to_dict()
    assert body["n_errors"] == 250 and len(body["errors"]) == MAX_REPORTED_ERRORS
    assert "250 bad rows" in str(error)


def test_unknown_project_bad_options_and_unsupported_files(session, project, tmp_path):
    path = write_jsonl(tmp_path / "ok.jsonl", [{"text": "fine"}])
    with pytest.raises(NotFoundError):
        import_items(session, project_id=project.id + 99, path=path)
    with pytest.raises(ValidationError, match="on_error"):
        import_items(session, project_id=project.id, path=path, on_error="ignore")  # type: ignore[arg-type]
    xlsx = tmp_path / "pool.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match="unsupported file type"):
        import_items(session, project_id=project.id, path=xlsx)
    with pytest.raises(InputError, match="file not found"):
        import_items(session, project_id=project.id, path=tmp_path / "missing.csv")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="no records"):
        import_items(session, project_id=project.id, path=blank)


def test_blank_jsonl_lines_are_skipped_silently(session, project, tmp_path):
    path = tmp_path / "gaps.jsonl"
    path.write_text('\n{"text": "a"}\n\n\r\n{"text": "b"}\n\n', encoding="utf-8")
    report = import_items(session, project_id=project.id, path=path)
    assert (report.rows, report.added, report.skipped) == (2, 2, [])


def test_metadata_is_made_json_safe(session, project, tmp_path):
    path = tmp_path / "meta.parquet"
    pd.DataFrame(
        {
            "text": ["x", "y"],
            "score": [float("nan"), 1.5],
            "when": pd.to_datetime(["2024-01-02", "2024-03-04"]),
            "tags": [["p", "q"], []],
        }
    ).to_parquet(path)
    import_items(session, project_id=project.id, path=path)
    metas = session.scalars(select(Item.meta).order_by(Item.position)).all()
    assert metas[0]["score"] is None and metas[1]["score"] == 1.5
    assert metas[0]["when"].startswith("2024-01-02") and metas[0]["tags"] == ["p", "q"]


@pytest.mark.slow
def test_a_hundred_thousand_rows(session, project, tmp_path):
    labels = [*project.labels, None]
    path = write_jsonl(
        tmp_path / "big.jsonl",
        [{"text": f"request number {i}", "label": labels[i % 4], "n": i} for i in range(100_000)],
    )
    report = import_items(session, project_id=project.id, path=path)
    assert (report.added, report.labeled, report.duplicates) == (100_000, 75_000, 0)
    assert session.scalar(select(func.max(Item.position))) == 99_999
    assert session.scalar(select(func.count(Annotation.id))) == 75_000


# --- the malformed-file corpus -----------------------------------------------------------------
# Each file is generated here (no binary blobs in the repository). Each must fail with an
# error naming the file, the line and (where one exists) the field, and leave the project's
# items and annotations exactly as they were.


def _latin1_csv(path: Path) -> None:
    path.write_bytes(b"text,label\nfine,timer\ncaf\xe9 au lait,timer\n")


def _latin1_jsonl(path: Path) -> None:
    path.write_bytes(b'{"text": "fine"}\n{"text": "na\xefve", "label": "timer"}\n')


def _missing_text_column(path: Path) -> None:
    path.write_text("body,label\nhello,timer\n", encoding="utf-8")


def _missing_text_key(path: Path) -> None:
    write_jsonl(path, [{"text": "fine"}, {"body": "no text here"}])


def _empty_text(path: Path) -> None:
    path.write_text('{"text": "fine"}\n\n{"text": "   "}\n', encoding="utf-8")


def _huge_line(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "fine"}) + "\n")
        handle.write(json.dumps({"text": "x" * 10_000_000, "label": "timer"}) + "\n")


def _unknown_label(path: Path) -> None:
    path.write_text("text,label\nfine,timer\nwhat's the weather,weather\n", encoding="utf-8")


def _broken_json(path: Path) -> None:
    path.write_text('{"text": "fine"}\n{"text": "oops", "label": }\n', encoding="utf-8")


def _wrong_field_count(path: Path) -> None:
    path.write_text("text,label,lang\nfine,timer,en\ntoo short,timer\n", encoding="utf-8")


def _text_not_a_string(path: Path) -> None:
    write_jsonl(path, [{"text": "fine"}, {"text": ["a", "list"]}])


def _parquet_number_text(path: Path) -> None:
    pd.DataFrame({"text": [1, 2], "label": ["timer", "timer"]}).to_parquet(path)


def _nul_in_text(path: Path) -> None:
    write_jsonl(path, [{"text": "fine"}, {"text": "null\u0000byte"}])


def _lone_surrogate(path: Path) -> None:
    path.write_text('{"text": "fine"}\n{"text": "half \\ud800 pair"}\n', encoding="utf-8")


CORPUS = [
    # name, writer, suffix, line, field, message fragment
    ("wrong encoding (CSV)", _latin1_csv, ".csv", 3, "text", "not valid UTF-8: byte 0xe9"),
    ("wrong encoding (JSONL)", _latin1_jsonl, ".jsonl", 2, "text", "not valid UTF-8: byte 0xef"),
    ("missing text column", _missing_text_column, ".csv", 1, "text", "no 'text' column"),
    ("missing text key", _missing_text_key, ".jsonl", 2, "text", "missing 'text'"),
    ("blank line then empty text", _empty_text, ".jsonl", 3, "text", "empty text"),
    ("10 MB single line", _huge_line, ".jsonl", 2, "text", "10,000,000 characters"),
    ("unknown label", _unknown_label, ".csv", 3, "label", "unknown label 'weather'"),
    # Malformed JSON and a short CSV row have no field to name, or name the first missing one.
    ("broken JSON", _broken_json, ".jsonl", 2, None, "invalid JSON"),
    ("wrong CSV field count", _wrong_field_count, ".csv", 3, "lang", "expected 3 fields, found 2"),
    ("text not a string", _text_not_a_string, ".jsonl", 2, "text", "must be a string, got list"),
    ("Parquet number text", _parquet_number_text, ".parquet", 1, "text", "got int"),
    ("NUL in text", _nul_in_text, ".jsonl", 2, "text", "NUL"),
    ("lone surrogate", _lone_surrogate, ".jsonl", 2, "text", "surrogate"),
]


@pytest.mark.parametrize(
    ("writer", "suffix", "line", "field", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CORPUS],
)
def test_malformed_file_names_file_line_field_and_changes_nothing(
    session, project, owner, tmp_path, writer, suffix, line, field, fragment
):
    seed = write_jsonl(
        tmp_path / "seed.jsonl",
        [{"text": "existing one", "label": "timer"}, {"text": "existing two"}],
    )
    import_items(session, project_id=project.id, path=seed, user=owner)
    before = snapshot(session, project.id)
    assert len(before[0]) == 2 and len(before[1]) == 1

    path = tmp_path / f"bad{suffix}"
    writer(path)
    with pytest.raises(InputError) as info:
        import_items(session, project_id=project.id, path=path, user=owner)

    error = info.value
    errors = error.errors if isinstance(error, ImportFailedError) else [error]
    assert errors[0].file == str(path)
    assert (errors[0].line, errors[0].field) == (line, field)
    assert fragment in errors[0].message
    located = f"{path}, line {line}" + (f", field {field!r}" if field else "")
    assert str(errors[0]).startswith(located)
    assert snapshot(session, project.id) == before
    assert session.scalar(select(func.count()).where(Event.kind == "import")) == 1
