"""Export a span project's labels as training data for NER / NLU tools.

One example per labeled item: its live labels merged by the task's consensus (oldest
first), in one of three formats:

``spans`` (``.jsonl``)
    ``{"item_id", "text", "spans": [{"start", "end", "label"}, ...], "intent"?}`` per
    line: character spans, as spaCy's ``Doc.char_span`` and Argilla read them.
``conll`` (``.conll``)
    ``token<TAB>tag`` lines (strict IOB2 over ``labelwise.data.spans.tokenize``, cut at
    span edges), a blank line between sentences. Each sentence starts with CoNLL-U style
    comments ``# text = <text>`` (``# text_json = "..."`` when the text holds a tab or a
    line break) and, for intents and entities, ``# intent = <name>``; tools that do not
    read comments can drop the lines starting with ``# `` that have no tab.
``rasa`` (``.yml`` / ``.yaml``, intents-and-entities projects)
    Rasa NLU training data: ``version: "3.1"`` and ``nlu:`` with, per intent,
    ``examples: |`` lines annotated ``[entity text](entity_type)``. Rasa has no escape
    for brackets, so an example whose text would not read back exactly (brackets that
    look like an annotation, an entity text holding ``]``, a line break) is left out and
    counted in :attr:`ExampleExport.left_out`.

Both ``spans`` and ``conll`` files import back (``labelwise import``) to the same values.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.data.rows import CONLL_INTENT, CONLL_TEXT, CONLL_TEXT_JSON
from labelwise.data.spans import Span, spans_to_tags, tokenize
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.projects import task_of
from labelwise.store import Annotation, AnnotationKind, Item, Project, TaskType
from labelwise.tasks.spans import span_dicts, spans_of

ExampleFormat = Literal["spans", "conll", "rasa"]
EXAMPLE_FORMATS: tuple[str, ...] = ("spans", "conll", "rasa")
#: The format a file's suffix implies, for the suffixes only these formats use.
SUFFIX_FORMATS: dict[str, ExampleFormat] = {".conll": "conll", ".yml": "rasa", ".yaml": "rasa"}

# Rasa 3.x's entity annotation (rasa.shared.nlu.training_data.entities_parser): what it
# would read as an annotation must be one of ours.
_RASA_ENTITY = re.compile(
    r"\[(?P<text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<dict>[^}]+?)\}|\[(?P<list>.*?)\])"
)


@dataclass(frozen=True)
class ExampleExport:
    """What :func:`export_examples` wrote: ``written`` examples, ``left_out`` not representable."""

    written: int
    left_out: int = 0


@dataclass(frozen=True)
class Example:
    item_id: int
    text: str
    intent: str | None
    spans: list[Span]


def export_examples(
    session: Session,
    *,
    project_id: int,
    path: Path,
    fmt: ExampleFormat,
    overwrite: bool = False,
) -> ExampleExport:
    """Write the project's labeled items as ``fmt`` training data to ``path``.

    The file is written beside its destination and moved into place (as
    :func:`labelwise.service.exports.export_labels` does).

    Raises
    ------
    ValidationError
        For a project without spans, an unknown format, or ``rasa`` for a spans project.
    ConflictError
        When ``path`` exists and ``overwrite`` is false.
    """
    if fmt not in EXAMPLE_FORMATS:
        raise ValidationError(f"Unknown example format {fmt!r}; use one of {EXAMPLE_FORMATS}.")
    path = Path(path)
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    task = task_of(project)
    if not task.has_spans:
        raise ValidationError(
            f"The {fmt!r} format is for span projects; project {project.name!r} is "
            f"{project.task.value}. Export its labels as .jsonl, .csv or .parquet."
        )
    if fmt == "rasa" and project.task is not TaskType.INTENTS_ENTITIES:
        raise ValidationError(
            "Rasa NLU data needs an intent per example; this is a spans project. Use the "
            "'spans' or 'conll' format."
        )
    if not overwrite and path.exists():
        raise ConflictError(f"{path.resolve()} already exists; not overwritten (--force).")
    examples = list(_examples(session, project_id, task))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(temp_name)
    try:
        with temp.open("w", encoding="utf-8", newline="\n") as out:
            if fmt == "spans":
                result = _write_spans(out, examples)
            elif fmt == "conll":
                result = _write_conll(out, examples)
            else:
                result = _write_rasa(out, examples, intents=task.labels or ())
            out.flush()
            os.fsync(out.fileno())
        if not overwrite and path.exists():
            raise ConflictError(f"{path.resolve()} already exists; not overwritten (--force).")
        os.replace(temp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            temp.unlink()
        raise
    return result


def _examples(session: Session, project_id: int, task: Any) -> Iterator[Example]:
    """Labeled items by position, each with its annotators' values merged."""
    rows = session.execute(
        select(Item.id, Item.text, Annotation.value)
        .join(Annotation, Annotation.item_id == Item.id)
        .where(
            Annotation.project_id == project_id,
            Annotation.kind == AnnotationKind.LABEL,
            Annotation.undone_at.is_(None),
        )
        .order_by(Item.position, Annotation.id)
        .execution_options(yield_per=2_000)
    )
    current: tuple[int, str] | None = None
    values: list[Any] = []
    for item_id, text, value in [*rows, (None, None, None)]:
        if current is not None and item_id != current[0]:
            merged = task.consensus(values)
            intent = merged.get("intent") if isinstance(merged, dict) else None
            yield Example(current[0], current[1], intent, spans_of(merged))
            values = []
        if item_id is not None:
            current = (item_id, text)
            values.append(value)


