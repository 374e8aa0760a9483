"""task_for: a stored project's kind and labels to its task."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labelwise.store import TaskType
from labelwise.tasks import (
    TASKS,
    IntentsAndEntities,
    MultiLabel,
    SingleLabel,
    Spans,
    Task,
    task_for,
)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        (TaskType.SINGLE_LABEL, SingleLabel),
        (TaskType.MULTI_LABEL, MultiLabel),
        (TaskType.SPANS, Spans),
        (TaskType.INTENTS_ENTITIES, IntentsAndEntities),
    ],
)
def test_task_for_builds_the_class_of_each_stored_kind(
    kind: TaskType, cls: Callable[[list[str]], Task]
) -> None:
    same, reordered = cls(["a", "b"]), cls(["b", "a"])
    task = task_for(kind, ["a", "b"])
    assert type(task) is cls
    assert task.kind == kind.value
    assert task.labels == ("a", "b")
    assert task == same and task != reordered


def test_every_stored_kind_has_a_task() -> None:
    for kind in TaskType:
        assert task_for(kind, ["x"]).kind == kind.value


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Unknown task 'tables'"):
        task_for("tables", ["a"])


def test_the_registry_holds_one_class_per_kind() -> None:
    assert {cls.kind for cls in TASKS.values()} == set(TASKS)


@pytest.mark.parametrize(
    ("cls", "view", "fewest"),
    [
        (SingleLabel, "classification", 2),
        (MultiLabel, "classification", 1),
        (Spans, "spans", 1),
        (IntentsAndEntities, "spans", 2),
    ],
)
def test_page_view_and_fewest_labels(cls: type[Task], view: str, fewest: int) -> None:
    assert (cls.view, cls.fewest_labels) == (view, fewest)
