"""Stream the records of a JSONL, CSV or Parquet file, one row or one error at a time.

:func:`~labelwise.data.readers.read_dataset` stops at the first bad row, which suits a
simulation. An import wants every bad row at once (to list them, or to skip them), so
:func:`iter_rows` yields each record *or* the :class:`~labelwise.exceptions.InputError`
its line raised, and raises only for problems of the whole file (unsupported type,
missing text column in the header, unreadable Parquet).

Guarantees of every yielded :class:`Row`: its keys and string values are valid Unicode
that encodes to UTF-8, so a database will store them as read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelwise.exceptions import InputError

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".conll": "conll",
}

#: Longest physical line read into memory. Longer lines are measured, not stored, so a
#: runaway file cannot exhaust memory; callers cap text length far below this.
MAX_LINE_BYTES = 32 * 2**20

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


#: Deepest nesting of arrays and objects a JSON line may have. Real metadata nests a few
#: levels; a deeper document is refused before ``json`` recurses into it (200,000 levels
#: raised RecursionError), and anything stored can be written back out by any reader.
MAX_JSON_DEPTH = 64
#: Most digits of a JSON integer. Python refuses more than 4,300 (its conversion is
#: quadratic); 100 holds any id, count or 128-bit hash written as a number.
MAX_INT_DIGITS = 100

_OPENERS = frozenset("[{")
_CLOSERS = frozenset("]}")


def json_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in a JSON text, ignoring those inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSERS:
            depth -= 1
    return deepest


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(
            f"a number has {len(digits.lstrip('-')):,} digits; integers may have at most "
            f"{MAX_INT_DIGITS} (quote it to keep it as text)"
        )
    return int(digits)


def _parse_float(digits: str) -> float:
    value = float(digits)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {digits[:40]} is too large for a 64-bit float")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number; write null or quote it")


def parse_json_line(text: str) -> Any:
    """One JSON document, refusing what no store can hold back.

    Raises
    ------
    json.JSONDecodeError
        For text that is not JSON.
    ValueError
        For nesting deeper than :data:`MAX_JSON_DEPTH`, integers longer than
        :data:`MAX_INT_DIGITS` digits, floats beyond 64 bits, ``NaN`` and ``Infinity``.
    """
    # Measured before parsing, since the parser recurses once per level; only lines with
    # enough brackets to be too deep are scanned (a C-speed count rules out the rest).
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and (
        (depth := json_depth(text)) > MAX_JSON_DEPTH
    ):
        raise ValueError(
            f"JSON nested {depth:,} levels deep; at most {MAX_JSON_DEPTH} levels are allowed"
        )
    return json.loads(
        text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant
    )


@dataclass(frozen=True)
class Row:
    """One record of a file.

    Attributes
    ----------
    line : int
        1-based line of the record (CSV: its first physical line, header = line 1;
        Parquet: the 1-based row).
    values : dict
        Field name to value, as parsed (CSV values are strings).
    """

    line: int
    values: dict[str, Any]


def file_format(path: Path) -> str:
    """``"jsonl"``, ``"csv"``, ``"parquet"`` or ``"conll"`` from the suffix; InputError otherwise."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use one of {sorted(FORMATS)}", file=path
        )
    return fmt


