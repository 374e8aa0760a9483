"""Classification tasks: one label per item, or any subset of the labels per item."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import InvalidLabelError
from labelwise.tasks.base import Task, is_blank, require_values, sentence

if TYPE_CHECKING:
    from labelwise.evaluation.agreement import Agreement

#: Separates label names in a one-string multi-label value, in every file format.
SEPARATOR = "|"


class _Classes(Task):
    """Shared by the classification tasks: a label list, and checks against it."""

    def __init__(self, classes: Iterable[str] | None = None) -> None:
        # A tuple, not the argument as given: an iterator would be spent on first use.
        self.classes = None if classes is None else tuple(str(c) for c in classes)

    @property
    def labels(self) -> tuple[str, ...] | None:
        return self.classes

    def _unknown(self, names: Iterable[str]) -> str | None:
        """The error phrase for names outside the label list (None: all known)."""
        labels = self.labels
        if labels is None:
            return None
        known = set(labels)
        unknown = list(dict.fromkeys(name for name in names if name not in known))
        if not unknown:
            return None
        shown = ", ".join(repr(name) for name in labels[:10]) + (
            ", ..." if len(labels) > 10 else ""
        )
        noun = "labels" if len(unknown) > 1 else "label"
        return f"unknown {noun} {', '.join(repr(n) for n in unknown)}; the labels are {shown}"

    def export_arrow_type(self) -> Any:
        import pyarrow as pa

        return pa.list_(pa.string()) if self.per_class_proba else pa.string()


class SingleLabel(_Classes):
    """Exactly one label name per item.

    Parameters
    ----------
    classes : iterable of str, optional
        The label names in column order. None accepts any name (reading a dataset whose
        labels are not known yet); encoding needs them.

    Notes
    -----
    In a file a label is a string (surrounding spaces dropped) or an integer (read as its
    decimal name); an empty field means "unlabeled". Annotators' votes merge by majority,
    ties going to the latest of the tied values; a prediction is right when it equals the
    reference (accuracy).

    Examples
    --------
    >>> task = SingleLabel(["greet", "bye"])
    >>> task.parse(" bye ")
    'bye'
    >>> task.consensus(["greet", "bye", "bye"])
    'bye'
    """

    kind: ClassVar[str] = "single_label"
    view: ClassVar[str | None] = "classification"
    # With one label an item has no decision to make and a classifier nothing to learn.
    fewest_labels: ClassVar[int] = 2
    metric: ClassVar[str] = "accuracy"
    per_class_proba: ClassVar[bool] = False
    labeling_functions: ClassVar[bool] = True

    def parse(self, value: Any, *, text: str | None = None) -> str | None:  # noqa: ARG002
        if is_blank(value):
            return None
        if isinstance(value, str):
            name = value.strip()
        elif isinstance(value, int) and not isinstance(value, bool):
            name = str(value)
        else:
            raise InvalidLabelError(f"label must be a string, got {type(value).__name__}")
        problem = self._unknown([name])
        if problem:
            raise InvalidLabelError(problem)
        return name

    def validate(self, value: Any, *, text: str | None = None) -> str:  # noqa: ARG002
        if not isinstance(value, str):
            raise InvalidLabelError("A single-label project takes one label name (a string).")
        problem = self._unknown([value])
        if problem:
            raise InvalidLabelError(sentence(problem))
        return value

    def predicted_values(self, predicted: Any) -> list[Any]:
        return [str(p) for p in np.asarray(predicted, dtype=object).reshape(-1)]

    def class_names(self, value: Any) -> frozenset[str]:
        return frozenset([str(value)])

    def consensus(self, values: Sequence[Any]) -> Any:
        require_values(values)
        counts = Counter(values)
        best = max(counts.values())
        return next(value for value in reversed(values) if counts[value] == best)

    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        _same_length(predicted, reference)
        return np.fromiter(
            (str(p) == str(t) for p, t in zip(predicted, reference, strict=True)),
            dtype=bool,
            count=len(predicted),
        )

    def agreement(self, ratings: Sequence[Sequence[Any]]) -> Agreement | None:
        from labelwise.evaluation.agreement import annotator_agreement

        return annotator_agreement([[str(v) for v in item] for item in ratings])

    def export_value(self, value: Any) -> str:
        # A list here was stored before the project's task was changed; keep it readable.
        return SEPARATOR.join(map(str, value)) if isinstance(value, list) else str(value)

    def export_text(self, value: Any) -> str:
        return self.export_value(value)


class MultiLabel(_Classes):
    """Any subset of the label names per item (tags); the empty set is a decision.

    Parameters
    ----------
    classes : iterable of str, optional
        The label names in column order. None accepts any name (reading a dataset whose
        labels are not known yet); encoding needs them.

    Notes
    -----
    In a file a value is a list of names or one string of ``|``-separated names, in
    every format (CSV, JSONL, Parquet): ``"a|b"`` means ``["a", "b"]`` wherever it is
    read, so a CSV export converted to JSONL by any tool reads back the same. Spaces
    around names and empty names are dropped; an empty list is stored ("none of the labels
    apply"), an empty field means "unlabeled". The canonical value lists each name once,
    in label-list order.

    Annotators' sets merge to the latest one: a per-label majority would store a set
    nobody chose. A prediction is right only when its set equals the reference set
    exactly (``exact_match``), so held-out estimates stay binomial proportions.

    Examples
    --------
    >>> task = MultiLabel(["news", "sport", "tech"])
    >>> task.parse("tech | news")
    ['news', 'tech']
    >>> task.encode([["sport"]]).astype(int).tolist()
    [[0, 1, 0]]
    """

    kind: ClassVar[str] = "multi_label"
    view: ClassVar[str | None] = "classification"
    # One tag (present or not) is a real multi-label task.
    fewest_labels: ClassVar[int] = 1
    metric: ClassVar[str] = "exact_match"
    several: ClassVar[bool] = True
    per_class_proba: ClassVar[bool] = True

    def parse(self, value: Any, *, text: str | None = None) -> list[str] | None:  # noqa: ARG002
        if is_blank(value):
            return None
        if isinstance(value, str):
            names = value.split(SEPARATOR)
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            names = list(value)
        else:
            raise InvalidLabelError(
                "a multi-label label must be a list of label names or a "
                f"'{SEPARATOR}'-separated string, got {type(value).__name__}"
            )
        return self._canonical([name.strip() for name in names if name.strip()], sentence=False)

    def validate(self, value: Any, *, text: str | None = None) -> list[str]:  # noqa: ARG002
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidLabelError("A multi-label project takes a list of label names.")
        return self._canonical(value, sentence=True)

    def _canonical(self, names: list[str], *, sentence: bool) -> list[str]:
        problem = self._unknown(names)
        if problem:
            raise InvalidLabelError(_sentence(problem) if sentence else problem)
        unique = list(dict.fromkeys(names))
        labels = self.labels
        if labels is None:
            return unique
        order = {name: i for i, name in enumerate(labels)}
        return sorted(unique, key=order.__getitem__)

    def predicted_values(self, predicted: Any) -> list[Any]:
        return self.decode(predicted)

    def class_names(self, value: Any) -> frozenset[str]:
        return frozenset(map(str, value))

    def consensus(self, values: Sequence[Any]) -> Any:
        require_values(values)
        return list(values[-1])

    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        _same_length(predicted, reference)
        return np.fromiter(
            (set(p) == set(t) for p, t in zip(predicted, reference, strict=True)),
            dtype=bool,
            count=len(predicted),
        )

    def export_value(self, value: Any) -> list[str]:
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def export_text(self, value: Any) -> str:
        return SEPARATOR.join(self.export_value(value))


_sentence = sentence


def _same_length(predicted: Sequence[Any], reference: Sequence[Any]) -> None:
    if len(predicted) != len(reference):
        raise ValueError(f"{len(reference)} reference values but {len(predicted)} predictions.")