def _write_spans(out: Any, examples: list[Example]) -> ExampleExport:
    for example in examples:
        record: dict[str, Any] = {
            "item_id": example.item_id,
            "text": example.text,
            "spans": span_dicts(example.spans),
        }
        if example.intent is not None:
            record["intent"] = example.intent
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ExampleExport(len(examples))


def conll_lines(text: str, spans: list[Span], intent: str | None = None) -> list[str]:
    """One sentence as CoNLL lines (comments, then ``token<TAB>tag``), without the blank."""
    edges = [offset for span in spans for offset in (span.start, span.end)]
    tokenized = tokenize(text, boundaries=edges)
    tags = spans_to_tags(tokenized, spans)
    plain = not any(ch in text for ch in "\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    lines = [CONLL_TEXT + text if plain else CONLL_TEXT_JSON + json.dumps(text)]
    if intent is not None:
        lines.append(CONLL_INTENT + intent)
    lines += [f"{token}\t{tag}" for token, tag in zip(tokenized.tokens, tags, strict=True)]
    return lines


def _write_conll(out: Any, examples: list[Example]) -> ExampleExport:
    for example in examples:
        lines = conll_lines(example.text, example.spans, example.intent)
        out.write("\n".join(lines) + "\n\n")
    return ExampleExport(len(examples))


def rasa_example(text: str, spans: list[Span]) -> str | None:
    """``text`` with Rasa's ``[entity text](type)`` annotations; None if it cannot read back."""
    parts: list[str] = []
    position = 0
    for span in sorted(spans):
        parts += [text[position : span.start], f"[{text[span.start : span.end]}]({span.label})"]
        position = span.end
    parts.append(text[position:])
    example = "".join(parts)
    if "\n" in example or "\r" in example or example != example.strip():
        return None
    return example if read_rasa_example(example) == (text, sorted(spans)) else None


def read_rasa_example(example: str) -> tuple[str, list[Span]]:
    """Plain text and spans of a Rasa-annotated example (Rasa's own reading of it)."""
    plain: list[str] = []
    spans: list[Span] = []
    position = length = 0
    for match in _RASA_ENTITY.finditer(example):
        before = example[position : match.start()]
        plain.append(before)
        length += len(before)
        entity = match.group("text")
        plain.append(entity)
        if match.group("entity") is not None:
            spans.append(Span(length, length + len(entity), match.group("entity")))
        else:  # a dict or list annotation: not one labelwise writes
            spans.append(Span(length, length + len(entity), "\x00"))
        length += len(entity)
        position = match.end()
    plain.append(example[position:])
    return "".join(plain), spans


def _write_rasa(out: Any, examples: list[Example], *, intents: tuple[str, ...]) -> ExampleExport:
    by_intent: dict[str, list[str]] = {name: [] for name in intents}
    left_out = 0
    for example in examples:
        line = rasa_example(example.text, example.spans)
        if line is None or example.intent is None:
            left_out += 1
            continue
        by_intent.setdefault(example.intent, []).append(line)
    out.write('version: "3.1"\n\nnlu:\n')
    written = 0
    for intent, lines in by_intent.items():
        if not lines:
            continue
        # A JSON string is a YAML string: any intent name is quoted safely.
        out.write(f"- intent: {json.dumps(intent, ensure_ascii=False)}\n  examples: |\n")
        out.writelines(f"    - {line}\n" for line in lines)
        written += len(lines)
    return ExampleExport(written, left_out)