def iter_rows(
    path: str | Path,
    *,
    text_field: str = "text",
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[Row | InputError]:
    """Each record of ``path`` in file order, or the InputError of its line.

    Blank lines (JSONL) and empty rows (CSV) are skipped silently: they hold no record,
    and editors and ``cat`` leave them behind harmlessly.

    Parameters
    ----------
    path : path-like
        A ``.jsonl`` / ``.ndjson``, ``.csv``, ``.parquet`` or ``.conll`` file (one
        sentence per row, with ``tokens`` and ``tags``: see ``_conll_rows``).
    text_field : str
        Must be a CSV header column or a Parquet column (checked once, up front). In
        JSONL each line is checked by the caller.
    max_line_bytes : int
        Longer lines are reported (JSONL) or refused (CSV, whose quoting cannot be
        followed past a line that was not read) without being held in memory.

    Raises
    ------
    InputError
        For problems of the whole file: unknown suffix, missing file, UTF-16 text, a CSV
        without header or text column, an unreadable Parquet file.
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise InputError("file not found", file=path)
    if fmt == "parquet":
        return _parquet_rows(path, text_field)
    lines = _read_lines(path, max_line_bytes)
    if fmt == "jsonl":
        return _jsonl_rows(path, lines, max_line_bytes)
    if fmt == "conll":
        return _conll_rows(path, lines, text_field, max_line_bytes)
    return _csv_rows(path, lines, text_field, max_line_bytes)


@dataclass(frozen=True)
class _Line:
    number: int
    # Decoded with surrogateescape: an invalid byte b becomes U+DC00+b, so parsing goes on
    # and the error can name the field that holds the byte.
    text: str
    bad_byte: tuple[int, int] | None  # (byte, 1-based column) of the first invalid byte
    n_bytes: int  # over max_line_bytes: the line's length, and ``text`` is empty


def _read_lines(path: Path, max_line_bytes: int) -> Iterator[_Line]:
    with path.open("rb") as handle:
        number = 0
        while True:
            chunk = handle.readline(max_line_bytes + 1)
            if not chunk:
                return
            number += 1
            if number == 1:
                if chunk.startswith(_UTF16_BOMS):
                    raise InputError(
                        "the file is UTF-16; save it as UTF-8", file=path, line=1
                    ) from None
                if chunk.startswith(b"\xef\xbb\xbf"):
                    chunk = chunk[3:]
            if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                n_bytes = len(chunk)
                while chunk and not chunk.endswith(b"\n"):
                    chunk = handle.readline(2**20)
                    n_bytes += len(chunk)
                yield _Line(number, "", None, n_bytes)
                continue
            try:
                yield _Line(number, chunk.decode("utf-8"), None, 0)
            except UnicodeDecodeError as exc:
                text = chunk.decode("utf-8", errors="surrogateescape")
                yield _Line(number, text, (chunk[exc.start], exc.start + 1), 0)


def _too_long(path: Path, line: _Line, max_line_bytes: int) -> InputError:
    return InputError(
        f"line is {line.n_bytes:,} bytes long; lines may have at most {max_line_bytes:,}",
        file=path,
        line=line.number,
    )


def _encoding_error(
    path: Path, line: int, bad_byte: tuple[int, int], field: str | None
) -> InputError:
    byte, column = bad_byte
    return InputError(
        f"not valid UTF-8: byte 0x{byte:02x} at column {column}; save the file as UTF-8",
        file=path,
        line=line,
        field=field,
    )


def _jsonl_rows(
    path: Path, lines: Iterable[_Line], max_line_bytes: int
) -> Iterator[Row | InputError]:
    for line in lines:
        if line.n_bytes:
            yield _too_long(path, line, max_line_bytes)
            continue
        if not line.text.strip():
            continue
        try:
            values = parse_json_line(line.text)
        except json.JSONDecodeError as exc:
            if line.bad_byte is not None:
                yield _encoding_error(path, line.number, line.bad_byte, None)
            else:
                yield InputError(
                    f"invalid JSON: {exc.msg} at column {exc.colno}", file=path, line=line.number
                )
            continue
        except ValueError as exc:  # too deep, too many digits, NaN or Infinity
            yield InputError(str(exc), file=path, line=line.number)
            continue
        if not isinstance(values, dict):
            yield InputError(
                f"each line must be a JSON object, got {type(values).__name__}",
                file=path,
                line=line.number,
            )
            continue
        yield _checked(path, line.number, values, line.bad_byte)


#: CoNLL comment lines (CoNLL-U style) that carry what token lines cannot: the text as
#: written (spacing included), the same as a JSON string when it holds tabs or line
#: breaks, and an intents-and-entities sentence's intent.
CONLL_TEXT = "# text = "
CONLL_TEXT_JSON = "# text_json = "
CONLL_INTENT = "# intent = "


def _conll_rows(
    path: Path, lines: Iterable[_Line], text_field: str, max_line_bytes: int
) -> Iterator[Row | InputError]:
    """Sentences of a CoNLL-style file: ``token<TAB>tag`` lines, a blank line between.

    Each sentence is one row ``{text_field: ..., "tokens": [...], "tags": [...]}`` at the
    line of its first line, plus ``"label"`` (the intent) when a ``# intent = `` line
    says one. The text is the ``# text = `` line's, else the tokens joined by spaces.
    ``-DOCSTART-`` lines (CoNLL-2003) are skipped. A token line splits at its last tab
    (or, without a tab, at white space: token first, tag last).
    """
    first = 0
    tokens: list[str] = []
    tags: list[str] = []
    header: dict[str, Any] = {}
    broken: InputError | None = None

    def sentence() -> Row | InputError | None:
        if broken is not None:
            return broken
        if not tokens and not header:
            return None
        if not tokens:
            return InputError("a sentence with comment lines but no tokens", file=path, line=first)
        values: dict[str, Any] = {
            text_field: header.get("text", " ".join(tokens)),
            "tokens": list(tokens),
            "tags": list(tags),
        }
        if "intent" in header:
            values["label"] = header["intent"]
        return Row(first, values)

    for line in [*lines, None]:
        text = "" if line is None else line.text.rstrip("\r\n")
        if line is None or not text.strip():
            done = sentence()
            if done is not None:
                yield done
            first, broken = 0, None
            tokens, tags, header = [], [], {}
            continue
        first = first or line.number
        if broken is not None:
            continue
        if line.n_bytes:
            broken = _too_long(path, line, max_line_bytes)
        elif line.bad_byte is not None:
            broken = _encoding_error(path, line.number, line.bad_byte, None)
        elif text.startswith("-DOCSTART-"):
            continue
        elif "\t" not in text and text.startswith(CONLL_TEXT):
            header["text"] = text[len(CONLL_TEXT) :]
        elif "\t" not in text and text.startswith(CONLL_TEXT_JSON):
            try:
                header["text"] = json.loads(text[len(CONLL_TEXT_JSON) :])
            except json.JSONDecodeError as exc:
                broken = InputError(
                    f"invalid JSON text: {exc.msg}", file=path, line=line.number, field="text"
                )
        elif "\t" not in text and text.startswith(CONLL_INTENT):
            header["intent"] = text[len(CONLL_INTENT) :].strip()
        else:
            token, _, tag = text.rpartition("\t") if "\t" in text else _split_space(text)
            if not token.strip() or not tag.strip():
                broken = InputError(
                    f"expected 'token<TAB>tag', got {text[:60]!r}",
                    file=path,
                    line=line.number,
                    field=f"tags[{len(tags)}]",
                )
            else:
                tokens.append(token.strip())
                tags.append(tag.strip())


def _split_space(text: str) -> tuple[str, str, str]:
    parts = text.split()
    return (parts[0], " ", parts[-1]) if len(parts) >= 2 else (text, "", "")


def _csv_rows(
    path: Path, lines: Iterator[_Line], text_field: str, max_line_bytes: int
) -> Iterator[Row | InputError]:
    bad_bytes: dict[int, tuple[int, int]] = {}

    def texts() -> Iterator[str]:
        for line in lines:
            if line.n_bytes:
                # A quoted field may span lines: past an unread line the parser cannot
                # know where records start, so the whole file is refused.
                raise _too_long(path, line, max_line_bytes)
            if line.bad_byte is not None:
                bad_bytes[line.number] = line.bad_byte
            yield line.text

    # The csv module caps a field at 128 KiB by default and then fails without naming it;
    # lifting the cap to the line cap lets the caller report an overlong text by field.
    # The cap is process-wide and only ever raised here, so concurrent readers agree.
    if csv.field_size_limit() < max_line_bytes:
        csv.field_size_limit(max_line_bytes)
    reader = csv.reader(texts(), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file: no header row", file=path, line=1) from None
    except csv.Error as exc:
        raise InputError(f"malformed CSV header: {exc}", file=path, line=1) from None
    if 1 in bad_bytes:
        raise _encoding_error(path, 1, bad_bytes[1], None)
    if text_field not in header:
        raise InputError(
            f"no {text_field!r} column; the header has {header}",
            file=path,
            line=1,
            field=text_field,
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"repeated column names {repeated}", file=path, line=1)
    last = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield InputError(f"malformed CSV: {exc}", file=path, line=last + 1)
            last = reader.line_num
            continue
        first, last = last + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            missing = header[len(values)] if len(values) < len(header) else None
            yield InputError(
                f"expected {len(header)} fields, found {len(values)}"
                + (f"; no value for {missing!r}" if missing else "; quote values holding commas"),
                file=path,
                line=first,
                field=missing,
            )
            continue
        bad = next((bad_bytes[n] for n in range(first, last + 1) if n in bad_bytes), None)
        yield _checked(path, first, dict(zip(header, values, strict=True)), bad)


def _parquet_rows(path: Path, text_field: str) -> Iterator[Row | InputError]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", file=path) from None
    names = parquet.schema_arrow.names
    if text_field not in names:
        raise InputError(
            f"no {text_field!r} column; the file has {names}", file=path, field=text_field
        )
    # pandas stores a non-default index as a column; it is bookkeeping, not metadata.
    columns = [name for name in names if not name.startswith("__index_level_")]
    row = 0
    try:
        with parquet:
            for batch in parquet.iter_batches(batch_size=10_000, columns=columns):
                for values in batch.to_pylist():
                    row += 1
                    yield _checked(path, row, values, None)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}", file=path, line=row + 1) from None


def _checked(
    path: Path, line: int, values: dict[str, Any], bad_byte: tuple[int, int] | None
) -> Row | InputError:
    """The row, or an error naming the field whose text is not valid Unicode."""
    for key, value in values.items():
        if not _encodable(key):
            field = None
        elif not _encodable(value):
            field = key
        else:
            continue
        if bad_byte is not None:
            return _encoding_error(path, line, bad_byte, field)
        return InputError(
            "contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text",
            file=path,
            line=line,
            field=field,
        )
    return Row(line, values)


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    return True
