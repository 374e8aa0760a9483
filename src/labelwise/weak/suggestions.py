"""Candidate labeling functions mined from the labeled items, for a person to accept or reject.

Three kinds, each a declarative spec (:mod:`labelwise.weak.specs`) with the evidence for it:

- keywords: word n-grams that occur in several labeled items of one label and few of the
  others (:func:`suggest_keywords`);
- exemplars: the most central labeled item of a label, with the least cosine at which
  the label's labeled items still pass and the others mostly do not
  (:func:`suggest_exemplars`);
- label names: a label's own words as a zero-shot anchor (:func:`suggest_label_names`).

Precision is measured on the labeled items (gold) with a Wilson interval, coverage on the
whole pool. Pass gold from the random audit sample where there is one: actively chosen
items are the hard ones and understate every rule.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.evaluation.intervals import wilson_interval
from labelwise.weak.functions import KeywordFunction, LabelingFunction, SimilarityFunction
from labelwise.weak.specs import label_name_text

__all__ = ["Suggestion", "suggest_exemplars", "suggest_keywords", "suggest_label_names"]

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Suggestion:
    """A candidate labeling function and what speaks for it.

    Attributes
    ----------
    spec : dict
        The function as a declarative spec (``name``, ``kind``, ``label`` ...).
    label : str
    gold_votes : int
        Labeled items it fires on.
    correct : int
        Of those, items of its label.
    precision : float
        ``correct / gold_votes``.
    precision_low, precision_high : float
        The 95% Wilson interval.
    coverage : float
        Share of the pool it fires on.
    """

    spec: dict[str, Any]
    label: str
    gold_votes: int
    correct: int
    precision: float
    precision_low: float
    precision_high: float
    coverage: float


def _evidence(
    spec: dict[str, Any], fired_gold: Sequence[str], label: str, coverage: float
) -> Suggestion:
    correct = sum(g == label for g in fired_gold)
    low, high = wilson_interval(correct, len(fired_gold))
    return Suggestion(
        spec=spec,
        label=label,
        gold_votes=len(fired_gold),
        correct=correct,
        precision=correct / len(fired_gold) if fired_gold else 0.0,
        precision_low=low,
        precision_high=high,
        coverage=coverage,
    )


def _grams(text: str, max_n: int) -> set[str]:
    words = _WORD.findall(text.lower())
    return {
        " ".join(words[i : i + n]) for n in range(1, max_n + 1) for i in range(len(words) - n + 1)
    }


def _taken(existing: Sequence[LabelingFunction]) -> tuple[set[str], set[tuple[str, str]]]:
    names = {lf.name for lf in existing}
    keywords = {
        (lf.label, k.lower())
        for lf in existing
        if isinstance(lf, KeywordFunction)
        for k in lf.keywords
    }
    return names, keywords


def suggest_keywords(
    texts: Sequence[str],
    gold: Mapping[int, str],
    *,
    max_words: int = 2,
    min_support: int = 3,
    min_precision: float = 0.8,
    per_label: int = 3,
    existing: Sequence[LabelingFunction] = (),
) -> list[Suggestion]:
    """Keyword functions: n-grams frequent in one label's labeled items, rare in others'.

    Parameters
    ----------
    texts : sequence of str
        The whole pool (coverage is measured on it).
    gold : mapping of position → label name
    max_words : int, default 2
        Longest n-gram.
    min_support : int, default 3
        Labeled items of the label an n-gram must occur in.
    min_precision : float, default 0.8
        The least share of the labeled items it occurs in that carry the label.
    per_label : int, default 3
        Suggestions kept per label, best lower precision bound first; an n-gram that
        contains a kept one of the same label is left out (it adds little).
    existing : sequence of LabelingFunction
        Functions the project has: their keywords and names are not suggested again.

    Returns
    -------
    list of Suggestion, by label then rank
    """
    names, known = _taken(existing)
    occurs: dict[str, list[str]] = defaultdict(list)
    for position, label in gold.items():
        for gram in _grams(texts[position], max_words):
            occurs[gram].append(label)
    by_label: dict[str, list[tuple[float, int, str, list[str]]]] = defaultdict(list)
    for gram, labels in occurs.items():
        label, support = Counter(labels).most_common(1)[0]
        if support < min_support or support / len(labels) < min_precision:
            continue
        if (label, gram) in known:
            continue
        low, _ = wilson_interval(support, len(labels))
        by_label[label].append((-low, -support, gram, labels))
    suggestions: list[Suggestion] = []
    for label in sorted(by_label):
        kept: list[str] = []
        for _, _, gram, labels in sorted(by_label[label]):
            if len(kept) == per_label:
                break
            if any(f" {k} " in f" {gram} " for k in kept):
                continue
            name = f"kw_{label}_{gram.replace(' ', '_')}"
            if name in names:
                continue
            lf = KeywordFunction(name, label, [gram])
            coverage = sum(v is not None for v in lf.apply(texts)) / max(len(texts), 1)
            spec = {"name": name, "kind": "keyword", "label": label, "keywords": [gram]}
            suggestions.append(_evidence(spec, labels, label, coverage))
            kept.append(gram)
    return suggestions


def _threshold_for(
    similarity: NDArray[np.floating[Any]], is_label: NDArray[np.bool_], min_precision: float
) -> float | None:
    """The lowest cosine at which the items at or above it are ``min_precision`` of the
    label, or None when no cosine reaches it."""
    order = np.argsort(-similarity, kind="stable")
    hits = np.cumsum(is_label[order])
    precision = hits / np.arange(1, order.size + 1)
    ok = np.flatnonzero((precision >= min_precision) & is_label[order])
    if ok.size == 0:
        return None
    return float(similarity[order][ok[-1]])


def _similarity_suggestion(
    spec: dict[str, Any],
    anchors: NDArray[np.floating[Any]],
    vectors: NDArray[np.floating[Any]],
    gold_positions: NDArray[np.intp],
    gold_labels: NDArray[Any],
    label: str,
    min_precision: float,
    leave_out: NDArray[np.intp],
) -> Suggestion | None:
    similarity = (vectors @ anchors.T).max(axis=1)
    judged = np.setdiff1d(gold_positions, leave_out)
    labels_of = dict(zip(gold_positions.tolist(), gold_labels.tolist(), strict=True))
    judged_labels = np.array([labels_of[p] for p in judged.tolist()])
    threshold = _threshold_for(similarity[judged], judged_labels == label, min_precision)
    if threshold is None:
        return None
    spec = {**spec, "threshold": round(threshold, 4)}
    fired = judged[similarity[judged] >= spec["threshold"]]
    coverage = float((similarity >= spec["threshold"]).mean())
    return _evidence(spec, [labels_of[p] for p in fired.tolist()], label, coverage)


def _gold_arrays(gold: Mapping[int, str]) -> tuple[NDArray[np.intp], NDArray[Any]]:
    positions = np.array(sorted(gold), dtype=np.intp)
    return positions, np.array([gold[p] for p in positions.tolist()], dtype=object)


def suggest_exemplars(
    texts: Sequence[str],
    vectors: NDArray[np.floating[Any]],
    gold: Mapping[int, str],
    *,
    min_support: int = 3,
    min_precision: float = 0.8,
    existing: Sequence[LabelingFunction] = (),
) -> list[Suggestion]:
    """One exemplar function per label: its most central labeled item as the anchor.

    The threshold is the lowest cosine to the exemplar at which the labeled items (the
    exemplar itself left out) are still ``min_precision`` of the label.

    Parameters
    ----------
    texts : sequence of str
    vectors : ndarray of shape (len(texts), d)
        Unit-length embeddings of the pool.
    gold : mapping of position → label name
    min_support : int, default 3
        Labeled items a label needs before it gets an exemplar.
    min_precision : float, default 0.8
    existing : sequence of LabelingFunction
    """
    names, _ = _taken(existing)
    vectors = np.asarray(vectors, dtype=np.float64)
    positions, labels = _gold_arrays(gold)
    out = []
    for label in sorted(set(labels.tolist())):
        members = positions[labels == label]
        name = f"ex_{label}"
        if members.size < min_support or name in names:
            continue
        centre = vectors[members].mean(axis=0)
        medoid = int(members[np.argmax(vectors[members] @ centre)])
        spec = {"name": name, "kind": "exemplar", "label": label, "exemplars": [texts[medoid]]}
        found = _similarity_suggestion(
            spec,
            vectors[[medoid]],
            vectors,
            positions,
            labels,
            label,
            min_precision,
            np.array([medoid]),
        )
        if found is not None:
            out.append(found)
    return out


def suggest_label_names(
    classes: Sequence[str],
    vectors: NDArray[np.floating[Any]],
    gold: Mapping[int, str],
    *,
    embed: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
    min_precision: float = 0.8,
    existing: Sequence[LabelingFunction] = (),
) -> list[Suggestion]:
    """One zero-shot function per label whose name's words work as an anchor: the lowest
    cosine at which the labeled items are still ``min_precision`` of the label.

    Parameters
    ----------
    classes : sequence of str
    vectors : ndarray of shape (n_items, d)
        Unit-length embeddings of the pool.
    gold : mapping of position → label name
    embed : callable
        Texts → unit-length vectors (the same model as ``vectors``).
    min_precision : float, default 0.8
    existing : sequence of LabelingFunction
    """
    names, _ = _taken(existing)
    anchors = np.asarray(embed([label_name_text(c) for c in classes]), dtype=np.float64)
    vectors = np.asarray(vectors, dtype=np.float64)
    positions, labels = _gold_arrays(gold)
    out = []
    for label, anchor in zip(classes, anchors, strict=True):
        name = f"zs_{label}"
        if name in names or any(
            isinstance(lf, SimilarityFunction) and lf.source == (label_name_text(label),)
            for lf in existing
        ):
            continue
        spec = {"name": name, "kind": "label_name", "label": label}
        found = _similarity_suggestion(
            spec,
            anchor[None, :],
            vectors,
            positions,
            labels,
            label,
            min_precision,
            np.zeros(0, dtype=np.intp),
        )
        if found is not None:
            out.append(found)
    return out
