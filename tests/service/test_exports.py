"""export_labels and list_labels: columns, live labels only, formats, round trips, atomicity."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, update

from labelwise.data import LabelSource
from labelwise.service import exports, projects, queue, users
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.exports import COLUMNS, LabeledRow, export_labels, list_labels
from labelwise.service.importing import import_items
from labelwise.service.labeling_functions import (
    create_labeling_function,
    update_labeling_function,
)
from labelwise.service.transactions import begin_write
from labelwise.store import Annotation, AnnotationKind, Item, ModelVersion, TaskType
from tests.service.pool_factory import make_project, make_user


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_any(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return [{str(k): v for k, v in r.items()} for r in pd.read_parquet(path).to_dict("records")]


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="owner-password")


@pytest.fixture
def labeled(session, owner, tmp_path, clinc_dir):
    """A project with 40 CLINC150 items, 30 of them labeled by ``owner``."""
    with (clinc_dir / "train.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(next(handle)) for _ in range(40)]
    # The first 40 rows share one intent; a project needs a second label.
    names = sorted({row["label"] for row in rows} | {"other"})
    for i, row in enumerate(rows):
        row["id"] = i
        if i % 4 == 3:
            row["label"] = None
    project = projects.create_project(session, name="clinc", labels=names, owner=owner)
    path = write_jsonl(tmp_path / "seed.jsonl", rows)
    import_items(session, project_id=project.id, path=path, user=owner)
    return project, rows


def test_export_writes_one_row_per_live_label_with_every_column(session, labeled, tmp_path):
    project, rows = labeled
    # Provenance on one label, an undone label and a skip: only live labels are exported.
    begin_write(session)
    learner = "LogisticRegression(C=10.0, max_iter=1000) on minilm features"
    version = ModelVersion(
        project_id=project.id, version=3, label_count=30, metrics={"learner": learner}
    )
    session.add(version)
    session.flush()
    first = session.scalar(select(Annotation).order_by(Annotation.id))
    first.model_version_id, first.strategy, first.query_score = version.id, "margin", 0.25
    first.seconds_spent = 4.5
    second = session.scalars(select(Annotation).order_by(Annotation.id)).all()[1]
    second.undone_at = datetime.now(UTC)
    item = session.scalar(select(Item).where(Item.position == 3))
    session.add(
        Annotation(project_id=project.id, item_id=item.id, kind=AnnotationKind.SKIP, value="")
    )
    session.commit()

    path = tmp_path / "out" / "labels.jsonl"
    assert export_labels(session, project_id=project.id, path=path) == 29
    out = read_any(path)
    assert list(out[0]) == list(COLUMNS)
    assert out[0]["position"] == 0 and out[0]["text"] == rows[0]["text"]
    assert out[0]["label"] == rows[0]["label"]
    assert out[0]["source"] == "human" and out[0]["annotator"] == "owner"
    assert (out[0]["model_version"], out[0]["strategy"], out[0]["query_score"]) == (
        3,
        "margin",
        0.25,
    )
    # The learner whose ranking served it; labels no model ranked name none.
    assert out[0]["chosen_by"] == learner
    assert {r["chosen_by"] for r in out[1:]} == {None}
    assert out[0]["seconds_spent"] == 4.5
    assert out[0]["meta"] == {"id": 0}
    assert datetime.fromisoformat(out[0]["created_at"]).utcoffset() == timedelta(0)
    assert 1 not in [r["position"] for r in out]  # the undone label
    assert [r["position"] for r in out] == sorted(r["position"] for r in out)

    with_undone = tmp_path / "all.jsonl"
    assert (
        export_labels(session, project_id=project.id, path=with_undone, include_undone=True) == 30
    )
    undone = [r for r in read_any(with_undone) if r["undone_at"] is not None]
    assert [r["position"] for r in undone] == [1]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_round_trip_export_then_import_into_a_new_project(
    session, owner, labeled, tmp_path, suffix
):
    project, rows = labeled
    path = tmp_path / f"labels{suffix}"
    assert export_labels(session, project_id=project.id, path=path) == 30
    copy = projects.create_project(
        session, name=f"copy{suffix}", labels=project.labels, owner=owner
    )

    report = import_items(session, project_id=copy.id, path=path, source=LabelSource.MODEL)

    assert (report.added, report.labeled, report.skipped) == (30, 30, [])
    original = [(r.text, r.label) for r in list_labels(session, project_id=project.id)]
    copied = [(r.text, r.label) for r in list_labels(session, project_id=copy.id)]
    assert copied == original
    assert {r.source for r in list_labels(session, project_id=copy.id)} == {"model"}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_multi_label_round_trip(session, owner, tmp_path, suffix):
    project = projects.create_project(
        session, name="tags", labels=["a", "b", "c"], owner=owner, task=TaskType.MULTI_LABEL
    )
    source = write_jsonl(
        tmp_path / "tags.jsonl",
        [
            {"text": "one", "label": ["a", "c"]},
            {"text": "two", "label": ["b"]},
            {"text": "three"},
        ],
    )
    import_items(session, project_id=project.id, path=source, user=owner)
    path = tmp_path / "out" / f"tags{suffix}"
    assert export_labels(session, project_id=project.id, path=path) == 2
    written = read_any(path)
    labels = [r["label"] for r in written]
    if suffix == ".csv":
        assert labels == ["a|c", "b"]
    else:
        assert [list(label) for label in labels] == [["a", "c"], ["b"]]
    copy = projects.create_project(
        session, name="copy", labels=["a", "b", "c"], owner=owner, task=TaskType.MULTI_LABEL
    )
    import_items(session, project_id=copy.id, path=path)
    assert [r.label for r in list_labels(session, project_id=copy.id)] == [["a", "c"], ["b"]]


def test_csv_meta_is_a_json_string(session, labeled, tmp_path):
    project, _ = labeled
    path = tmp_path / "labels.csv"
    export_labels(session, project_id=project.id, path=path)
    first = read_any(path)[0]
    assert json.loads(first["meta"]) == {"id": 0}
    assert first["annotator"] == "owner" and first["model_version"] == ""


def test_empty_export_still_has_the_columns(session, owner, tmp_path):
    project = projects.create_project(session, name="empty", labels=["a", "b"], owner=owner)
    for suffix in (".jsonl", ".csv", ".parquet"):
        path = tmp_path / f"none{suffix}"
        assert export_labels(session, project_id=project.id, path=path) == 0
        assert path.is_file()
    assert pd.read_parquet(tmp_path / "none.parquet").columns.tolist() == list(COLUMNS)
    assert (tmp_path / "none.csv").read_text().strip() == ",".join(COLUMNS)


def test_list_labels_pages_in_position_order(session, labeled):
    project, rows = labeled
    first = list_labels(session, project_id=project.id, limit=10)
    second = list_labels(session, project_id=project.id, offset=10, limit=10)
    everything = list_labels(session, project_id=project.id, limit=1000)
    assert len(everything) == 30 and everything[:20] == first + second
    assert isinstance(first[0], LabeledRow) and first[0].created_at.tzinfo is not None
    assert [r.text for r in everything] == [r["text"] for r in rows if r["label"] is not None]
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 1001}):
        with pytest.raises(ValidationError):
            list_labels(session, project_id=project.id, **bad)
    with pytest.raises(NotFoundError):
        list_labels(session, project_id=project.id + 1)


def test_a_failed_export_leaves_the_old_file_and_no_temp_file(
    session, labeled, tmp_path, monkeypatch
):
    project, _ = labeled
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "labels.jsonl"
    path.write_text("old contents\n", encoding="utf-8")

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_text", broken)
    with pytest.raises(OSError, match="disk full"):
        export_labels(session, project_id=project.id, path=path, overwrite=True)
    assert path.read_text(encoding="utf-8") == "old contents\n"
    assert [p.name for p in folder.iterdir()] == ["labels.jsonl"]


def test_unsupported_export_format(session, labeled, tmp_path):
    project, _ = labeled
    with pytest.raises(ValidationError, match="xlsx"):
        export_labels(session, project_id=project.id, path=tmp_path / "labels.xlsx")


def test_rows_name_the_annotator_by_id_and_mark_audit_items(session, owner, labeled, tmp_path):
    project, _ = labeled
    begin_write(session)
    session.execute(update(Item).where(Item.position == 0).values(is_audit=True))
    session.commit()
    for suffix in (".jsonl", ".csv"):
        path = tmp_path / f"labels{suffix}"
        export_labels(session, project_id=project.id, path=path)
        first, second = read_any(path)[:2]
        if suffix == ".csv":
            assert (first["annotator_id"], first["is_audit"]) == (str(owner.id), "true")
            assert second["is_audit"] == "false"
        else:
            assert (first["annotator_id"], first["is_audit"]) == (owner.id, True)
            assert second["is_audit"] is False
        assert first["annotator"] == "owner"


def _skip_and_flag(session, project, owner):
    items = session.scalars(select(Item).order_by(Item.position)).all()
    queue.skip_item(session, project_id=project.id, annotator=owner, item_id=items[3].id)
    queue.flag_item(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=items[7].id,
        comment="two intents, néither fits",
    )


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_skips_and_flags_are_rows_with_their_comments_on_request(
    session, owner, labeled, tmp_path, suffix
):
    project, _ = labeled
    _skip_and_flag(session, project, owner)
    plain = tmp_path / f"plain{suffix}"
    assert export_labels(session, project_id=project.id, path=plain) == 30
    assert "kind" not in read_any(plain)[0]

    path = tmp_path / f"all{suffix}"
    assert export_labels(session, project_id=project.id, path=path, include=["skips,flags"]) == 32
    out = read_any(path)
    assert list(out[0]) == [*COLUMNS, "kind", "comment"]
    decisions = {int(r["position"]): (r["kind"], r["comment"]) for r in out}
    assert decisions[3] == ("skip", "")
    assert decisions[7] == ("flag", "two intents, néither fits")
    assert {r["kind"] for r in out if int(r["position"]) not in (3, 7)} == {"label"}
    # A skip or a flag has no label: empty in CSV, null elsewhere.
    unlabeled = [r["label"] for r in out if r["kind"] != "label"]
    assert all(label in ("", None) or pd.isna(label) for label in unlabeled)
    only_flags = tmp_path / f"flags{suffix}"
    assert export_labels(session, project_id=project.id, path=only_flags, include=["flags"]) == 31


def test_include_names_only_skips_flags_and_rules(session, labeled, tmp_path):
    project, _ = labeled
    with pytest.raises(ValidationError, match="include may name flags, rules or skips, got labels"):
        export_labels(session, project_id=project.id, path=tmp_path / "x.csv", include=["labels"])
    assert exports.parse_include(["skips, flags", "flags"]) == {"skips", "flags"}
    assert exports.parse_include(["skips,rules"]) == {"skips", "rules"}


def test_parquet_columns_are_typed(session, owner, labeled, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    project, _ = labeled
    _skip_and_flag(session, project, owner)
    queue.undo_annotation(session, project_id=project.id, annotator=owner)  # the flag
    path = tmp_path / "labels.parquet"
    export_labels(
        session, project_id=project.id, path=path, include_undone=True, include=["skips,flags"]
    )
    schema = pq.read_schema(path)
    time = pa.timestamp("us", tz="UTC")
    assert schema.field("created_at").type == time and schema.field("undone_at").type == time
    for name in ("annotation_id", "item_id", "position", "annotator_id", "model_version"):
        assert schema.field(name).type == pa.int64(), name
    assert schema.field("is_audit").type == pa.bool_()
    assert schema.field("seconds_spent").type == pa.float64()
    frame = pd.read_parquet(path, dtype_backend="numpy_nullable")
    assert str(frame["model_version"].dtype) == "Int64"  # nullable: no model yet
    assert frame["model_version"].isna().all()
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    undone = frame[frame["undone_at"].notna()]
    assert undone["kind"].tolist() == ["flag"]
    assert (undone["undone_at"] >= undone["created_at"]).all()


def test_an_existing_file_is_refused_unless_overwrite(session, labeled, tmp_path):
    project, _ = labeled
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "labels.csv"
    path.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(ConflictError, match=r"labels\.csv already exists"):
        export_labels(session, project_id=project.id, path=path)
    assert path.read_text(encoding="utf-8") == "keep me\n"
    assert [p.name for p in path.parent.iterdir()] == ["labels.csv"]  # no temp file left
    assert export_labels(session, project_id=project.id, path=path, overwrite=True) == 30
    assert len(read_any(path)) == 30


def test_a_file_that_appears_during_the_export_is_not_clobbered(
    session, labeled, tmp_path, monkeypatch
):
    project, _ = labeled
    path = tmp_path / "out" / "labels.jsonl"
    write_text = exports._write_text

    def racing(*args, **kwargs):
        count = write_text(*args, **kwargs)
        path.write_text("someone else's\n", encoding="utf-8")
        return count

    monkeypatch.setattr(exports, "_write_text", racing)
    with pytest.raises(ConflictError):
        export_labels(session, project_id=project.id, path=path)
    assert path.read_text(encoding="utf-8") == "someone else's\n"
    assert [p.name for p in path.parent.iterdir()] == ["labels.jsonl"]


FRIEND = {"name": "kw_friend", "kind": "keyword", "label": "greet", "keywords": ["friend"]}
BYE = {"name": "kw_bye", "kind": "keyword", "label": "bye", "keywords": ["bye", "goodbye"]}


@pytest.fixture
def ruled(session):
    """15 intent phrases (pool_factory), "hi friend 0" labeled ``bye`` by a person, and two
    keyword functions voting on some of them."""
    owner = make_user(session, "owner")
    project, _ = make_project(session, owner, copies=1)
    item_id = session.scalar(select(Item.id).where(Item.text == "hi friend 0"))
    queue.submit_annotation(
        session, project_id=project.id, annotator=owner, item_id=item_id, value="bye"
    )
    friend = create_labeling_function(session, project_id=project.id, spec=FRIEND, user=owner)
    bye = create_labeling_function(session, project_id=project.id, spec=BYE, user=owner)
    return project, owner, friend, bye


def _missing(value: Any) -> bool:
    return value is None or value == "" or (not isinstance(value, list) and pd.isna(value))


def _rows(path: Path) -> list[tuple[Any, ...]]:
    """Position, text, kind, source, label, annotator, function, version and enabled, as
    plain Python values whatever the format (CSV's strings, Parquet's nulls)."""
    out = []
    for r in read_any(path):
        version, enabled = r["labeling_function_version"], r["labeling_function_enabled"]
        out.append(
            (
                int(r["position"]),
                r["text"],
                r["kind"],
                r["source"],
                r["label"],
                None if _missing(r["annotator"]) else r["annotator"],
                None if _missing(r["labeling_function"]) else r["labeling_function"],
                None if _missing(version) else int(version),
                None if _missing(enabled) else enabled in (True, "true"),
            )
        )
    return out


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_rules_are_rows_with_their_function_and_version(
    session, ruled, tmp_path, suffix, monkeypatch
):
    project, owner, friend, bye = ruled
    # Chunks of two: the labels' and the votes' streams are read in turns, both open.
    monkeypatch.setattr(exports, "_CHUNK", 2)
    path = tmp_path / f"rules{suffix}"
    assert export_labels(session, project_id=project.id, path=path, include=["rules"]) == 5
    assert list(read_any(path)[0]) == [*COLUMNS, "kind", "comment", *exports.RULE_COLUMNS]
    # By position, the person's label before the votes on the same item.
    assert _rows(path) == [
        (1, "hi friend 0", "label", "human", "bye", "owner", None, None, None),
        (1, "hi friend 0", "rule", "rule", "greet", None, "kw_friend", 1, True),
        (5, "goodbye now 0", "rule", "rule", "bye", None, "kw_bye", 1, True),
        (7, "bye bye 0", "rule", "rule", "bye", None, "kw_bye", 1, True),
        (8, "farewell friend 0", "rule", "rule", "greet", None, "kw_friend", 1, True),
    ]
    # A vote is no annotation: no id, no time.
    vote = read_any(path)[1]
    assert _missing(vote["annotation_id"]) and _missing(vote["created_at"])

    # Version 2 votes carry 2; a disabled function's votes stay, marked disabled.
    update_labeling_function(
        session,
        project_id=project.id,
        function_id=friend.id,
        user=owner,
        changes={"keywords": ["friend", "hello"]},
    )
    update_labeling_function(
        session, project_id=project.id, function_id=bye.id, user=owner, enabled=False
    )
    again = tmp_path / f"again{suffix}"
    assert export_labels(session, project_id=project.id, path=again, include=["rules"]) == 6
    assert [row[:1] + row[6:] for row in _rows(again)] == [
        (0, "kw_friend", 2, True),
        (1, None, None, None),
        (1, "kw_friend", 2, True),
        (5, "kw_bye", 1, False),
        (7, "kw_bye", 1, False),
        (8, "kw_friend", 2, True),
    ]


def _read_exactly(path: Path) -> list[dict[str, Any]]:
    """The rows as written: Parquet through pyarrow (pandas turns nullable ints into floats
    and nulls into NaN, which equals nothing)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [dict(row) for row in pq.read_table(path).to_pylist()]
    return read_any(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_human_rows_and_plain_exports_are_unchanged_by_rules(session, ruled, tmp_path, suffix):
    project, owner, _, _ = ruled
    _skip_and_flag(session, project, owner)
    plain = tmp_path / f"plain{suffix}"
    assert export_labels(session, project_id=project.id, path=plain) == 1
    assert list(read_any(plain)[0]) == list(COLUMNS)
    both = tmp_path / f"both{suffix}"
    include = ["skips,flags,rules"]
    assert export_labels(session, project_id=project.id, path=both, include=include) == 7
    decisions = tmp_path / f"decisions{suffix}"
    export_labels(session, project_id=project.id, path=decisions, include=["skips,flags"])
    people = [r for r in _read_exactly(both) if r["kind"] != "rule"]
    shared = (*COLUMNS, "kind", "comment")
    assert [{k: r[k] for k in shared} for r in people] == _read_exactly(decisions)
    assert all(_missing(r[name]) for r in people for name in exports.RULE_COLUMNS)


def test_rules_are_applied_to_new_items_before_the_export(session, ruled, tmp_path):
    project, owner, _, _ = ruled
    new = write_jsonl(tmp_path / "new.jsonl", [{"text": "a friend at last"}])
    import_items(session, project_id=project.id, path=new, user=owner)
    path = tmp_path / "rules.jsonl"
    export_labels(session, project_id=project.id, path=path, include=["rules"])
    last = read_any(path)[-1]
    assert (last["text"], last["label"], last["labeling_function"]) == (
        "a friend at last",
        "greet",
        "kw_friend",
    )


def test_parquet_rule_columns_are_typed(session, ruled, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    project, _, _, _ = ruled
    path = tmp_path / "rules.parquet"
    export_labels(session, project_id=project.id, path=path, include=["rules"])
    schema = pq.read_schema(path)
    assert schema.field("labeling_function_version").type == pa.int64()
    assert schema.field("labeling_function_enabled").type == pa.bool_()
    assert schema.field("labeling_function").type == pa.string()
    # Votes have no annotation id or time: nullable here, and only here.
    assert schema.field("annotation_id").nullable and schema.field("created_at").nullable
    frame = pd.read_parquet(path, dtype_backend="numpy_nullable")
    assert str(frame["labeling_function_version"].dtype) == "Int64"
    assert frame["labeling_function_version"].isna().tolist() == [True, False, False, False, False]
    plain = tmp_path / "plain.parquet"
    export_labels(session, project_id=project.id, path=plain)
    assert not pq.read_schema(plain).field("annotation_id").nullable


def test_a_project_without_functions_exports_the_rule_columns(session, labeled, tmp_path):
    project, _ = labeled
    path = tmp_path / "rules.csv"
    assert export_labels(session, project_id=project.id, path=path, include=["rules"]) == 30
    out = read_any(path)
    assert list(out[0])[-3:] == list(exports.RULE_COLUMNS)
    assert {r["kind"] for r in out} == {"label"}
