"""Entity spans over raw text: tokens, BIO tags, validation and parsing.

A span is a character range ``[start, end)`` of the text with an entity type.
Spans are stored as characters (what a person selects in the page and what
JSONL/Parquet files carry); BIO tags are derived from them per tokenization.
"""

from __future__ import annotations

import bisect
import json
import numbers
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelwise.exceptions import InputError

__all__ = [
    "Span",
    "TokenizedText",
    "align_tokens",
    "check_spans",
    "parse_spans",
    "sentence_tokens",
    "snap_span",
    "spans_to_tags",
    "tags_to_spans",
    "tokenize",
]

# A word run or one punctuation mark, as SNIPS tokenizes (``R&B`` -> ``R``, ``&``, ``B``).
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, order=True)
class Span:
    """One entity: characters ``text[start:end]`` typed ``label``.

    Parameters
    ----------
    start : int
        Offset of the first character (0-based).
    end : int
        Offset one past the last character (exclusive).
    label : str
        The entity type.

    Examples
    --------
    >>> text = "play Lush Life"
    >>> span = Span(5, 14, "track")
    >>> text[span.start : span.end]
    'Lush Life'
    """

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class TokenizedText:
    """A text with the character offsets of its tokens.

    Parameters
    ----------
    text : str
        The raw text.
    starts, ends : tuple of int, each of length (n_tokens,)
        Token ``i`` is ``text[starts[i]:ends[i]]``; tokens are in order and do not overlap.

    Examples
    --------
    >>> tokenize("Add R&B, please").tokens
    ('Add', 'R', '&', 'B', ',', 'please')
    """

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.text[s:e] for s, e in zip(self.starts, self.ends, strict=True))

    def __len__(self) -> int:
        return len(self.starts)


def sentence_tokens(sentence: Any, i: int) -> list[str]:
    """The token strings of sentence ``i`` (named in errors): a sequence of str, or
    anything with ``.tokens`` (such as :class:`TokenizedText`)."""
    tokens = getattr(sentence, "tokens", sentence)
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise TypeError(
            f"Sentence {i} must be a sequence of token strings (or have .tokens); "
            f"got {type(sentence).__name__} {sentence!r:.60}."
        )
    out = list(tokens)
    for j, token in enumerate(out):
        if not isinstance(token, str):
            raise TypeError(f"Token {j} of sentence {i} must be a str; got {token!r}.")
    return out


def tokenize(text: str, boundaries: Iterable[int] = ()) -> TokenizedText:
    """Split ``text`` into word runs and single punctuation marks.

    Parameters
    ----------
    text : str
    boundaries : iterable of int, optional
        Extra character offsets in ``[0, len(text)]`` where a token must end and the next
        begin, splitting a word run there. Pass the edges of gold spans to keep them
        exactly when the text lacks a space between two entities (SNIPS test has
        ``"one pmnear Vatican"`` with spans ``one pm`` and ``near``), e.g. to build
        training tags with :func:`spans_to_tags`.

    Returns
    -------
    TokenizedText

    Examples
    --------
    >>> tokenize("one pmnear", boundaries=[6]).tokens
    ('one', 'pm', 'near')
    """
    cuts = sorted(set(boundaries))
    if cuts and (cuts[0] < 0 or cuts[-1] > len(text)):
        bad = [b for b in cuts if not 0 <= b <= len(text)]
        raise ValueError(f"boundaries must be offsets in [0, {len(text)}]; got {bad}")
    starts: list[int] = []
    ends: list[int] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        # Offsets strictly inside this token cut it into pieces.
        inner = cuts[bisect.bisect_right(cuts, start) : bisect.bisect_left(cuts, end)]
        for cut in [*inner, end]:
            starts.append(start)
            ends.append(cut)
            start = cut
    return TokenizedText(text, tuple(starts), tuple(ends))


def align_tokens(text: str, tokens: list[str] | tuple[str, ...]) -> TokenizedText:
    """Locate pre-split ``tokens`` in ``text``, in order.

    Parameters
    ----------
    text : str
    tokens : sequence of str
        Substrings of ``text`` that appear in this order (whitespace between them is skipped).

    Returns
    -------
    TokenizedText

    Raises
    ------
    ValueError
        Naming the first token (and its position) not found after the previous one.
    """
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or not token or token != token.strip():
            raise _TokenError(
                i, f"token {i} must be a non-empty string without edge whitespace, got {token!r}"
            )
        found = text.find(token, position)
        if found < 0:
            raise _TokenError(
                i, f"token {i} {token!r} is not in the text after offset {position}: {text!r}"
            )
        starts.append(found)
        ends.append(found + len(token))
        position = found + len(token)
    return TokenizedText(text, tuple(starts), tuple(ends))


