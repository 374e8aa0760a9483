"""Entity spans over raw text: tokens, BIO tags, validation and parsing.

A span is a character range ``[start, end)`` of the text with an entity type.
Spans are stored as characters (what a person selects in the page and what
JSONL/Parquet files carry); BIO tags are derived from them per tokenization.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Span", "TokenizedText", "align_tokens", "tokenize"]

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


def tokenize(text: str) -> TokenizedText:
    """Split ``text`` into word runs and single punctuation marks.

    Parameters
    ----------
    text : str

    Returns
    -------
    TokenizedText
    """
    starts: list[int] = []
    ends: list[int] = []
    for match in _TOKEN.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
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
        if not isinstance(token, str) or not token:
            raise ValueError(f"token {i} must be a non-empty string, got {token!r}")
        found = text.find(token, position)
        if found < 0:
            raise ValueError(
                f"token {i} {token!r} is not in the text after offset {position}: {text!r}"
            )
        starts.append(found)
        ends.append(found + len(token))
        position = found + len(token)
    return TokenizedText(text, tuple(starts), tuple(ends))
