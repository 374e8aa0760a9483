"""Read a pool of texts (with optional labels and metadata) from JSONL, CSV or Parquet.

Every bad row raises :class:`~labelwise.exceptions.InputError` naming the file, the line
(for Parquet: the 1-based row) and the field, so a user can fix the file and rerun.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelwise.data.rows import parse_json_line
from labelwise.exceptions import InputError

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class TextDataset:
    """Texts with optional labels and per-item metadata, in file order.

    Attributes
    ----------
    texts : list of str, length n_items
    labels : list, length n_items
        ``None`` for an unlabeled item, a str (single-label) or a list of str (multi-label).
    metadata : list of dict, length n_items
        Every other field of the row.
    source : str
        The file it came from.
    """

    texts: list[str]
    labels: list[Any]
    metadata: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_fully_labeled(self) -> bool:
        return all(label is not None for label in self.labels)

    def classes(self) -> list[str]:
        """The distinct labels present, sorted."""
        found: set[str] = set()
        for label in self.labels:
            if isinstance(label, list):
                found.update(label)
            elif label is not None:
                found.add(label)
        return sorted(found)


def read_dataset(
    path: str | Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    multilabel: bool = False,
    require_labels: bool = False,
) -> TextDataset:
    """Read texts, labels and metadata from a ``.jsonl``, ``.csv`` or ``.parquet`` file.

    Parameters
    ----------
    path : path-like
    text_field, label_field : str
        Column / key names. The label column may be absent (an unlabeled pool).
    multilabel : bool
        Labels are lists of names (JSONL, Parquet) or ``|``-separated names (CSV).
    require_labels : bool
        Every row must carry a label (simulation and evaluation data).

    Raises
    ------
    InputError
        With ``file``, ``line`` and ``field`` set, for the first bad row.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use one of {sorted(FORMATS)}", file=path
        )
    if not path.is_file():
        raise InputError("file not found", file=path)
    if fmt == "parquet":
        rows: Iterator[tuple[int, dict[str, Any]]] = _parquet_rows(path)
    else:
        lines = _decoded_lines(path)
        rows = _jsonl_rows(path, lines) if fmt == "jsonl" else _csv_rows(path, lines, text_field)
    texts: list[str] = []
    labels: list[Any] = []
    metadata: list[dict[str, Any]] = []
    for line, row in rows:
        texts.append(_text_of(row, text_field, path, line))
        label = _label_of(row, label_field, path, line, multilabel=multilabel, csv=fmt == "csv")
        if label is None and require_labels:
            raise InputError("missing label", file=path, line=line, field=label_field)
        labels.append(label)
        metadata.append({k: v for k, v in row.items() if k not in (text_field, label_field)})
    if not texts:
        raise InputError("no records found", file=path)
    return TextDataset(texts=texts, labels=labels, metadata=metadata, source=str(path))


def _decoded_lines(path: Path) -> list[str]:
    """The file's lines as str, failing on the first line that is not UTF-8."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    out = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            out.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid UTF-8: byte 0x{chunk[exc.start]:02x} at column {exc.start + 1}; "
                "save the file as UTF-8",
                file=path,
                line=number,
            ) from None
    return out


def _jsonl_rows(path: Path, lines: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue  # blank lines separate nothing in JSONL; tolerate them like pandas does
        try:
            row = parse_json_line(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"invalid JSON: {exc.msg} at column {exc.colno}", file=path, line=number
            ) from None
        except ValueError as exc:  # too deep, too many digits, NaN or Infinity
            raise InputError(str(exc), file=path, line=number) from None
        if not isinstance(row, dict):
            raise InputError(
                f"each line must be a JSON object, got {type(row).__name__}", file=path, line=number
            )
        yield number, row


def _csv_rows(
    path: Path, lines: list[str], text_field: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO("\n".join(lines)), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file: no header row", file=path, line=1) from None
    if text_field not in header:
        raise InputError(
            f"no {text_field!r} column; the header has {header}",
            file=path,
            line=1,
            field=text_field,
        )
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise InputError(
                    f"expected {len(header)} fields, found {len(values)}",
                    file=path,
                    line=reader.line_num,
                )
            yield reader.line_num, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=path, line=reader.line_num) from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", file=path) from None
    yield from enumerate(table.to_pylist(), start=1)


def _text_of(row: dict[str, Any], text_field: str, path: Path, line: int) -> str:
    if text_field not in row:
        raise InputError(f"missing {text_field!r}", file=path, line=line, field=text_field)
    value = row[text_field]
    if not isinstance(value, str):
        raise InputError(
            f"text must be a string, got {type(value).__name__}",
            file=path,
            line=line,
            field=text_field,
        )
    if not value.strip():
        raise InputError("empty text", file=path, line=line, field=text_field)
    return value


def _label_of(
    row: dict[str, Any], label_field: str, path: Path, line: int, *, multilabel: bool, csv: bool
) -> Any:
    value = row.get(label_field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if multilabel:
        if csv and isinstance(value, str):
            value = [part.strip() for part in value.split("|") if part.strip()]
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise InputError(
                "a multi-label label must be a list of non-empty strings",
                file=path,
                line=line,
                field=label_field,
            )
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(
            f"label must be a string, got {type(value).__name__}",
            file=path,
            line=line,
            field=label_field,
        )
    return str(value)
