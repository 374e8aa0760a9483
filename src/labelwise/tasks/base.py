"""The task protocol: everything that depends on what a label *is*.

A project's task decides how a label value is read from a file or a request, how it is
stored, how it becomes learner codes, how several annotators' values merge, how a
prediction is scored and how it is exported. Callers ask the task instead of branching
on the kind, so a new kind of label (spans, intents with entities) is one new class.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelwise.data.schema import LabelSchema
from labelwise.exceptions import InputError, InvalidLabelError

if TYPE_CHECKING:
    # At run time only where used: labelwise.evaluation loads scikit-learn.
    from labelwise.evaluation.agreement import Agreement


class Task(ABC):
    """What a label is, for one kind of labeling task.

    Subclasses set the class attributes and implement :meth:`parse`, :meth:`validate`,
    :meth:`consensus`, :meth:`correct` and the export methods. A value exists in two
    forms: the *raw* value of a file row or a request, and the *canonical* value that is
    stored, merged, exported and encoded (``parse`` / ``validate`` turn one into the other).

    Attributes
    ----------
    kind : str
        The stored task name (``TaskType`` value of the project), e.g. ``"single_label"``.
    view : str or None
        Name of the page partial that draws the item and its answer controls
        (``tasks/<view>.html``); None where labeling in the browser is not built yet.
    fewest_labels : int
        The fewest label names a project of this kind can have.
    metric : str
        Name of the per-item score behind held-out and audit estimates (see :meth:`correct`).
    several : bool
        An item may take several label names at once (the page offers a multiple choice).
    per_class_proba : bool
        The learner's probabilities are one independent yes/no per class (their rows need
        not sum to 1) rather than one distribution over the classes.
    has_spans : bool
        Values hold entity spans over the text (served items carry its tokens).
    entity_types : tuple of str or None
        The entity types a value's spans may carry: ``()`` for tasks without spans, None
        for a span task that accepts any type.
    labeling_functions : bool
        Labeling functions (rules that vote one label name per item, ``labelwise.weak``)
        label this task's items, so their weak labels may train its end model.
    """

    kind: ClassVar[str]
    view: ClassVar[str | None] = None
    fewest_labels: ClassVar[int] = 1
    metric: ClassVar[str] = "accuracy"
    several: ClassVar[bool] = False
    per_class_proba: ClassVar[bool] = False
    has_spans: ClassVar[bool] = False
    labeling_functions: ClassVar[bool] = False
    entity_types: tuple[str, ...] | None = ()

    @classmethod
    def from_labels(
        cls,
        labels: Iterable[str] | None,
        entity_types: Iterable[str] | None = None,  # noqa: ARG003
    ) -> Task:
        """The task for a stored project's label list and entity types (``projects.labels``,
        ``projects.entity_types``); classification tasks have no entity types."""
        return cls(labels)  # type: ignore[call-arg]

    @property
    @abstractmethod
    def labels(self) -> tuple[str, ...] | None:
        """Every label name the task knows, in stored order; None for an open vocabulary."""

    # --- reading values ------------------------------------------------------------------

    @abstractmethod
    def parse(self, value: Any, *, text: str | None = None) -> Any:
        """A value read from a file, in canonical form; None when the row is unlabeled.

        Lenient about spelling (surrounding spaces, numbers for names, the file forms
        of a value), strict about meaning.

        Parameters
        ----------
        value : any
            The field as the row reader produced it (CSV: always a str).
        text : str, optional
            The item's text, which tasks that label parts of it need to check offsets.

        Raises
        ------
        InvalidLabelError
            The value has the wrong shape or names a label the task does not know; the
            message is a lower-case phrase suited to :class:`InputError`.
        """

    def parse_field(
        self,
        value: Any,
        *,
        text: str | None = None,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> Any:
        """:meth:`parse`, with its error located as an :class:`InputError`."""
        try:
            return self.parse(value, text=text)
        except InvalidLabelError as exc:
            raise InputError(str(exc), file=file, line=line, field=field) from None

    def row_fields(self, label_field: str = "label") -> tuple[str, ...]:
        """The fields of a file row that :meth:`parse_row` reads (not kept as metadata)."""
        return (label_field,)

    def parse_row(
        self,
        values: Mapping[str, Any],
        *,
        text: str,
        label_field: str = "label",
        file: str | Path | None = None,
        line: int | None = None,
    ) -> Any:
        """The label of one file row, in canonical form; None when the row is unlabeled.

        Classification tasks read the label field alone (:meth:`parse_field`); span tasks
        also read ``spans`` or ``tokens``/``tags`` (see :meth:`row_fields`).

        Raises
        ------
        InputError
            Located at ``file``, ``line`` and the field at fault (``spans[2].end``).
        """
        return self.parse_field(
            values.get(label_field), text=text, file=file, line=line, field=label_field
        )

    @abstractmethod
    def validate(self, value: Any, *, text: str | None = None) -> Any:
        """A value sent by a client (one API request), in canonical form.

        Stricter than :meth:`parse`: the value must already have its JSON shape, and an
        empty value is not "unlabeled" but an error.

        Raises
        ------
        InvalidLabelError
            A sentence naming the problem, for the service to return as a validation error.
        """

    # --- learning ----------------------------------------------------------------------

    @property
    def schema(self) -> LabelSchema:
        """The label columns of every probability matrix; needs a known label list."""
        labels = self.labels
        if labels is None:
            raise ValueError(
                f"{type(self).__name__}() has no label list; build it with the label names."
            )
        return LabelSchema(labels, multilabel=self.per_class_proba)

    def encode(self, values: Sequence[Any]) -> NDArray[Any]:
        """Canonical values to learner codes (see :meth:`LabelSchema.encode`)."""
        return self.schema.encode(values)

    def decode(self, codes: Any) -> list[Any]:
        """Learner codes (or a learner's ``predict`` output) to canonical values."""
        return self.schema.decode(codes)

    @abstractmethod
    def predicted_values(self, predicted: Any) -> list[Any]:
        """A learner's ``predict`` output (class names or indicator rows) as canonical values."""

    # --- merging and scoring -----------------------------------------------------------

    @abstractmethod
    def consensus(self, values: Sequence[Any]) -> Any:
        """One value from several annotators' canonical values, oldest first.

        Raises
        ------
        ValueError
            When ``values`` is empty.
        """

    @abstractmethod
    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        """Per item, whether the prediction counts as right under :attr:`metric`.

        Returns
        -------
        ndarray of shape (n_items,) and dtype bool
            Its mean is the held-out score; its sum is the binomial count behind a
            Wilson interval.
        """

    def score(self, predicted: Sequence[Any], reference: Sequence[Any]) -> float:
        """:attr:`metric` over the items: the fraction :meth:`correct` (NaN when empty)."""
        right = self.correct(predicted, reference)
        return float(np.mean(right)) if right.size else float("nan")

    def agreement(self, ratings: Sequence[Sequence[Any]]) -> Agreement | None:  # noqa: ARG002
        """Chance-corrected agreement among annotators, given per item the values they gave.

        None when the task has no agreement measure (the default) or no item has two values.
        """
        return None

    # --- exporting ---------------------------------------------------------------------

    @abstractmethod
    def export_value(self, value: Any) -> Any:
        """The ``label`` field of an exported row (JSONL, Parquet, the API)."""

    @abstractmethod
    def export_text(self, value: Any) -> str:
        """The ``label`` cell of an exported CSV row; :meth:`parse` reads it back."""

    @abstractmethod
    def export_arrow_type(self) -> Any:
        """The Parquet (pyarrow) type of the exported ``label`` column."""

    def class_names(self, value: Any) -> frozenset[str] | None:  # noqa: ARG002
        """The classes a canonical value names, to compare with a production bot's
        prediction (a label name or a list of them); None when the task's values name no
        classes (entity spans alone)."""
        return None

    def describe(self, value: Any, *, text: str | None = None) -> str:  # noqa: ARG002
        """A canonical value in a few words, for lists of decisions (``"a, b"``)."""
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    # --- shared helpers ----------------------------------------------------------------

    def __repr__(self) -> str:
        labels = self.labels
        shown = "" if labels is None else repr(list(labels))
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and type(other) is type(self) and other.labels == self.labels

    def __hash__(self) -> int:
        return hash((type(self), self.labels))


def is_blank(value: Any) -> bool:
    """A field that holds no label: missing, null, NaN (pandas) or only spaces."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def require_values(values: Sequence[Any]) -> None:
    if len(values) == 0:
        raise ValueError("consensus needs at least one value, got none.")


def sentence(phrase: str) -> str:
    """A lower-case error phrase as a sentence (API messages are sentences)."""
    return phrase[:1].upper() + phrase[1:] + ("" if phrase.endswith(".") else ".")
