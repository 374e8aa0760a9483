"""Span projects: importing SNIPS rows in every file shape, and exporting training data
that imports back to the same values (char-span JSONL, CoNLL) or that Rasa reads (YAML)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from labelwise.data.spans import Span
from labelwise.service import projects, users
from labelwise.service.importing import ImportFailedError, import_items
from labelwise.service.span_exports import ExampleFormat, export_examples, read_rasa_example
from labelwise.store import Annotation, Item, TaskType
from tests.conftest import SHARED_DATA

SNIPS = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED_DATA)) / "snips" / "train.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    # 30 rows spread over the file (it is grouped by intent): all seven intents.
    lines = SNIPS.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines[:: len(lines) // 30][:30]]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def stored(session: Any, project_id: int) -> dict[str, Any]:
    """Text -> the one stored label value."""
    found = session.execute(
        select(Item.text, Annotation.value)
        .join(Annotation, Annotation.item_id == Item.id)
        .where(Item.project_id == project_id)
    ).all()
    return dict(found)


def make(session: Any, name: str, kind: TaskType, rows: list[dict[str, Any]]) -> Any:
    owner = users.get_user(session, username="owner")
    types = sorted({s["label"] for r in rows for s in r["spans"]})
    if kind is TaskType.SPANS:
        return projects.create_project(
            session, name=name, labels=types, owner=owner, task=kind, settings={}
        )
    intents = sorted({r["label"] for r in rows})
    return projects.create_project(
        session, name=name, labels=intents, entity_types=types, owner=owner, task=kind
    )


@pytest.fixture
def owner(session: Any) -> Any:
    return users.create_user(session, username="owner", password="owner-password")


def test_export_then_import_gives_the_same_values(session, owner, rows, tmp_path) -> None:
    source = make(session, "source", TaskType.INTENTS_ENTITIES, rows)
    import_items(session, project_id=source.id, path=write_jsonl(tmp_path / "in.jsonl", rows))
    expected = {r["text"]: {"intent": r["label"], "spans": r["spans"]} for r in rows}
    assert stored(session, source.id) == expected

    outputs: tuple[tuple[ExampleFormat, str], ...] = (
        ("spans", "out.jsonl"),
        ("conll", "out.conll"),
    )
    for fmt, name in outputs:
        path = tmp_path / name
        done = export_examples(session, project_id=source.id, path=path, fmt=fmt)
        assert (done.written, done.left_out) == (len(rows), 0)
        again = make(session, f"again-{fmt}", TaskType.INTENTS_ENTITIES, rows)
        import_items(session, project_id=again.id, path=path, user=owner)
        assert stored(session, again.id) == expected, fmt
    conll = (tmp_path / "out.conll").read_text("utf-8").split("\n\n")[0].splitlines()
    assert conll[:3] == [f"# text = {rows[0]['text']}", f"# intent = {rows[0]['label']}", "Add\tO"]

    yaml = pytest.importorskip("yaml")
    done = export_examples(session, project_id=source.id, path=tmp_path / "nlu.yml", fmt="rasa")
    data = yaml.safe_load((tmp_path / "nlu.yml").read_text("utf-8"))
    assert data["version"] == "3.1" and done.written + done.left_out == len(rows)
    read = {}
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            text, spans = read_rasa_example(line.removeprefix("- "))
            read[text] = {"intent": block["intent"], "spans": [vars(s) for s in spans]}
    assert read == {t: v for t, v in expected.items() if t in read}
    assert len(read) == done.written > 0


@pytest.mark.usefixtures("owner")
def test_rasa_leaves_out_what_it_cannot_read_back(session, tmp_path) -> None:
    rows = [
        {"text": "play [a](b) now", "label": "play", "spans": [{"start": 0, "end": 4, "label": "x"}]},
        {"text": "play jazz", "label": "stop", "spans": [{"start": 5, "end": 9, "label": "x"}]},
    ]  # fmt: skip
    project = make(session, "rasa", TaskType.INTENTS_ENTITIES, rows)
    import_items(session, project_id=project.id, path=write_jsonl(tmp_path / "r.jsonl", rows))
    done = export_examples(session, project_id=project.id, path=tmp_path / "r.yml", fmt="rasa")
    assert (done.written, done.left_out) == (1, 1)
    assert "    - play [jazz](x)\n" in (tmp_path / "r.yml").read_text("utf-8")
    assert read_rasa_example("play [jazz](x)") == ("play jazz", [Span(5, 9, "x")])


def test_csv_with_a_json_spans_column_and_parquet_import_like_jsonl(
    session, owner, rows, tmp_path
) -> None:
    frame = pd.DataFrame(
        {"text": [r["text"] for r in rows], "spans": [json.dumps(r["spans"]) for r in rows]}
    )
    frame.to_csv(tmp_path / "in.csv", index=False)
    pd.DataFrame({"text": frame["text"], "spans": [r["spans"] for r in rows]}).to_parquet(
        tmp_path / "in.parquet", index=False
    )
    expected = {r["text"]: {"spans": r["spans"]} for r in rows}
    for suffix in ("csv", "parquet"):
        project = make(session, f"ner-{suffix}", TaskType.SPANS, rows)
        import_items(session, project_id=project.id, path=tmp_path / f"in.{suffix}", user=owner)
        assert stored(session, project.id) == expected, suffix
        meta = session.scalar(select(Item.meta).where(Item.project_id == project.id).limit(1))
        assert "spans" not in meta  # read as the label, not kept as metadata


@pytest.mark.usefixtures("owner")
def test_a_bad_span_names_line_and_field_and_nothing_is_imported(session, rows, tmp_path) -> None:
    bad = [dict(r) for r in rows[:4]]
    bad[2]["spans"] = [*bad[2]["spans"], {"start": 0, "end": 10_000, "label": "artist"}]
    project = make(session, "bad", TaskType.SPANS, rows)
    with pytest.raises(ImportFailedError) as info:
        import_items(session, project_id=project.id, path=write_jsonl(tmp_path / "b.jsonl", bad))
    error = info.value.errors[0]
    assert (error.line, error.field) == (3, f"spans[{len(bad[2]['spans']) - 1}].end")
    assert "past the end of the text" in error.message
    assert session.scalar(select(func.count(Item.id)).where(Item.project_id == project.id)) == 0


@pytest.mark.usefixtures("owner")
def test_labeled_rows_for_texts_already_in_the_pool_attach_annotations(
    session, rows, tmp_path
) -> None:
    project = make(session, "attach", TaskType.SPANS, rows)
    plain = [{"text": r["text"]} for r in rows[:5]]
    import_items(session, project_id=project.id, path=write_jsonl(tmp_path / "p.jsonl", plain))
    assert stored(session, project.id) == {}
    import_items(session, project_id=project.id, path=write_jsonl(tmp_path / "l.jsonl", rows[:5]))
    assert stored(session, project.id) == {r["text"]: {"spans": r["spans"]} for r in rows[:5]}
    assert session.scalar(select(func.count(Item.id)).where(Item.project_id == project.id)) == 5