class _TokenError(ValueError):
    """A token that :func:`align_tokens` could not place; ``index`` says which."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def snap_span(tokenized: TokenizedText, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to the edges of the tokens it touches.

    A selection that begins or ends inside a token takes the whole token, the way a
    person selecting "ew Yor" means "New York"; whitespace at either end is dropped.

    Parameters
    ----------
    tokenized : TokenizedText
    start, end : int
        Character offsets, ``0 <= start < end <= len(text)``.

    Returns
    -------
    (start, end) : tuple of int
        The first touched token's start and the last touched token's end.

    Raises
    ------
    ValueError
        When the offsets are out of order or outside the text, or the range touches no
        token (only whitespace).

    Examples
    --------
    >>> snap_span(tokenize("play New York now"), 6, 11)
    (5, 13)
    """
    if not 0 <= start < end <= len(tokenized.text):
        raise ValueError(
            f"span [{start}, {end}) must satisfy 0 <= start < end <= {len(tokenized.text)}"
        )
    # First token ending after ``start``; last token starting before ``end``.
    first = bisect.bisect_right(tokenized.ends, start)
    last = bisect.bisect_left(tokenized.starts, end) - 1
    if first > last:
        raise ValueError(
            f"span [{start}, {end}) {tokenized.text[start:end]!r} touches no token (only whitespace)"
        )
    return tokenized.starts[first], tokenized.ends[last]


def spans_to_tags(tokenized: TokenizedText, spans: Sequence[Span]) -> list[str]:
    """IOB2 tags, one per token, for spans that sit on token edges.

    Parameters
    ----------
    tokenized : TokenizedText
    spans : sequence of Span
        Non-overlapping, each starting at a token start and ending at a token end
        (what :func:`check_spans` returns).

    Returns
    -------
    tags : list of str, length (n_tokens,)
        ``B-<type>`` on a span's first token, ``I-<type>`` on the rest, ``O`` elsewhere.

    Raises
    ------
    ValueError
        For a span off the token edges or overlapping another.

    Examples
    --------
    >>> spans_to_tags(tokenize("play New York now"), [Span(5, 13, "city")])
    ['O', 'B-city', 'I-city', 'O']
    """
    first_of = {start: i for i, start in enumerate(tokenized.starts)}
    last_of = {end: i for i, end in enumerate(tokenized.ends)}
    tags = ["O"] * len(tokenized)
    for span in spans:
        first, last = first_of.get(span.start), last_of.get(span.end)
        if first is None or last is None or last < first:
            raise ValueError(f"{span} is not on token edges of {tokenized.text!r}")
        if any(tag != "O" for tag in tags[first : last + 1]):
            raise ValueError(f"{span} overlaps another span")
        tags[first] = f"B-{span.label}"
        tags[first + 1 : last + 1] = [f"I-{span.label}"] * (last - first)
    return tags


def _split_tag(tag: object) -> tuple[str, str]:
    """``"B-city"`` -> ``("B", "city")``; ``"O"`` -> ``("O", "")``; anything else is refused."""
    if tag == "O":
        return "O", ""
    if isinstance(tag, str) and tag[:2] in ("B-", "I-") and tag[2:]:
        return tag[0], tag[2:]
    raise ValueError(f"tag {tag!r} is not IOB2: expected 'O', 'B-<type>' or 'I-<type>'")


def tag_segments(tags: Sequence[object]) -> list[tuple[int, int, str]]:
    """Token ranges ``(first, last + 1, type)`` under strict IOB2 (see :func:`tags_to_spans`).

    Examples
    --------
    >>> tag_segments(["B-a", "I-a", "O", "I-b", "B-b"])
    [(0, 2, 'a'), (4, 5, 'b')]
    """
    found: list[tuple[int, int, str]] = []
    open_first, open_type = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, kind = _split_tag(tag)
        if prefix == "I" and open_first >= 0 and kind == open_type:
            continue
        if open_first >= 0:
            found.append((open_first, i, open_type))
        open_first, open_type = (i, kind) if prefix == "B" else (-1, "")
    return found


