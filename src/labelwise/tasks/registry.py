"""Build a project's task from what the store holds: its kind and its label list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import InvalidLabelError
from labelwise.tasks.base import Task, is_blank, require_values
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

    A kind the store admits but no task implements yet (one of ``PENDING_KINDS``) gives
    a :class:`PendingTask`, which refuses every label value.

    Raises
    ------
    ValueError
        For a kind nobody has heard of.
    """
    name = str(kind)
    cls = TASKS.get(name)
    if cls is not None:
        return cls.from_labels(labels, entity_types)
    if name in PENDING_KINDS:
        return PendingTask(name, labels)
    known = sorted(TASKS) + sorted(PENDING_KINDS)
    raise ValueError(f"Unknown task {name!r}; known tasks are {known}.")


#: Kinds a project may have before their task class exists.
PENDING_KINDS: frozenset[str] = frozenset()


class PendingTask(Task):
    """A task kind the store admits before labeling it is built.

    Unlabeled items can be imported, served and exported; any label value is refused
    with a message that says so. Registering the real class replaces it.
    """

    view: ClassVar[str | None] = None
    fewest_labels: ClassVar[int] = 1

    def __init__(self, kind: str, labels: Iterable[str] | None = None) -> None:
        self.kind = kind  # type: ignore[misc]
        self._labels = None if labels is None else tuple(str(c) for c in labels)

    @property
    def labels(self) -> tuple[str, ...] | None:
        return self._labels

    def parse(self, value: Any, *, text: str | None = None) -> Any:  # noqa: ARG002
        if is_blank(value):
            return None
        raise InvalidLabelError(
            f"labels of {self.kind!r} projects cannot be imported yet; leave the label column out"
        )

    def validate(self, value: Any, *, text: str | None = None) -> Any:  # noqa: ARG002
        raise InvalidLabelError(f"Labeling {self.kind!r} projects is not supported yet.")

    def predicted_values(self, predicted: Any) -> list[Any]:
        return list(predicted)

    def consensus(self, values: Sequence[Any]) -> Any:
        require_values(values)
        return values[-1]

    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        return np.asarray([p == t for p, t in zip(predicted, reference, strict=True)], dtype=bool)

    def export_value(self, value: Any) -> Any:
        return value

    def export_text(self, value: Any) -> str:
        import json

        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def export_arrow_type(self) -> Any:
        import pyarrow as pa

        return pa.string()
