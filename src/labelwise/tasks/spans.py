"""Entity-span tasks: typed character spans per text, optionally with one intent.

Canonical values (what annotations store, the API takes and exports write)::

    spans             {"spans": [{"start": 5, "end": 13, "label": "city"}, ...]}
    intents_entities  {"intent": "BookRestaurant", "spans": [...]}

Spans are sorted, snapped to the edges of ``labelwise.data.spans.tokenize(text)``, do
not overlap and carry known entity types; ``[]`` is a decision ("no entities").
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelwise.data.spans import Span, parse_spans
from labelwise.exceptions import InputError, InvalidLabelError
from labelwise.tasks.base import Task, is_blank, require_values

if TYPE_CHECKING:
    from labelwise.evaluation.agreement import Agreement

#: Row fields a span task reads besides the label field: char spans, or BIO columns.
SPANS_FIELD = "spans"
#: Where an intents-and-entities row's intent is read when the label field is absent
#: (what the char-span JSONL export writes).
INTENT_FIELD = "intent"
TOKENS_FIELD = "tokens"
TAGS_FIELD = "tags"


def span_dicts(spans: Iterable[Span]) -> list[dict[str, Any]]:
    """Spans as the canonical JSON objects, sorted by (start, end, label)."""
    return [{"start": s.start, "end": s.end, "label": s.label} for s in sorted(spans)]


def spans_of(value: Any) -> list[Span]:
    """The :class:`Span` list of a canonical value (``{"spans": [...]}``), sorted."""
    return sorted(
        Span(int(s["start"]), int(s["end"]), str(s["label"]))
        for s in (value or {}).get("spans", [])
    )


def _span_key(value: Any) -> frozenset[tuple[int, int, str]]:
    return frozenset((s.start, s.end, s.label) for s in spans_of(value))


def _check_names(names: Iterable[str], what: str) -> tuple[str, ...]:
    """Names as a tuple, refusing whitespace inside one (a BIO tag is ``B-<type>``)."""
    clean = tuple(str(n) for n in names)
    spaced = [n for n in clean if any(ch.isspace() for ch in n)]
    if spaced:
        raise ValueError(f"{what} may not contain whitespace (BIO tags are 'B-<type>'): {spaced}")
    return clean


class Spans(Task):
    """Typed entity spans over each text (named-entity style extraction).

    Parameters
    ----------
    entity_types : iterable of str, optional
        The entity types. None accepts any type (reading a dataset whose types are not
        known yet).

    Notes
    -----
    A stored ``spans`` project keeps its entity types in ``projects.labels`` and mirrors
    them in ``projects.entity_types``; build the task with :func:`task_for`.

    Reading a file row (:meth:`parse_row`), the spans come from the first of: a
    ``spans`` field (a list of ``{"start", "end", "label"}`` objects, or that list as a
    JSON string, as a CSV cell holds it); ``tokens`` and ``tags`` fields (pre-split
    tokens and their IOB2 tags, as SNIPS and WNUT17 carry them); the label field holding
    a canonical value ``{"spans": [...]}`` (what an export writes). A row with none of
    them is unlabeled.

    Annotators' values merge span by span: a span stays when a strict majority of the
    annotators marked exactly it (same start, end and type). When some span has exactly
    half the votes (a tie) the latest annotator's value is kept whole. A prediction is
    :meth:`correct` when its span set equals the reference set exactly, so held-out
    estimates stay binomial proportions; span F1 is reported beside it.

    Examples
    --------
    >>> task = Spans(["city"])
    >>> task.parse('[{"start": 6, "end": 11, "label": "city"}]', text="go to Paris")
    {'spans': [{'start': 6, 'end': 11, 'label': 'city'}]}
    """

    kind: ClassVar[str] = "spans"
    view: ClassVar[str | None] = "spans"
    fewest_labels: ClassVar[int] = 1
    metric: ClassVar[str] = "exact_match"
    several: ClassVar[bool] = True
    per_class_proba: ClassVar[bool] = False
    has_spans: ClassVar[bool] = True

    def __init__(self, entity_types: Iterable[str] | None = None) -> None:
        self.entity_types = (
            None if entity_types is None else _check_names(entity_types, "entity types")
        )

    @classmethod
    def from_labels(
        cls, labels: Iterable[str] | None, entity_types: Iterable[str] | None = None
    ) -> Task:
        # ``labels`` holds the types; ``entity_types`` mirrors them (or is empty).
        return cls(labels if labels is not None else entity_types)

    @property
    def labels(self) -> tuple[str, ...] | None:
        return self.entity_types

    @property
    def _types(self) -> Any:
        # None means "any type": a collection that holds every string.
        return _Anything() if self.entity_types is None else set(self.entity_types)

    # --- reading values ------------------------------------------------------------------

    def row_fields(self, label_field: str = "label") -> tuple[str, ...]:
        return (label_field, SPANS_FIELD, TOKENS_FIELD, TAGS_FIELD)

    def parse_row(
        self,
        values: Mapping[str, Any],
        *,
        text: str,
        label_field: str = "label",
        file: str | Path | None = None,
        line: int | None = None,
    ) -> Any:
        spans = self._row_spans(values, text, label_field, file, line)
        return None if spans is None else {"spans": span_dicts(spans)}

    def _row_spans(
        self,
        values: Mapping[str, Any],
        text: str,
        label_field: str,
        file: str | Path | None,
        line: int | None,
    ) -> list[Span] | None:
        """A row's spans from its spans field, its tokens/tags or its label; None if none."""
        if _present(values.get(SPANS_FIELD)):
            return parse_spans(
                values[SPANS_FIELD], text, self._types, field=SPANS_FIELD, file=file, line=line
            )
        if values.get(TOKENS_FIELD) is not None or values.get(TAGS_FIELD) is not None:
            return parse_spans(
                None,
                text,
                self._types,
                tokens=values.get(TOKENS_FIELD),
                tags=values.get(TAGS_FIELD),
                file=file,
                line=line,
            )
        label = values.get(label_field)
        if is_blank(label):
            return None
        return self._value_spans(label, text, field=label_field, file=file, line=line)

    def _value_spans(
        self,
        value: Any,
        text: str | None,
        *,
        field: str,
        file: str | Path | None = None,
        line: int | None = None,
    ) -> list[Span]:
        """Spans of a value in canonical form (dict), or a bare span list (JSON or not)."""
        if text is None:
            raise InputError("spans need the item's text to check", file=file, line=line)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"is not valid JSON ({exc.msg} at character {exc.pos})",
                    file=file,
                    line=line,
                    field=field,
                ) from None
        if isinstance(value, Mapping):
            if SPANS_FIELD not in value:
                raise InputError(
                    f'must hold a "spans" list, got keys {sorted(value)}',
                    file=file,
                    line=line,
                    field=field,
                )
            value, field = value[SPANS_FIELD], f"{field}.spans"
        return parse_spans(value, text, self._types, file=file, line=line, field=field)

    def parse(self, value: Any, *, text: str | None = None) -> Any:
        if is_blank(value):
            return None
        try:
            return {"spans": span_dicts(self._value_spans(value, text, field="label"))}
        except InputError as exc:
            raise InvalidLabelError(_located(exc)) from None

    def parse_field(
        self,
        value: Any,
        *,
        text: str | None = None,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> Any:
        if is_blank(value):
            return None
        spans = self._value_spans(value, text, field=field or "label", file=file, line=line)
        return {"spans": span_dicts(spans)}

    def validate(self, value: Any, *, text: str | None = None) -> Any:
        return {"spans": span_dicts(self._validate_spans(value, text))}

    def _validate_spans(self, value: Any, text: str | None) -> list[Span]:
        if not isinstance(value, Mapping) or not isinstance(value.get(SPANS_FIELD), list):
            raise InvalidLabelError(
                f'A {self.kind.replace("_", "-")} project takes an object with a "spans" '
                'list of {"start", "end", "label"} objects ([] for no entities).'
            )
        if text is None:
            raise InvalidLabelError("Spans need the item's text to be checked.")
        try:
            return parse_spans(value[SPANS_FIELD], text, self._types, field="value.spans")
        except InputError as exc:
            raise InvalidLabelError(_api_sentence(_located(exc))) from None

    # --- learning ----------------------------------------------------------------------

    def predicted_values(self, predicted: Any) -> list[Any]:
        """Per text, a list of predicted spans (:class:`Span`, tuples or dicts) as values."""
        return [{"spans": span_dicts(_as_spans(spans))} for spans in predicted]

    # --- merging and scoring -----------------------------------------------------------

    def consensus(self, values: Sequence[Any]) -> Any:
        require_values(values)
        return {"spans": span_dicts(_span_consensus(values))}

    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        _same_length(predicted, reference)
        return np.fromiter(
            (_span_key(p) == _span_key(t) for p, t in zip(predicted, reference, strict=True)),
            dtype=bool,
            count=len(predicted),
        )

    def agreement(self, ratings: Sequence[Sequence[Any]]) -> Agreement | None:
        """Span F1 between annotators, pooled over every pair of values of the same item.

        ``pairwise`` is ``2 * shared / (spans_a + spans_b)`` summed over all pairs (the
        positive specific agreement of :func:`~labelwise.evaluation.spans.span_agreement`;
        1 when no pair marked any span); ``fleiss_kappa`` is None (no fixed negatives).
        """
        return _span_agreement(ratings, intents=None)

    # --- exporting ---------------------------------------------------------------------

    def export_value(self, value: Any) -> Any:
        return {"spans": span_dicts(spans_of(value))}

    def export_text(self, value: Any) -> str:
        return json.dumps(self.export_value(value), ensure_ascii=False)

    def export_arrow_type(self) -> Any:
        import pyarrow as pa

        return pa.struct([pa.field(SPANS_FIELD, _arrow_spans())])

    def describe(self, value: Any, *, text: str | None = None) -> str:
        """``“Lush Life” track, “Frank” artist`` (offsets without the text); ``no entities``."""
        parts = [
            f"“{text[s.start : s.end]}” {s.label}"
            if text is not None
            else f"[{s.start}, {s.end}) {s.label}"
            for s in spans_of(value)
        ]
        return ", ".join(parts) or "no entities"

    def __repr__(self) -> str:
        shown = "" if self.entity_types is None else repr(list(self.entity_types))
        return f"{type(self).__name__}({shown})"


class IntentsAndEntities(Spans):
    """One intent per text plus typed entity spans (the SNIPS / Rasa NLU shape).

    Parameters
    ----------
    intents : iterable of str, optional
        The intents (the project's ``labels``). None accepts any.
    entity_types : iterable of str, optional
        The entity types (the project's ``entity_types``). None accepts any.

    Notes
    -----
    Reading a file row, the intent comes from the label field (a name; an ``intent``
    field when there is no label field) and the spans as for :class:`Spans` (``spans``
    field, else ``tokens``/``tags``); the label field
    may instead hold the whole canonical value ``{"intent", "spans"}``. A row with
    neither intent nor spans is unlabeled; one with only one of them is refused.

    Annotators' intents merge by majority (ties to the latest of the tied intents, as
    :class:`~labelwise.tasks.SingleLabel`), their spans as :class:`Spans` merges them.
    A prediction is :meth:`correct` when both its intent and its span set are right.
    """

    kind: ClassVar[str] = "intents_entities"
    view: ClassVar[str | None] = "spans"
    # As a single-label task: one intent leaves nothing to decide.
    fewest_labels: ClassVar[int] = 2
    several: ClassVar[bool] = False

    def __init__(
        self, intents: Iterable[str] | None = None, entity_types: Iterable[str] | None = None
    ) -> None:
        super().__init__(entity_types)
        self.intents = None if intents is None else tuple(str(i) for i in intents)

    @classmethod
    def from_labels(
        cls, labels: Iterable[str] | None, entity_types: Iterable[str] | None = None
    ) -> Task:
        return cls(labels, entity_types)

    @property
    def labels(self) -> tuple[str, ...] | None:
        return self.intents

    def row_fields(self, label_field: str = "label") -> tuple[str, ...]:
        return (*super().row_fields(label_field), INTENT_FIELD)

    def class_names(self, value: Any) -> frozenset[str]:
        return frozenset([str(value[INTENT_FIELD])])

    def _intent(self, value: Any, *, api: bool) -> str:
        """The intent name of a value; InvalidLabelError (a sentence for the API) if bad."""
        if not isinstance(value, str) or not value.strip():
            message = f"must be an intent name (a string), got {value!r}"
        else:
            name = value if api else value.strip()
            if self.intents is None or name in self.intents:
                return name
            shown = ", ".join(repr(i) for i in self.intents[:10]) + (
                ", ..." if len(self.intents) > 10 else ""
            )
            message = f"unknown intent {name!r}; the intents are {shown}"
        raise InvalidLabelError(_api_sentence(f"value.intent: {message}") if api else message)

    def parse_row(
        self,
        values: Mapping[str, Any],
        *,
        text: str,
        label_field: str = "label",
        file: str | Path | None = None,
        line: int | None = None,
    ) -> Any:
        if label_field not in values and INTENT_FIELD in values:
            label_field = INTENT_FIELD
        label = values.get(label_field)
        if isinstance(label, Mapping) or (isinstance(label, str) and label.lstrip()[:1] == "{"):
            return self.parse_field(label, text=text, field=label_field, file=file, line=line)
        has_spans = (
            _present(values.get(SPANS_FIELD))
            or values.get(TOKENS_FIELD) is not None
            or values.get(TAGS_FIELD) is not None
        )
        if is_blank(label):
            if has_spans:
                raise InputError(
                    "has spans but no intent; an intents-and-entities row needs both",
                    field=label_field,
                    file=file,
                    line=line,
                )
            return None
        try:
            intent = self._intent(label, api=False)
        except InvalidLabelError as exc:
            raise InputError(str(exc), field=label_field, file=file, line=line) from None
        if not has_spans:
            raise InputError(
                f"has an intent but no spans; add a {SPANS_FIELD!r} field ([] for none) "
                f"or {TOKENS_FIELD!r} and {TAGS_FIELD!r}",
                field=SPANS_FIELD,
                file=file,
                line=line,
            )
        spans = self._row_spans(values, text, label_field, file, line)
        return {"intent": intent, "spans": span_dicts(spans or [])}

    def parse(self, value: Any, *, text: str | None = None) -> Any:
        if is_blank(value):
            return None
        try:
            return self.parse_field(value, text=text, field="label")
        except InputError as exc:
            raise InvalidLabelError(_located(exc)) from None

    def parse_field(
        self,
        value: Any,
        *,
        text: str | None = None,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> Any:
        if is_blank(value):
            return None
        field = field or "label"
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"is not valid JSON ({exc.msg} at character {exc.pos}); an intents-and-"
                    'entities label is {"intent": ..., "spans": [...]}',
                    file=file,
                    line=line,
                    field=field,
                ) from None
        if not isinstance(value, Mapping) or "intent" not in value:
            raise InputError(
                'must be an object {"intent": ..., "spans": [...]}',
                file=file,
                line=line,
                field=field,
            )
        try:
            intent = self._intent(value["intent"], api=False)
        except InvalidLabelError as exc:
            raise InputError(str(exc), file=file, line=line, field=f"{field}.intent") from None
        spans = self._value_spans(value, text, field=field, file=file, line=line)
        return {"intent": intent, "spans": span_dicts(spans)}

    def validate(self, value: Any, *, text: str | None = None) -> Any:
        if not isinstance(value, Mapping) or "intent" not in value:
            raise InvalidLabelError(
                'An intents-and-entities project takes an object {"intent": name, "spans": '
                '[{"start", "end", "label"}, ...]} ([] for no entities).'
            )
        intent = self._intent(value["intent"], api=True)
        return {"intent": intent, "spans": span_dicts(self._validate_spans(value, text))}

    def predicted_values(self, predicted: Any) -> list[Any]:
        """Per text, an ``(intent, spans)`` pair as a canonical value."""
        return [
            {"intent": str(intent), "spans": span_dicts(_as_spans(spans))}
            for intent, spans in predicted
        ]

    def consensus(self, values: Sequence[Any]) -> Any:
        require_values(values)
        intents = [str(v.get("intent")) for v in values]
        counts = Counter(intents)
        best = max(counts.values())
        intent = next(i for i in reversed(intents) if counts[i] == best)
        return {"intent": intent, "spans": span_dicts(_span_consensus(values))}

    def correct(self, predicted: Sequence[Any], reference: Sequence[Any]) -> NDArray[np.bool_]:
        same_spans = super().correct(predicted, reference)
        same_intent = np.fromiter(
            (p.get("intent") == t.get("intent") for p, t in zip(predicted, reference, strict=True)),
            dtype=bool,
            count=len(predicted),
        )
        both: NDArray[np.bool_] = same_spans & same_intent
        return both

    def agreement(self, ratings: Sequence[Sequence[Any]]) -> Agreement | None:
        """Span F1 as :meth:`Spans.agreement`; ``fleiss_kappa`` is the intents' kappa."""
        return _span_agreement(ratings, intents=True)

    def export_value(self, value: Any) -> Any:
        return {"intent": str((value or {}).get("intent")), "spans": span_dicts(spans_of(value))}

    def describe(self, value: Any, *, text: str | None = None) -> str:
        """``PlayMusic · “Frank” artist``."""
        return f"{(value or {}).get('intent')} · {super().describe(value, text=text)}"

    def export_arrow_type(self) -> Any:
        import pyarrow as pa

        return pa.struct([pa.field("intent", pa.string()), pa.field(SPANS_FIELD, _arrow_spans())])

    def __repr__(self) -> str:
        intents = None if self.intents is None else list(self.intents)
        types = None if self.entity_types is None else list(self.entity_types)
        return f"{type(self).__name__}({intents!r}, {types!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IntentsAndEntities)
            and other.intents == self.intents
            and other.entity_types == self.entity_types
        )

    def __hash__(self) -> int:
        return hash((type(self), self.intents, self.entity_types))