def tags_to_spans(tokenized: TokenizedText, tags: Sequence[str]) -> list[Span]:
    """Spans from IOB2 tags, read strictly (as seqeval's ``mode="strict", scheme=IOB2``).

    Only ``B-X`` opens a span; ``I-X`` extends the open span when it is of type ``X``.
    An ``I-X`` with no open span (after ``O``, at the start) or after a span of another
    type (``B-Y I-X``) ends any open span and starts nothing: its token belongs to no
    span. This is seqeval's strict IOB2 reading; its default (conlleval) mode would
    instead open a span at such an ``I-X``.

    Parameters
    ----------
    tokenized : TokenizedText
    tags : sequence of str, length (n_tokens,)

    Returns
    -------
    list of Span
        In text order, each from its first token's start to its last token's end.

    Raises
    ------
    ValueError
        When the lengths differ or a tag is not ``O``, ``B-<type>`` or ``I-<type>``.

    Examples
    --------
    >>> tags_to_spans(tokenize("to New York ok"), ["O", "B-city", "I-city", "I-state"])
    [Span(start=3, end=11, label='city')]
    """
    if len(tags) != len(tokenized):
        raise ValueError(f"got {len(tags)} tags for {len(tokenized)} tokens")
    return [
        Span(tokenized.starts[first], tokenized.ends[stop - 1], kind)
        for first, stop, kind in tag_segments(tags)
    ]


def check_spans(
    text: str,
    spans: Sequence[Span],
    entity_types: Collection[str],
    *,
    tokenized: TokenizedText | None = None,
    file: str | Path | None = None,
    line: int | None = None,
    field: str = "spans",
) -> list[Span]:
    """Validate ``spans`` over ``text`` and snap them to token edges.

    Parameters
    ----------
    text : str
    spans : sequence of Span
    entity_types : collection of str
        The project's entity types; any other label is refused.
    tokenized : TokenizedText or None
        The tokens to snap to; ``tokenize(text)`` when None.
    file, line : optional
        Where the row came from, for the error (None for API calls).
    field : str
        The field holding the spans; errors name ``<field>[i]`` or ``<field>[i].<key>``.

    Returns
    -------
    list of Span
        Snapped to token edges (see :func:`snap_span`), sorted by (start, end).

    Raises
    ------
    InputError
        For the first span that has an unknown type, lies outside the text, is empty or
        only whitespace, or overlaps another once snapped.
    """

    def fail(message: str, i: int, part: str | None = None) -> InputError:
        at = f"{field}[{i}]" if part is None else f"{field}[{i}].{part}"
        return InputError(message, file=file, line=line, field=at)

    tokens = tokenize(text) if tokenized is None else tokenized
    snapped: list[tuple[Span, int]] = []
    for i, span in enumerate(spans):
        if span.label not in entity_types:
            raise fail(
                f"unknown entity type {span.label!r}; expected one of {sorted(entity_types)}",
                i,
                "label",
            )
        if span.start < 0 or span.start > len(text):
            raise fail(f"start {span.start} is outside the text (length {len(text)})", i, "start")
        if span.end > len(text):
            raise fail(f"end {span.end} is past the end of the text (length {len(text)})", i, "end")
        if span.end <= span.start:
            raise fail(f"end {span.end} must be greater than start {span.start}", i, "end")
        try:
            start, end = snap_span(tokens, span.start, span.end)
        except ValueError:
            raise fail(
                f"[{span.start}, {span.end}) {text[span.start : span.end]!r} covers no token "
                "(only whitespace)",
                i,
            ) from None
        snapped.append((Span(start, end, span.label), i))
    snapped.sort()
    for (before, i), (after, j) in zip(snapped, snapped[1:], strict=False):
        if after.start < before.end:
            raise fail(
                f"[{after.start}, {after.end}) {text[after.start : after.end]!r} overlaps "
                f"{field}[{i}] [{before.start}, {before.end}) "
                f"{text[before.start : before.end]!r} once snapped to token edges",
                j,
            )
    return [span for span, _ in snapped]


