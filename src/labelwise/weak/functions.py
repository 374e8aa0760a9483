"""Labeling functions for classification: an item's text → a label name, or abstain.

A labeling function (LF) is a heuristic that labels at scale but noisily: a keyword list,
a regular expression, closeness to a label's name or to exemplar items, the current model
above a confidence threshold, or (in library use only) any Python function. Each applies
to a batch of texts at once and returns one vote per text: a label name, or ``None``
(:data:`ABSTAIN`) where it has nothing to say.

Regular expressions run on the ``regex`` package with a time limit per text, so a pattern
that backtracks catastrophically (``(a|aa)+$``) stops with :class:`LabelingFunctionError`
instead of hanging the caller; Python's ``re`` has no time limit.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import LabelwiseError

__all__ = [
    "ABSTAIN",
    "DEFAULT_REGEX_TIMEOUT",
    "DefinedFunction",
    "KeywordFunction",
    "LabelingFunction",
    "LabelingFunctionError",
    "ModelConfidenceFunction",
    "OneLabelFunction",
    "PythonFunction",
    "RegexFunction",
    "SimilarityFunction",
    "ZeroShotFunction",
]

#: The vote of a labeling function that has nothing to say about an item.
ABSTAIN: Final = None
#: Seconds one regular expression may spend on one text. Every pattern of TREC's 68 shared
#: rules takes under a millisecond on every question; a catastrophic one takes forever.
DEFAULT_REGEX_TIMEOUT = 0.05

Vote = str | None


class LabelingFunctionError(LabelwiseError, ValueError):
    """A labeling function that cannot be built or applied: names the function and why."""


def _check_name(name: Any, owner: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LabelingFunctionError(f"A {owner} needs a non-empty name. Got {name!r}.")
    return name.strip()


def _check_label(label: Any, name: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise LabelingFunctionError(
            f"Labeling function {name!r} needs a non-empty label name. Got {label!r}."
        )
    return label


class DefinedFunction(ABC):
    """A named heuristic whose declarative definition identifies what it does.

    Attributes
    ----------
    name : str
        Unique within a set of functions; the column of the label matrix.
    """

    name: str

    @abstractmethod
    def definition(self) -> dict[str, Any]:
        """What the function does, as JSON-ready values; equal definitions vote equally."""

    def fingerprint(self) -> str:
        """A short hash of :meth:`definition`: a changed function gets a new fingerprint, so
        its column of a label matrix is computed again."""
        text = json.dumps({"type": type(self).__name__, **self.definition()}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class LabelingFunction(DefinedFunction):
    """Votes a label name, or abstains, for each of a batch of texts."""

    @property
    @abstractmethod
    def labels(self) -> frozenset[str]:
        """Every label this function may vote (checked against the project's classes)."""

    @abstractmethod
    def apply(
        self, texts: Sequence[str], *, vectors: NDArray[np.floating[Any]] | None = None
    ) -> list[Vote]:
        """One vote per text: a label name or ``None`` (abstain).

        Parameters
        ----------
        texts : sequence of str, length n
        vectors : ndarray of shape (n, d), optional
            Unit-length sentence embeddings of ``texts``, for functions that compare them.
        """


def phrase_pattern(phrases: Sequence[str], *, case_sensitive: bool) -> re.Pattern[str]:
    """Whole-word occurrences of any of ``phrases`` (words in order, any whitespace between),
    the first listed winning where two start at one place.

    Literal alternatives only: linear time, and no pattern from a user reaches ``re``.
    """
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", flags)


def compile_pattern(name: str, pattern: str) -> Any:
    """``pattern`` compiled by the ``regex`` package as Python's ``re`` reads it."""
    import regex

    try:
        return regex.compile(pattern, regex.VERSION0)
    except regex.error as exc:
        raise LabelingFunctionError(
            f"Regex function {name!r}: the pattern {pattern!r} does not compile: {exc}."
        ) from None


@contextmanager
def time_limited(name: str, pattern: str, timeout: float, i: int, text: str) -> Iterator[None]:
    """Turn a pattern's timeout on text ``i`` into an error naming the function."""
    try:
        yield
    except TimeoutError:
        raise LabelingFunctionError(
            f"Regex function {name!r}: the pattern {pattern!r} took longer than {timeout:g} s "
            f"on text {i} ({text[:60]!r}); it backtracks without end on some inputs. Rewrite "
            "it without nested repetition."
        ) from None


class OneLabelFunction(LabelingFunction):
    """A function that votes one label or abstains (keywords, patterns, similarity).

    Attributes
    ----------
    label : str
    """

    label: str

    @property
    def labels(self) -> frozenset[str]:
        return frozenset({self.label})


class KeywordFunction(OneLabelFunction):
    """Votes ``label`` when a text contains any of ``keywords`` as whole words.

    Parameters
    ----------
    name : str
    label : str
    keywords : sequence of str
        Words or phrases; a phrase matches its words in order with any whitespace between.
    case_sensitive : bool, default False
    """

    def __init__(
        self, name: str, label: str, keywords: Sequence[str], *, case_sensitive: bool = False
    ) -> None:
        self.name = _check_name(name, "keyword function")
        self.label = _check_label(label, self.name)
        cleaned = sorted({" ".join(str(k).split()) for k in keywords} - {""})
        if not cleaned:
            raise LabelingFunctionError(
                f"Keyword function {self.name!r} needs at least one non-empty keyword."
            )
        self.keywords = tuple(cleaned)
        self.case_sensitive = case_sensitive
        self._pattern = phrase_pattern(self.keywords, case_sensitive=case_sensitive)

    def apply(
        self,
        texts: Sequence[str],
        *,
        vectors: NDArray[np.floating[Any]] | None = None,  # noqa: ARG002 - the contract's
    ) -> list[Vote]:
        search = self._pattern.search
        return [self.label if search(text) else ABSTAIN for text in texts]

    def definition(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "keywords": list(self.keywords),
            "case_sensitive": self.case_sensitive,
        }


class RegexFunction(OneLabelFunction):
    """Votes ``label`` when ``pattern`` matches anywhere in a text.

    Parameters
    ----------
    name : str
    label : str
    pattern : str
        Python regular-expression syntax (run by the ``regex`` package, which reads it the
        same way).
    lowercase : bool, default False
        Match against the stripped, lower-cased text (how TREC's shared rules were written).
    timeout : float, default 0.05
        Seconds the pattern may spend on one text; past it :meth:`apply` raises
        :class:`LabelingFunctionError` naming the function and the text's position.
    """

    def __init__(
        self,
        name: str,
        label: str,
        pattern: str,
        *,
        lowercase: bool = False,
        timeout: float = DEFAULT_REGEX_TIMEOUT,
    ) -> None:
        self.name = _check_name(name, "regex function")
        self.label = _check_label(label, self.name)
        if not isinstance(pattern, str) or not pattern:
            raise LabelingFunctionError(f"Regex function {self.name!r} needs a pattern.")
        if not timeout > 0:
            raise LabelingFunctionError(
                f"Regex function {self.name!r}: timeout must be positive seconds. Got {timeout!r}."
            )
        self._pattern = compile_pattern(self.name, pattern)
        self.pattern = pattern
        self.lowercase = lowercase
        self.timeout = float(timeout)

    def apply(
        self,
        texts: Sequence[str],
        *,
        vectors: NDArray[np.floating[Any]] | None = None,  # noqa: ARG002 - the contract's
    ) -> list[Vote]:
        votes: list[Vote] = []
        for i, text in enumerate(texts):
            subject = text.strip().lower() if self.lowercase else text
            with time_limited(self.name, self.pattern, self.timeout, i, text):
                found = self._pattern.search(subject, timeout=self.timeout)
            votes.append(self.label if found is not None else ABSTAIN)
        return votes

    def definition(self) -> dict[str, Any]:
        return {"label": self.label, "pattern": self.pattern, "lowercase": self.lowercase}


def _check_cosine(threshold: float, owner: str) -> float:
    if not -1.0 <= threshold <= 1.0:
        raise LabelingFunctionError(
            f"{owner}: threshold is a cosine in [-1, 1]. Got {threshold!r}."
        )
    return float(threshold)


def _check_anchors(
    anchors: NDArray[np.floating[Any]], owner: str, needs: str, *, rows: int | None = None
) -> NDArray[np.float32]:
    """Anchor embeddings as a (k, d) float32 array: k >= 1, and k == ``rows`` when given."""
    anchors = np.atleast_2d(np.asarray(anchors, dtype=np.float32))
    if anchors.ndim != 2 or anchors.shape[0] == 0 or rows is not None and anchors.shape[0] != rows:
        raise LabelingFunctionError(f"{owner} needs {needs}. Got shape {anchors.shape}.")
    return anchors


def _check_vectors(
    vectors: NDArray[np.floating[Any]] | None, n: int, anchors: NDArray[np.float32], owner: str
) -> NDArray[np.floating[Any]]:
    """The texts' embeddings, which a similarity function needs: (n, the anchors' width)."""
    if vectors is None:
        raise LabelingFunctionError(
            f"{owner} compares sentence embeddings: pass the texts' vectors "
            "(apply(texts, vectors=...))."
        )
    vectors = np.asarray(vectors)
    if vectors.shape != (n, anchors.shape[1]):
        raise LabelingFunctionError(
            f"{owner}: vectors must have shape ({n}, {anchors.shape[1]}). Got {vectors.shape}."
        )
    return vectors


def _digest(anchors: NDArray[np.float32]) -> str:
    """A short hash of the anchors: a changed embedding model is a changed function."""
    return hashlib.sha256(anchors.tobytes()).hexdigest()[:16]


class SimilarityFunction(OneLabelFunction):
    """Votes ``label`` when a text's embedding is close to any anchor's.

    The anchors are a label's name (zero-shot: "book a flight" for ``book_flight``) or
    exemplar items; closeness is the cosine of unit-length embeddings.

    Parameters
    ----------
    name : str
    label : str
    anchors : ndarray of shape (k, d)
        Unit-length embeddings of the label name or the exemplars.
    threshold : float
        The least cosine, in [-1, 1], at which the function votes.
    source : sequence of str, optional
        The anchors' texts, kept in :meth:`definition` (a changed anchor is a new function).
    """

    def __init__(
        self,
        name: str,
        label: str,
        anchors: NDArray[np.floating[Any]],
        threshold: float,
        *,
        source: Sequence[str] = (),
    ) -> None:
        self.name = _check_name(name, "similarity function")
        self.label = _check_label(label, self.name)
        owner = f"Similarity function {self.name!r}"
        self.anchors = _check_anchors(anchors, owner, "anchors of shape (k, d), k >= 1")
        self.threshold = _check_cosine(threshold, owner)
        self.source = tuple(source)

    @classmethod
    def from_texts(
        cls,
        name: str,
        label: str,
        texts: Sequence[str],
        threshold: float,
        *,
        embed: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
    ) -> SimilarityFunction:
        """Anchors embedded from ``texts`` (a label name, or exemplar items) by ``embed``."""
        if not texts:
            raise LabelingFunctionError(f"Similarity function {name!r} needs anchor texts.")
        return cls(name, label, embed(list(texts)), threshold, source=texts)

    def apply(
        self, texts: Sequence[str], *, vectors: NDArray[np.floating[Any]] | None = None
    ) -> list[Vote]:
        vectors = _check_vectors(
            vectors, len(texts), self.anchors, f"Similarity function {self.name!r}"
        )
        best = (vectors @ self.anchors.T).max(axis=1) if len(texts) else np.zeros(0)
        return [self.label if b >= self.threshold else ABSTAIN for b in best]

    def definition(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "threshold": self.threshold,
            "source": list(self.source),
            "anchors": _digest(self.anchors),
        }


class ZeroShotFunction(LabelingFunction):
    """Votes the label whose name is nearest a text, where that cosine reaches ``threshold``.

    The zero-shot model as one function over every label: each label's name (its words,
    ``book_flight`` → "book flight") is embedded once, and a text gets the label of the
    nearest name when the two are at least ``threshold`` alike. With 150 intents this is
    one rule to accept, where a function per label name would be 150.

    Parameters
    ----------
    name : str
    anchors : ndarray of shape (n_labels, d)
        Unit-length embeddings of the label names, one row per label of ``classes``.
    classes : sequence of str
    threshold : float
        The least cosine, in [-1, 1], at which the function votes.
    source : sequence of str, optional
        The anchors' texts, kept in :meth:`definition`.
    """

    def __init__(
        self,
        name: str,
        anchors: NDArray[np.floating[Any]],
        classes: Sequence[str],
        threshold: float,
        *,
        source: Sequence[str] = (),
    ) -> None:
        self.name = _check_name(name, "zero-shot function")
        self.classes = tuple(_check_label(c, self.name) for c in classes)
        owner = f"Zero-shot function {self.name!r}"
        needs = f"one anchor row per label ({len(self.classes)} labels)"
        self.anchors = _check_anchors(anchors, owner, needs, rows=len(self.classes))
        self.threshold = _check_cosine(threshold, owner)
        self.source = tuple(source)

    @classmethod
    def from_names(
        cls,
        name: str,
        classes: Sequence[str],
        threshold: float,
        *,
        texts: Sequence[str],
        embed: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
    ) -> ZeroShotFunction:
        """Anchors embedded by ``embed`` from ``texts``, one per label of ``classes``."""
        return cls(name, embed(list(texts)), classes, threshold, source=texts)

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(self.classes)

    def nearest(
        self, vectors: NDArray[np.floating[Any]]
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Each row's nearest label (index into ``classes``) and its cosine."""
        similarity = np.asarray(vectors, dtype=np.float64) @ self.anchors.T.astype(np.float64)
        best = similarity.argmax(axis=1)
        return best, similarity[np.arange(best.size), best]

    def apply(
        self, texts: Sequence[str], *, vectors: NDArray[np.floating[Any]] | None = None
    ) -> list[Vote]:
        vectors = _check_vectors(
            vectors, len(texts), self.anchors, f"Zero-shot function {self.name!r}"
        )
        if not texts:
            return []
        best, cosine = self.nearest(vectors)
        return [
            self.classes[k] if c >= self.threshold else ABSTAIN
            for k, c in zip(best.tolist(), cosine.tolist(), strict=True)
        ]

    def definition(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "threshold": self.threshold,
            "source": list(self.source),
            "anchors": _digest(self.anchors),
        }


class ModelConfidenceFunction(LabelingFunction):
    """Votes a model's top class where its probability reaches ``threshold``.

    Parameters
    ----------
    name : str
    predict_proba : callable
        ``texts -> (n, len(classes))`` probabilities, columns in the order of ``classes``.
    classes : sequence of str
    threshold : float
        The least top probability, in (0, 1], at which the function votes.
    version : str, default ""
        Which model this is (say, a model version): a new model is a new function.
    """

    def __init__(
        self,
        name: str,
        predict_proba: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
        classes: Sequence[str],
        threshold: float,
        *,
        version: str = "",
    ) -> None:
        self.name = _check_name(name, "model confidence function")
        if not 0.0 < threshold <= 1.0:
            raise LabelingFunctionError(
                f"Model confidence function {self.name!r}: threshold is a probability in "
                f"(0, 1]. Got {threshold!r}."
            )
        self.predict_proba = predict_proba
        self.classes = tuple(classes)
        self.threshold = float(threshold)
        self.version = version

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(self.classes)

    def apply(
        self,
        texts: Sequence[str],
        *,
        vectors: NDArray[np.floating[Any]] | None = None,  # noqa: ARG002 - the contract's
    ) -> list[Vote]:
        if not texts:
            return []
        proba = np.asarray(self.predict_proba(list(texts)))
        if proba.shape != (len(texts), len(self.classes)):
            raise LabelingFunctionError(
                f"Model confidence function {self.name!r}: predict_proba returned shape "
                f"{proba.shape}; expected ({len(texts)}, {len(self.classes)})."
            )
        top = proba.argmax(axis=1)
        sure = proba[np.arange(len(texts)), top] >= self.threshold
        return [self.classes[k] if s else ABSTAIN for k, s in zip(top, sure, strict=True)]

    def definition(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "threshold": self.threshold, "version": self.version}


class PythonFunction(LabelingFunction):
    """Any Python function ``text -> label name or None`` (library use only: a server never
    runs code it was sent).

    Parameters
    ----------
    name : str
    function : callable
    labels : sequence of str
        Every label ``function`` may return.
    version : str, default ""
        Change it when the function's code changes, so its votes are computed again.
    """

    def __init__(
        self,
        name: str,
        function: Callable[[str], str | None],
        labels: Sequence[str],
        *,
        version: str = "",
    ) -> None:
        self.name = _check_name(name, "Python labeling function")
        if not labels:
            raise LabelingFunctionError(f"Labeling function {self.name!r} needs its labels.")
        self.function = function
        self._labels = frozenset(labels)
        self.version = version

    @property
    def labels(self) -> frozenset[str]:
        return self._labels

    def apply(
        self,
        texts: Sequence[str],
        *,
        vectors: NDArray[np.floating[Any]] | None = None,  # noqa: ARG002 - the contract's
    ) -> list[Vote]:
        votes: list[Vote] = []
        for i, text in enumerate(texts):
            vote = self.function(text)
            if vote is not None and vote not in self._labels:
                raise LabelingFunctionError(
                    f"Labeling function {self.name!r} voted {vote!r} on text {i}, which is "
                    f"not one of its labels {sorted(self._labels)}."
                )
            votes.append(vote)
        return votes

    def definition(self) -> dict[str, Any]:
        code = getattr(self.function, "__qualname__", repr(self.function))
        return {"function": code, "labels": sorted(self._labels), "version": self.version}
