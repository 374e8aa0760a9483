"""Labeling functions from declarative specs: JSON objects, no code.

One object per function, as a JSONL file holds them (TREC's shared rules are one) and as
the server stores them::

    {"name": "kw_balance", "kind": "keyword", "label": "balance", "keywords": ["balance"]}
    {"name": "trec_rule_01", "kind": "regex", "label": "ENTY", "pattern": "...",
     "flags": "lowercase"}
    {"name": "zs_balance", "kind": "label_name", "label": "balance", "threshold": 0.5}
    {"name": "ex_balance", "kind": "exemplar", "label": "balance",
     "exemplars": ["how much money do i have"], "threshold": 0.7}
    {"name": "zero_shot", "kind": "zero_shot", "labels": ["balance", "transfer"],
     "threshold": 0.4}

A ``zero_shot`` function votes over every label in ``labels`` (the nearest name), so it has
``labels`` instead of ``label``.

Other keys are kept for people (TREC's ``exemplar``) and ignored. Similarity kinds need
an ``embed`` callable (texts → unit-length vectors). A bad spec raises
:class:`~labelwise.exceptions.InputError` naming the file, line and field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import InputError
from labelwise.weak.functions import (
    DEFAULT_REGEX_TIMEOUT,
    KeywordFunction,
    LabelingFunction,
    LabelingFunctionError,
    RegexFunction,
    SimilarityFunction,
    ZeroShotFunction,
)

__all__ = ["KINDS", "function_from_spec", "label_name_text", "read_labeling_functions"]

#: Declarative kinds, by the ``kind`` key.
KINDS: Final = ("keyword", "regex", "label_name", "exemplar", "zero_shot")
_REGEX_FLAGS: Final = ("", "lowercase")

Embed = Callable[[Sequence[str]], NDArray[np.floating[Any]]]


def label_name_text(label: str) -> str:
    """The words of a label name: ``book_flight`` → ``book flight`` (what zero-shot embeds)."""
    return " ".join(label.replace("_", " ").replace("-", " ").split())


def _field(spec: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in spec:
        raise InputError(f"missing {key!r}", field=key)
    value = spec[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"{key!r} must be a {names}; got {value!r}", field=key)
    return value


def _threshold(spec: Mapping[str, Any]) -> float:
    value = float(_field(spec, "threshold", (int, float)))
    if not -1.0 <= value <= 1.0:
        raise InputError(f"'threshold' is a cosine in [-1, 1]; got {value!r}", field="threshold")
    return value


def function_from_spec(
    spec: Mapping[str, Any], *, embed: Embed | None = None, regex_timeout: float | None = None
) -> LabelingFunction:
    """The labeling function ``spec`` describes.

    Parameters
    ----------
    spec : mapping
        ``name``, ``kind`` (one of :data:`KINDS`), ``label`` and the kind's keys.
    embed : callable, optional
        Texts → unit-length vectors, for ``label_name`` and ``exemplar`` kinds.
    regex_timeout : float, optional
        Seconds a regex may spend on one text (default 0.05).

    Raises
    ------
    InputError
        Naming the field at fault (file and line are the caller's to add).
    """
    if not isinstance(spec, Mapping):
        raise InputError(f"a labeling function is a JSON object; got {type(spec).__name__}")
    name = _field(spec, "name", str)
    kind = _field(spec, "kind", str)
    if kind == "zero_shot":
        return _zero_shot(spec, name, embed)
    label = _field(spec, "label", str)
    try:
        if kind == "keyword":
            keywords = _field(spec, "keywords", list)
            if not all(isinstance(k, str) for k in keywords):
                raise InputError("'keywords' must be a list of strings", field="keywords")
            case = spec.get("case_sensitive", False)
            if not isinstance(case, bool):
                raise InputError("'case_sensitive' must be true or false", field="case_sensitive")
            return KeywordFunction(name, label, keywords, case_sensitive=case)
        if kind == "regex":
            pattern = _field(spec, "pattern", str)
            flags = spec.get("flags", "")
            if flags not in _REGEX_FLAGS:
                raise InputError(
                    f"'flags' must be one of {list(_REGEX_FLAGS)}; got {flags!r}", field="flags"
                )
            return RegexFunction(
                name,
                label,
                pattern,
                lowercase=flags == "lowercase",
                timeout=regex_timeout or DEFAULT_REGEX_TIMEOUT,
            )
        if kind in ("label_name", "exemplar"):
            if embed is None:
                raise InputError(
                    f"a {kind} function compares sentence embeddings: it needs an embedder "
                    "(install the embeddings extra)",
                    field="kind",
                )
            threshold = _threshold(spec)
            if kind == "label_name":
                text = spec.get("text", label_name_text(label))
                if not isinstance(text, str) or not text.strip():
                    raise InputError("'text' must be a non-empty string", field="text")
                anchors = [text]
            else:
                anchors = _field(spec, "exemplars", list)
                if not anchors or not all(isinstance(t, str) and t.strip() for t in anchors):
                    raise InputError(
                        "'exemplars' must be a non-empty list of texts", field="exemplars"
                    )
            return SimilarityFunction.from_texts(name, label, anchors, threshold, embed=embed)
    except LabelingFunctionError as exc:
        raise InputError(str(exc), field="pattern" if kind == "regex" else None) from None
    raise InputError(f"unknown kind {kind!r}; use one of {list(KINDS)}", field="kind")


def _zero_shot(spec: Mapping[str, Any], name: str, embed: Embed | None) -> LabelingFunction:
    labels = _field(spec, "labels", list)
    if len(labels) < 2 or not all(isinstance(x, str) and x.strip() for x in labels):
        raise InputError("'labels' must list two or more label names", field="labels")
    if len(set(labels)) != len(labels):
        raise InputError("'labels' names a label twice", field="labels")
    if embed is None:
        raise InputError(
            "a zero_shot function compares sentence embeddings: it needs an embedder "
            "(install the embeddings extra)",
            field="kind",
        )
    threshold = _threshold(spec)
    texts = [label_name_text(x) for x in labels]
    try:
        return ZeroShotFunction.from_names(name, labels, threshold, texts=texts, embed=embed)
    except LabelingFunctionError as exc:
        raise InputError(str(exc), field="labels") from None


def read_labeling_functions(
    path: str | Path, *, embed: Embed | None = None, regex_timeout: float | None = None
) -> list[LabelingFunction]:
    """Every labeling function of a JSONL file, one spec per line (blank lines skipped).

    Raises
    ------
    InputError
        With the file, the 1-based line and the field of the first bad spec; two specs with
        one name are refused at the second.
    """
    path = Path(path)
    functions: list[LabelingFunction] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                spec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", file=path, line=line_no) from None
            try:
                lf = function_from_spec(spec, embed=embed, regex_timeout=regex_timeout)
            except InputError as exc:
                raise InputError(exc.message, file=path, line=line_no, field=exc.field) from None
            if lf.name in seen:
                raise InputError(
                    f"a second function named {lf.name!r}", file=path, line=line_no, field="name"
                )
            seen.add(lf.name)
            functions.append(lf)
    return functions
