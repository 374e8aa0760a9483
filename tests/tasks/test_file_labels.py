"""One label rule for files: ``labelwise simulate`` (read_dataset) and the server's import
read the same file to the same labels, and refuse the same bad label at the same place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from labelwise.data import read_dataset
from labelwise.exceptions import InputError
from labelwise.service import projects, users
from labelwise.service.importing import ImportFailedError, import_items
from labelwise.store import Annotation, Item, TaskType
from labelwise.tasks import task_for

LABELS = ["a", "b", "c"]

#: Per task kind: label fields as a file may spell them. None leaves the field out.
SPELLINGS: dict[TaskType, list[Any]] = {
    TaskType.SINGLE_LABEL: ["a", " b ", None, "", "c", "a"],
    TaskType.MULTI_LABEL: ["a|b", " c | a ", None, "", "b||", "c|c"],
}
#: List values as JSONL and Parquet can also hold them (CSV has only strings).
LISTS: list[Any] = [["b", "a"], [], [" c", "a", "a"]]


def write(path: Path, labels: list[Any]) -> Path:
    rows = [
        {"text": f"item {i}", **({} if label is None else {"label": label})}
        for i, label in enumerate(labels)
    ]
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix == ".csv":
        pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    else:
        frame = pd.DataFrame(rows, columns=["text", "label"])
        frame.to_parquet(path, index=False)
    return path


def imported(session: Any, kind: TaskType, path: Path) -> list[Any]:
    """The labels the server import stores, per item in file order (None: unlabeled)."""
    owner = users.create_user(session, username="owner", password="owner-password")
    project = projects.create_project(session, name="p", labels=LABELS, owner=owner, task=kind)
    import_items(session, project_id=project.id, path=path, user=owner)
    by_item = dict(
        session.execute(
            select(Annotation.item_id, Annotation.value).where(Annotation.project_id == project.id)
        ).all()
    )
    items = session.scalars(
        select(Item.id).where(Item.project_id == project.id).order_by(Item.position)
    ).all()
    return [by_item.get(item_id) for item_id in items]


def cases() -> list[Any]:
    out = []
    for suffix in (".jsonl", ".csv", ".parquet"):
        out.append((TaskType.SINGLE_LABEL, suffix, SPELLINGS[TaskType.SINGLE_LABEL]))
        multi = SPELLINGS[TaskType.MULTI_LABEL]
        out.append((TaskType.MULTI_LABEL, suffix, multi))
        if suffix == ".jsonl":
            out.append((TaskType.MULTI_LABEL, suffix, LISTS))
    return out


@pytest.mark.parametrize(("kind", "suffix", "labels"), cases())
def test_simulate_reader_and_server_import_read_the_same_labels(
    session: Any, tmp_path: Path, kind: TaskType, suffix: str, labels: list[Any]
) -> None:
    path = write(tmp_path / f"labels{suffix}", labels)
    read = read_dataset(path, task=task_for(kind, LABELS)).labels
    assert read == imported(session, kind, path)
    assert any(label is not None for label in read)


def test_pipe_separated_names_mean_the_same_in_every_format(tmp_path: Path) -> None:
    task = task_for(TaskType.MULTI_LABEL, LABELS)
    read = {
        suffix: read_dataset(write(tmp_path / f"x{suffix}", ["c|a"]), task=task).labels
        for suffix in (".jsonl", ".csv", ".parquet")
    }
    assert read == {suffix: [["a", "c"]] for suffix in read}


@pytest.mark.parametrize(
    ("kind", "bad"),
    [(TaskType.SINGLE_LABEL, "d"), (TaskType.SINGLE_LABEL, 1.5), (TaskType.MULTI_LABEL, "a|d")],
)
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_both_readers_refuse_a_bad_label_at_the_same_place(
    session: Any, tmp_path: Path, kind: TaskType, bad: Any, suffix: str
) -> None:
    if suffix == ".csv" and not isinstance(bad, str):
        bad = str(bad)
    path = write(tmp_path / f"bad{suffix}", ["a", "b", bad])
    with pytest.raises(InputError) as simulated:
        read_dataset(path, task=task_for(kind, LABELS))
    with pytest.raises(ImportFailedError) as served:
        imported(session, kind, path)
    first = served.value.errors[0]
    assert (first.line, first.field, first.message) == (
        simulated.value.line,
        simulated.value.field,
        simulated.value.message,
    )
    assert simulated.value.field == "label"
