"""Weak supervision for entities: span labeling functions and their aggregation per token.

A span labeling function marks entity spans in a text (a gazetteer of known names, a
pattern for numbers or times, whose named groups may mark several entities at once, or
a fitted tagger's spans); where it marks nothing it abstains. Gazetteers can be harvested
from the human spans, keeping only phrases the labeled sentences mostly mark. The votes are
aggregated per token: each function votes ``B-<type>`` on the first token of each of its
spans and ``I-<type>`` on the rest, a label model (any of :mod:`labelwise.weak.label_models`)
weighs the votes token by token, and the winning tags are read back into spans. Tokens no
function voted on are ``O``. Gold sentences calibrate the label model through their tags,
``O`` included: a function that fires on tokens people leave untagged loses credit.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.data.spans import (
    Span,
    TokenizedText,
    snap_span,
    spans_to_tags,
    tags_to_spans,
    tokenize,
)
from labelwise.weak.functions import (
    DEFAULT_REGEX_TIMEOUT,
    DefinedFunction,
    LabelingFunctionError,
    compile_pattern,
    phrase_pattern,
    time_limited,
)
from labelwise.weak.label_models import LabelModel
from labelwise.weak.matrix import LabelMatrix

__all__ = [
    "GazetteerFunction",
    "SpanLabelingFunction",
    "SpanPatternFunction",
    "TaggerFunction",
    "TokenVotes",
    "aggregate_spans",
    "harvest_gazetteers",
    "token_votes",
]

OUTSIDE = "O"


class SpanLabelingFunction(DefinedFunction):
    """Marks entity spans (character offsets) in each of a batch of texts."""

    @property
    @abstractmethod
    def entity_types(self) -> frozenset[str]:
        """Every type this function may mark."""

    @abstractmethod
    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        """The spans it marks in each text (none: it abstains on that text's tokens)."""


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LabelingFunctionError(
            f"A span labeling function needs a non-empty name. Got {name!r}."
        )
    return name.strip()


def _check_type(name: Any, entity_type: Any) -> tuple[str, str]:
    name = _check_name(name)
    if not isinstance(entity_type, str) or not entity_type.strip():
        raise LabelingFunctionError(
            f"Span labeling function {name!r} needs an entity type. Got {entity_type!r}."
        )
    return name, entity_type


class GazetteerFunction(SpanLabelingFunction):
    """Marks every whole-word occurrence of a known phrase as ``entity_type``.

    Longer phrases win where two overlap ("new york city" over "new york").

    Parameters
    ----------
    name : str
    entity_type : str
    phrases : sequence of str
    case_sensitive : bool, default False
    """

    def __init__(
        self,
        name: str,
        entity_type: str,
        phrases: Sequence[str],
        *,
        case_sensitive: bool = False,
    ) -> None:
        self.name, self.entity_type = _check_type(name, entity_type)
        cleaned = {" ".join(str(p).split()) for p in phrases} - {""}
        if not cleaned:
            raise LabelingFunctionError(f"Gazetteer {self.name!r} needs at least one phrase.")
        # Longest first: the regex engine takes the first alternative that matches.
        self.phrases = tuple(sorted(cleaned, key=lambda p: (-len(p), p)))
        self.case_sensitive = case_sensitive
        self._pattern = phrase_pattern(self.phrases, case_sensitive=case_sensitive)

    @property
    def entity_types(self) -> frozenset[str]:
        return frozenset({self.entity_type})

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        return [
            [Span(m.start(), m.end(), self.entity_type) for m in self._pattern.finditer(text)]
            for text in texts
        ]

    def definition(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "phrases": list(self.phrases),
            "case_sensitive": self.case_sensitive,
        }


class SpanPatternFunction(SpanLabelingFunction):
    r"""Marks every non-empty match of a regular expression, or of its named groups.

    With one ``entity_type`` the whole match is the span. With a mapping from group names
    to types, each named group that took part in a match marks its own span and the rest
    of the match (the context: "book a table for (?P<n>\d+) people") marks nothing, so
    one pattern can mark several entities of a sentence.

    Parameters
    ----------
    name : str
    entity_type : str or mapping of str to str
        The type of every match, or ``{group name: type}``.
    pattern : str
        Python ``re`` syntax, run by ``regex`` with a time limit per text.
    ignore_case : bool, default False
    timeout : float, default 0.05

    Examples
    --------
    >>> lf = SpanPatternFunction(
    ...     "party", {"n": "party_size"}, r"\btable for (?P<n>\d+)\b", ignore_case=True
    ... )
    >>> lf.spans(["Book a table for 4 at noon"])
    [[Span(start=17, end=18, label='party_size')]]
    """

    def __init__(
        self,
        name: str,
        entity_type: str | Mapping[str, str],
        pattern: str,
        *,
        ignore_case: bool = False,
        timeout: float = DEFAULT_REGEX_TIMEOUT,
    ) -> None:
        # {group: type}, or None when the whole match is the span.
        self._groups: dict[str, str] | None = None
        if isinstance(entity_type, Mapping):
            self.name = _check_name(name)
            self._groups = {
                str(group): _check_type(self.name, kind)[1] for group, kind in entity_type.items()
            }
            if not self._groups:
                raise LabelingFunctionError(
                    f"Span pattern {self.name!r} needs at least one group to mark."
                )
            self.entity_type: str | dict[str, str] = dict(self._groups)
        else:
            self.name, self.entity_type = _check_type(name, entity_type)
        self.pattern = pattern
        self.ignore_case = ignore_case
        self.timeout = float(timeout)
        self._pattern = compile_pattern(self.name, f"(?i){pattern}" if ignore_case else pattern)
        missing = sorted(set(self._groups or ()) - set(self._pattern.groupindex))
        if missing:
            raise LabelingFunctionError(
                f"Span pattern {self.name!r} marks the groups {missing}, which the pattern "
                f"{pattern!r} does not name."
            )

    @property
    def entity_types(self) -> frozenset[str]:
        if self._groups is None:
            return frozenset({str(self.entity_type)})
        return frozenset(self._groups.values())

    def _match_spans(self, match: Any) -> list[Span]:
        if self._groups is None:
            found = [(match.start(), match.end(), str(self.entity_type))]
        else:
            found = [(match.start(g), match.end(g), kind) for g, kind in self._groups.items()]
        # A group that took no part in the match has offsets -1.
        return [Span(start, end, kind) for start, end, kind in found if end > start >= 0]

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        out = []
        for i, text in enumerate(texts):
            with time_limited(self.name, self.pattern, self.timeout, i, text):
                matches = list(self._pattern.finditer(text, timeout=self.timeout))
            out.append(sorted(span for m in matches for span in self._match_spans(m)))
        return out

    def definition(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "pattern": self.pattern,
            "ignore_case": self.ignore_case,
        }


class TaggerFunction(SpanLabelingFunction):
    """The spans a fitted sequence tagger is sure of: "the current model" for entities.

    Each text is tokenized as the project serves it (:func:`~labelwise.data.spans.tokenize`)
    and tagged; a span whose confidence (the smallest marginal over its tokens of the tag
    the best path gives it, :meth:`~labelwise.learners.CRFTagger.predict_spans`) is below
    ``threshold`` is left out. Tagging sentences the tagger was trained on gives its
    training answers back: keep its votes there out of any calibration.

    Parameters
    ----------
    name : str
    tagger : fitted CRFTagger or BaggedCRF
        Anything with ``classes_`` and ``predict_spans(token lists)``.
    threshold : float in [0, 1], default 0.5
    """

    def __init__(self, name: str, tagger: Any, *, threshold: float = 0.5) -> None:
        self.name = _check_name(name)
        if not hasattr(tagger, "predict_spans") or not hasattr(tagger, "classes_"):
            raise LabelingFunctionError(
                f"Tagger function {self.name!r} needs a fitted tagger (with classes_ and "
                f"predict_spans). Got {type(tagger).__name__}."
            )
        if not 0.0 <= threshold <= 1.0:
            raise LabelingFunctionError(
                f"Tagger function {self.name!r} needs a threshold in [0, 1]. Got {threshold!r}."
            )
        self.tagger = tagger
        self.threshold = float(threshold)

    @property
    def entity_types(self) -> frozenset[str]:
        return frozenset(str(t) for t in self.tagger.classes_)

    def spans(self, texts: Sequence[str]) -> list[list[Span]]:
        sentences = [tokenize(text) for text in texts]
        found = self.tagger.predict_spans([s.tokens for s in sentences])
        return [
            [
                Span(sentence.starts[first], sentence.ends[stop - 1], kind)
                for first, stop, kind, confidence in spans
                if confidence >= self.threshold
            ]
            for sentence, spans in zip(sentences, found, strict=True)
        ]

    def definition(self) -> dict[str, Any]:
        # A retrained tagger votes differently: its model bytes identify it.
        model = getattr(self.tagger, "model_", None)
        digest = hashlib.sha256(model).hexdigest()[:16] if isinstance(model, bytes) else None
        return {"tagger": type(self.tagger).__name__, "model": digest, "threshold": self.threshold}


@dataclass(frozen=True)
class TokenVotes:
    """Span votes per token, as a label matrix over every token of every sentence.

    Attributes
    ----------
    matrix : LabelMatrix
        Rows are tokens (sentence by sentence), columns the functions; classes are ``O``
        then ``B-<type>``, ``I-<type>`` for each type in order.
    offsets : ndarray of shape (n_sentences + 1,)
        Sentence ``i``'s tokens are rows ``offsets[i]:offsets[i + 1]``.
    sentences : tuple of TokenizedText
    """

    matrix: LabelMatrix
    offsets: NDArray[np.intp]
    sentences: tuple[TokenizedText, ...]

    def gold(self, spans: Mapping[int, Sequence[Span]]) -> dict[int, str]:
        """Gold tags per token row from human spans of some sentences (``O`` included)."""
        out: dict[int, str] = {}
        for i, sentence_spans in spans.items():
            tags = spans_to_tags(self.sentences[i], list(sentence_spans))
            start = int(self.offsets[i])
            out.update({start + j: tag for j, tag in enumerate(tags)})
        return out


def _tag_classes(entity_types: Sequence[str]) -> tuple[str, ...]:
    return (OUTSIDE, *[f"{p}-{t}" for t in entity_types for p in ("B", "I")])


def token_votes(
    functions: Sequence[SpanLabelingFunction],
    sentences: Sequence[TokenizedText],
    entity_types: Sequence[str],
) -> TokenVotes:
    """Each function's spans as ``B-``/``I-`` votes on the tokens they cover.

    A span that starts or ends inside a token takes the whole token
    (:func:`~labelwise.data.spans.snap_span`); one that covers no token is dropped, and so
    is a span overlapping an earlier one of the same function.
    """
    from scipy import sparse

    classes = _tag_classes(entity_types)
    index = {c: k for k, c in enumerate(classes)}
    names = [f.name for f in functions]
    if len(set(names)) != len(names):
        raise LabelingFunctionError("Span labeling functions must have distinct names.")
    lengths = np.array([len(s) for s in sentences], dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.intp)
    rows: list[int] = []
    cols: list[int] = []
    values: list[int] = []
    texts = [s.text for s in sentences]
    for j, lf in enumerate(functions):
        unknown = sorted(lf.entity_types - set(entity_types))
        if unknown:
            raise LabelingFunctionError(
                f"Span labeling function {lf.name!r} marks {unknown}, which are not among the "
                f"entity types."
            )
        for i, found in enumerate(lf.spans(texts)):
            tags = _function_tags(sentences[i], found)
            for t, tag in enumerate(tags):
                if tag != OUTSIDE:
                    rows.append(int(offsets[i]) + t)
                    cols.append(j)
                    values.append(index[tag] + 1)
    votes = sparse.csr_matrix(
        (np.asarray(values, dtype=np.int32), (rows, cols)),
        shape=(int(offsets[-1]), len(functions)),
        dtype=np.int32,
    )
    return TokenVotes(LabelMatrix(votes, classes, tuple(names)), offsets, tuple(sentences))


def _function_tags(sentence: TokenizedText, spans: Sequence[Span]) -> list[str]:
    """One function's tags on one sentence (``O`` where it marked nothing)."""
    snapped: list[Span] = []
    for span in sorted(spans):
        try:
            start, end = snap_span(sentence, span.start, span.end)
        except ValueError:
            continue  # whitespace only, or outside the text
        if snapped and start < snapped[-1].end:
            continue
        snapped.append(Span(start, end, span.label))
    return spans_to_tags(sentence, snapped)


def aggregate_spans(model: LabelModel, votes: TokenVotes) -> list[list[Span]]:
    """Each sentence's spans by the label model's tag per token (``O`` where none voted).

    ``I-X`` that does not continue an ``X`` (functions that disagree on where an entity
    starts) opens one, so no voted token is lost.
    """
    predicted = model.predict(votes.matrix)
    classes = votes.matrix.classes
    out = []
    for i, sentence in enumerate(votes.sentences):
        tags = [
            OUTSIDE if k < 0 else classes[k]
            for k in predicted[votes.offsets[i] : votes.offsets[i + 1]]
        ]
        for t, tag in enumerate(tags):
            if tag.startswith("I-") and (t == 0 or tags[t - 1][2:] != tag[2:]):
                tags[t] = "B-" + tag[2:]
        out.append(tags_to_spans(sentence, tags))
    return out


def harvest_gazetteers(
    texts: Sequence[str],
    spans: Mapping[int, Sequence[Span]],
    *,
    prefix: str = "gaz",
    min_precision: float = 0.0,
) -> list[GazetteerFunction]:
    """One gazetteer per entity type, of the phrases people marked in labeled sentences.

    A phrase people marked once may be an everyday word elsewhere ("book" the object type
    against "book a table"). ``min_precision`` keeps a phrase only where, over all its
    whole-word occurrences in the labeled texts (case-insensitive), at least that share is
    marked exactly as a span of its type; the labeled texts are all it reads.

    Parameters
    ----------
    texts : sequence of str
    spans : mapping of position → the human spans of that text
    prefix : str, default "gaz"
        Names are ``<prefix>_<type>``.
    min_precision : float in [0, 1], default 0
        0 keeps every phrase.
    """
    if not 0.0 <= min_precision <= 1.0:
        raise ValueError(f"min_precision must be in [0, 1]. Got {min_precision!r}.")
    phrases: dict[str, set[str]] = defaultdict(set)
    for position, sentence_spans in spans.items():
        for span in sentence_spans:
            phrase = texts[position][span.start : span.end].strip()
            if phrase:
                phrases[span.label].add(phrase.lower())
    out = []
    for entity_type, found in sorted(phrases.items()):
        kept = [
            phrase
            for phrase in sorted(found)
            if min_precision == 0.0
            or _phrase_precision(phrase, entity_type, texts, spans) >= min_precision
        ]
        if kept:
            out.append(GazetteerFunction(f"{prefix}_{entity_type}", entity_type, kept))
    return out


def _phrase_precision(
    phrase: str, entity_type: str, texts: Sequence[str], spans: Mapping[int, Sequence[Span]]
) -> float:
    """Share of the phrase's occurrences in the labeled texts that are its type's spans."""
    pattern = phrase_pattern([phrase], case_sensitive=False)
    seen = right = 0
    for position, sentence_spans in spans.items():
        typed = {(s.start, s.end) for s in sentence_spans if s.label == entity_type}
        for match in pattern.finditer(texts[position]):
            seen += 1
            right += match.span() in typed
    return right / seen if seen else 0.0