def parse_spans(
    value: Any,
    text: str,
    entity_types: Collection[str],
    *,
    tokens: Any = None,
    tags: Any = None,
    file: str | Path | None = None,
    line: int | None = None,
    field: str = "spans",
) -> list[Span]:
    """Read a row's entity spans from any of the shapes files and the API carry.

    Parameters
    ----------
    value : list of dict, JSON str or None
        ``[{"start": int, "end": int, "label": str}, ...]`` (JSONL, Parquet, API), or the
        same list as a JSON string (a CSV cell). ``"[]"`` / ``[]`` is a text with no
        entities. When given, ``tokens`` and ``tags`` are not read.
    text : str
    entity_types : collection of str
    tokens, tags : sequence of str or None
        Used when ``value`` is None: pre-split tokens (substrings of ``text``, in order)
        and their IOB2 tags (the SNIPS / WNUT17 columns).
    file, line : optional
        Where the row came from, for errors (None for API calls).
    field : str
        Name of the ``value`` field in errors; token columns are named ``tokens`` and
        ``tags``.

    Returns
    -------
    list of Span
        Sorted. Spans given as objects are checked and snapped by :func:`check_spans`
        to ``tokenize(text)``; spans read from tags keep the given tokens' edges (which
        may cut a word run: SNIPS test's ``"one pmnear"``).

    Raises
    ------
    InputError
        Naming file, line and the field at fault (``spans[2].end``, ``tags[4]``...).

    Examples
    --------
    >>> parse_spans('[{"start": 5, "end": 13, "label": "city"}]', "play New York", {"city"})
    [Span(start=5, end=13, label='city')]
    """

    def fail(message: str, at: str) -> InputError:
        return InputError(message, file=file, line=line, field=at)

    if value is None:
        if tokens is None and tags is None:
            raise fail("no spans given (and no tokens/tags columns)", field)
        return _parse_tags(tokens, tags, text, entity_types, file=file, line=line)
    if isinstance(value, str):
        if not value.strip():
            raise fail("is empty; write [] for a text with no entities", field)
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise fail(f"is not valid JSON ({exc.msg} at character {exc.pos})", field) from None
    items = _as_list(value)
    if items is None:
        raise fail(
            'must be a list of {"start", "end", "label"} objects, '
            f"got {type(value).__name__} {_short(value)}",
            field,
        )
    spans = []
    for i, item in enumerate(items):
        at = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise fail(f'must be an object with "start", "end" and "label", got {_short(item)}', at)
        for key in ("start", "end", "label"):
            if key not in item:
                raise fail(f"is missing (keys present: {sorted(item)})", f"{at}.{key}")
        for key in ("start", "end"):
            offset = item[key]
            if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
                raise fail(
                    f"must be an integer character offset, got {_short(offset)}", f"{at}.{key}"
                )
        if not isinstance(item["label"], str):
            raise fail(f"must be a string, got {_short(item['label'])}", f"{at}.label")
        spans.append(Span(int(item["start"]), int(item["end"]), item["label"]))
    return check_spans(text, spans, entity_types, file=file, line=line, field=field)


def _parse_tags(
    tokens: Any,
    tags: Any,
    text: str,
    entity_types: Collection[str],
    *,
    file: str | Path | None,
    line: int | None,
) -> list[Span]:
    def fail(message: str, at: str) -> InputError:
        return InputError(message, file=file, line=line, field=at)

    token_list, tag_list = _as_list(tokens), _as_list(tags)
    if token_list is None:
        raise fail(f"must be a list of strings, got {_short(tokens)}", "tokens")
    if tag_list is None:
        raise fail(f"must be a list of strings, got {_short(tags)}", "tags")
    if len(token_list) != len(tag_list):
        raise fail(f"has {len(tag_list)} tags for {len(token_list)} tokens", "tags")
    try:
        given = align_tokens(text, token_list)
    except _TokenError as exc:
        raise fail(str(exc), f"tokens[{exc.index}]") from None
    previous = "O"
    for i, tag in enumerate(tag_list):
        try:
            prefix, kind = _split_tag(tag)
        except ValueError as exc:
            raise fail(f"{exc}; only IOB2 tags are read", f"tags[{i}]") from None
        if prefix != "O" and kind not in entity_types:
            raise fail(
                f"unknown entity type {kind!r}; expected one of {sorted(entity_types)}",
                f"tags[{i}]",
            )
        # Strict IOB2 would silently drop this token from every span; in gold data that
        # is a conversion slip (or IOB1 data), so say so rather than lose the entity.
        if prefix == "I" and previous[2:] != kind:
            raise fail(
                f"{tag!r} follows {previous!r}: an IOB2 span starts with 'B-{kind}' "
                "(is this IOB1 data?)",
                f"tags[{i}]",
            )
        previous = tag
    # Spans read from tags are on the given tokens' edges and cannot overlap; they
    # keep those edges even inside a word run ("one pmnear": "one pm", "near").
    return [
        Span(given.starts[first], given.ends[stop - 1], kind)
        for first, stop, kind in tag_segments(tag_list)
    ]


def _as_list(value: Any) -> list[Any] | None:
    """``value`` as a list when it is a list, tuple or 1-d array (Parquet via pandas), else None."""
    if isinstance(value, list | tuple):
        return list(value)
    if getattr(value, "ndim", None) == 1 and hasattr(value, "tolist"):
        return list(value.tolist())
    return None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
