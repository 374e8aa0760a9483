"""Candidate labeling functions mined from the labeled items, for a person to accept or reject.

Three kinds, each a declarative spec (:mod:`labelwise.weak.specs`) with the evidence for it:

- keywords: word n-grams that occur in several labeled items of one label and few of the
  others (:func:`suggest_keywords`);
- exemplars: the most central labeled item of a label, with the least cosine at which
  the label's labeled items still pass and the others mostly do not
  (:func:`suggest_exemplars`);
- label names: a label's own words as a zero-shot anchor (:func:`suggest_label_names`);
- the zero-shot model: every label's name at once, the nearest voting
  (:func:`suggest_zero_shot`), one rule to accept instead of one per label.

Precision is measured on the labeled items (gold) with a Wilson interval, coverage on the
whole pool. Pass gold from the random audit sample where there is one: actively chosen
items are the hard ones and understate every rule.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.evaluation.intervals import wilson_interval
from labelwise.weak.functions import (
    KeywordFunction,
    LabelingFunction,
    SimilarityFunction,
    ZeroShotFunction,
)
from labelwise.weak.specs import label_name_text

__all__ = [
    "ALL_LABELS",
    "Suggestion",
    "suggest_exemplars",
    "suggest_keywords",
    "suggest_label_names",
    "suggest_zero_shot",
]

_WORD = re.compile(r"\w+")
#: The ``label`` of a suggestion that votes over every label (a zero-shot function).
ALL_LABELS = "*"
#: Labeled items a zero-shot threshold is measured on before it is trusted.
_MIN_JUDGED_ZERO_SHOT = 30


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
    spec = {**spec, "threshold": _round_down(threshold)}
    fired = judged[similarity[judged] >= spec["threshold"]]
    coverage = float((similarity >= spec["threshold"]).mean())
    return _evidence(spec, [labels_of[p] for p in fired.tolist()], label, coverage)


def _round_down(threshold: float) -> float:
    """Four decimals for the spec, never above the cosine that was measured: rounding up
    would drop the items exactly at the threshold."""
    return math.floor(threshold * 1e4) / 1e4


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
    unseen_coverage: float | None = None,
    existing: Sequence[LabelingFunction] = (),
) -> list[Suggestion]:
    """One zero-shot function per label whose name's words work as an anchor: the lowest
    cosine at which the labeled items are still ``min_precision`` of the label.

    A label no labeled item carries yet has nothing to measure a threshold against; with
    ``unseen_coverage`` it still gets a function, firing on that share of the pool (the
    items nearest its name), so a cold start with 150 intents can begin from their names.

    Parameters
    ----------
    classes : sequence of str
    vectors : ndarray of shape (n_items, d)
        Unit-length embeddings of the pool.
    gold : mapping of position → label name
    embed : callable
        Texts → unit-length vectors (the same model as ``vectors``).
    min_precision : float, default 0.8
    unseen_coverage : float in (0, 1), optional
        Share of the pool a function for a label without labeled items fires on; None
        (the default) suggests none for such labels. ``0.5 / len(classes)`` is half of
        what a label of uniform size would cover.
    existing : sequence of LabelingFunction

    Returns
    -------
    list of Suggestion
        The gold-free ones have ``gold_votes`` 0 and precision 0 (not measured).
    """
    if unseen_coverage is not None and not 0.0 < unseen_coverage < 1.0:
        raise ValueError(f"unseen_coverage must be in (0, 1). Got {unseen_coverage!r}.")
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
        spec: dict[str, Any] = {"name": name, "kind": "label_name", "label": label}
        if unseen_coverage is not None and not np.any(labels == label):
            similarity = vectors @ anchor
            threshold = _round_down(float(np.quantile(similarity, 1.0 - unseen_coverage)))
            spec["threshold"] = threshold
            fired = positions[similarity[positions] >= threshold]
            coverage = float((similarity >= threshold).mean())
            out.append(_evidence(spec, [gold[p] for p in fired.tolist()], label, coverage))
            continue
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


def suggest_zero_shot(
    classes: Sequence[str],
    vectors: NDArray[np.floating[Any]],
    gold: Mapping[int, str],
    *,
    embed: Callable[[Sequence[str]], NDArray[np.floating[Any]]],
    min_precision: float = 0.7,
    unmeasured_coverage: float = 0.3,
    existing: Sequence[LabelingFunction] = (),
) -> list[Suggestion]:
    """The zero-shot model as one function: every label's name embedded, the nearest votes.

    The threshold is the lowest cosine to the nearest name at which the labeled items are
    still ``min_precision`` right; with fewer than 30 labeled items to judge by (or none
    reaching it) it is the cosine at which the function fires on ``unmeasured_coverage``
    of the pool.

    Parameters
    ----------
    classes : sequence of str
    vectors : ndarray of shape (n_items, d)
        Unit-length embeddings of the pool.
    gold : mapping of position → label name
    embed : callable
        Texts → unit-length vectors (the same model as ``vectors``).
    min_precision : float, default 0.7
    unmeasured_coverage : float in (0, 1], default 0.3
    existing : sequence of LabelingFunction
        A zero-shot function among them: nothing is suggested.

    Returns
    -------
    list of Suggestion
        None or one, its ``label`` :data:`ALL_LABELS`.
    """
    if not 0.0 < unmeasured_coverage <= 1.0:
        raise ValueError(f"unmeasured_coverage must be in (0, 1]. Got {unmeasured_coverage!r}.")
    if any(isinstance(lf, ZeroShotFunction) for lf in existing) or len(classes) < 2:
        return []
    texts = [label_name_text(c) for c in classes]
    function = ZeroShotFunction.from_names("zero_shot", classes, 0.0, texts=texts, embed=embed)
    best, cosine = function.nearest(np.asarray(vectors, dtype=np.float64))
    positions, labels = _gold_arrays(gold)
    known = np.isin(labels, list(classes)) if positions.size else np.zeros(0, dtype=bool)
    positions, labels = positions[known], labels[known]
    right = np.array([classes[k] for k in best[positions].tolist()], dtype=object) == labels
    threshold = None
    if positions.size >= _MIN_JUDGED_ZERO_SHOT:
        threshold = _threshold_for(cosine[positions], right, min_precision)
    if threshold is None:
        threshold = float(np.quantile(cosine, 1.0 - unmeasured_coverage))
    threshold = _round_down(threshold)
    fired = cosine[positions] >= threshold
    correct = int(right[fired].sum())
    low, high = wilson_interval(correct, int(fired.sum()))
    spec = {
        "name": "zero_shot",
        "kind": "zero_shot",
        "labels": list(classes),
        "threshold": threshold,
    }
    return [
        Suggestion(
            spec=spec,
            label=ALL_LABELS,
            gold_votes=int(fired.sum()),
            correct=correct,
            precision=correct / int(fired.sum()) if fired.any() else 0.0,
            precision_low=low,
            precision_high=high,
            coverage=float((cosine >= threshold).mean()),
        )
    ]