class _Anything:
    """A collection that holds every string (a task with no fixed types)."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def _present(value: Any) -> bool:
    """A spans field that is there: a list (even empty), or a non-blank string."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return not is_blank(value)


def _api_sentence(phrase: str) -> str:
    """An API message that starts with a field path (``value.spans[1].end: ...``)."""
    return phrase if phrase.endswith(".") else phrase + "."


def _located(exc: InputError) -> str:
    """An InputError's field and message as one phrase, for InvalidLabelError."""
    return f"{exc.field}: {exc.message}" if exc.field else exc.message


def _as_spans(spans: Iterable[Any]) -> list[Span]:
    out = []
    for span in spans:
        if isinstance(span, Span):
            out.append(span)
        elif isinstance(span, Mapping):
            out.append(Span(int(span["start"]), int(span["end"]), str(span["label"])))
        else:
            start, end, label = span[:3]
            out.append(Span(int(start), int(end), str(label)))
    return out


def _span_consensus(values: Sequence[Any]) -> list[Span]:
    """Spans a strict majority marked exactly; on a tie (a span at half) the latest value."""
    n = len(values)
    votes: Counter[Span] = Counter()
    for value in values:
        votes.update(set(spans_of(value)))
    if any(2 * count == n for count in votes.values()):
        return spans_of(values[-1])
    # Two spans each marked by more than half overlap in no annotator's set, so never.
    return sorted(span for span, count in votes.items() if 2 * count > n)


