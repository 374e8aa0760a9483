"""Build a project's task from what the store holds: its kind and its label list."""

from __future__ import annotations

from collections.abc import Iterable

from labelwise.tasks.base import Task
from labelwise.tasks.classification import MultiLabel, SingleLabel
from labelwise.tasks.spans import IntentsAndEntities, Spans

TASKS: dict[str, type[Task]] = {
    cls.kind: cls for cls in (SingleLabel, MultiLabel, Spans, IntentsAndEntities)
}


def register(cls: type[Task]) -> type[Task]:
    """Make ``task_for(cls.kind, ...)`` build ``cls`` (usable as a class decorator)."""
    TASKS[cls.kind] = cls
    return cls


def task_for(
    kind: str, labels: Iterable[str] | None = None, entity_types: Iterable[str] | None = None
) -> Task:
    """The task of a stored project.

    Parameters
    ----------
    kind : str
        The project's task name (a ``TaskType``, which is a ``str``).
    labels : iterable of str, optional
        The project's label list, as stored (the intents of an ``intents_entities``
        project, the entity types of a ``spans`` project).
    entity_types : iterable of str, optional
        The project's ``entity_types`` column (read by ``intents_entities``; a ``spans``
        project mirrors its labels there).

    Raises
    ------
    ValueError
        For a kind nobody has heard of.
    """
    name = str(kind)
    cls = TASKS.get(name)
    if cls is not None:
        return cls.from_labels(labels, entity_types)
    raise ValueError(f"Unknown task {name!r}; known tasks are {sorted(TASKS)}.")