def _span_agreement(ratings: Sequence[Sequence[Any]], *, intents: bool | None) -> Agreement | None:
    from labelwise.evaluation.agreement import Agreement, annotator_agreement
    from labelwise.evaluation.spans import span_agreement

    rated = [list(item) for item in ratings if len(item) >= 2]
    if not rated:
        return None
    first: list[list[Span]] = []
    second: list[list[Span]] = []
    for item in rated:
        for a, b in combinations(item, 2):
            first.append(spans_of(a))
            second.append(spans_of(b))
    f1 = span_agreement(first, second)
    kappa = None
    if intents:
        found = annotator_agreement([[str(v.get("intent")) for v in item] for item in rated])
        kappa = None if found is None else found.fleiss_kappa
    # No pair marked any span: they agree that there is nothing to mark.
    return Agreement(items=len(rated), pairwise=1.0 if np.isnan(f1) else f1, fleiss_kappa=kappa)


def _arrow_spans() -> Any:
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                pa.field("start", pa.int64()),
                pa.field("end", pa.int64()),
                pa.field("label", pa.string()),
            ]
        )
    )


def _same_length(predicted: Sequence[Any], reference: Sequence[Any]) -> None:
    if len(predicted) != len(reference):
        raise ValueError(f"{len(reference)} reference values but {len(predicted)} predictions.")
