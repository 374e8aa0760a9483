"""Retraining for span projects: a CRF tagger (and, for intents+entities, the intent model).

The worker (``service.training``) takes the snapshot and publishes; this module turns a
snapshot of ``spans`` or ``intents_entities`` labels into an :class:`Outcome` with the
library recipe (:mod:`labelwise.recipes.spans`), touching no database.

Queue score of an ``intents_entities`` project: the mean of the intent classifier's margin
uncertainty ``1 - (p1 - p2)`` and the tagger's ``1 - P(best path)``, both in [0, 1]. The
candidates scored are the union of the classifier strategy's top ``queue_size`` (the
project's ``strategy``, so a diversity strategy still shapes the queue) and the tagger's
top ``queue_size`` by ``1 - P(best path)``; the best ``queue_size`` of them by the
combined score form the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.data import Pool
from labelwise.data.spans import Span, TokenizedText, tag_segments, tokenize
from labelwise.features import WordClusters
from labelwise.features.word_clusters import WordVectors
from labelwise.recipes import (
    DEFAULT_SPAN_STRATEGY,
    ScoredSpan,
    combined_uncertainty,
    entity_counts,
    predict_char_spans,
    span_f1_metrics,
    train_and_rank_spans,
    word_cluster_prefix,
)
from labelwise.service.snapshot import Outcome, Snapshot
from labelwise.strategies import SEQUENCE_STRATEGIES, SequenceLeastConfidence
from labelwise.tasks import SingleLabel
from labelwise.tasks.spans import spans_of

#: Task kinds this module trains.
SPAN_TASKS = frozenset({"spans", "intents_entities"})
#: Unlabeled sentences the tagger tags to count predicted entities per type for the
#: dashboard: a fixed-size random sample, since tagging the whole pool costs a pass.
PREDICTED_SAMPLE = 2000
#: Intents stored per queued item, best first (as classification suggestions).
SUGGESTIONS = 9

#: Runs the intent classifier on a classification view of the snapshot; returns its
#: outcome and the feature pool it ranked.
Classify = Callable[[Snapshot], tuple[Outcome, Pool]]


def is_span_task(snapshot: Snapshot) -> bool:
    return snapshot.task.kind in SPAN_TASKS


def span_strategy(snapshot: Snapshot) -> str:
    """The spans project's sequence strategy; MNLP when its settings name none (older
    projects stored a classification default)."""
    name = snapshot.settings.strategy
    return name if name in SEQUENCE_STRATEGIES else DEFAULT_SPAN_STRATEGY


def too_few_span_labels(snapshot: Snapshot) -> str | None:
    """Why the snapshot cannot train its models, in plain words; None when it can.

    A tagger needs ``min_labels`` labeled sentences with at least one entity among them
    (all-``O`` sentences teach it nothing to find); an intents+entities project's intent
    classifier also needs two intents.
    """
    need = snapshot.settings.min_labels
    n_sentences = len(snapshot.positions)
    n_spans = sum(len(spans_of(v)) for v in snapshot.values)
    intents = snapshot.task.kind == "intents_entities"
    n_intents = len({str(v.get("intent")) for v in snapshot.values}) if intents else 2
    if n_sentences >= need and n_spans > 0 and n_intents >= 2:
        return None
    entities = "entity" if n_spans == 1 else "entities"
    have = f"{n_sentences} labeled sentences with {n_spans} {entities}"
    want = f"at least {need} labeled sentences and one entity"
    if intents:
        have += f" in {n_intents} intent{'' if n_intents == 1 else 's'}"
        want += " and 2 intents"
    return (
        f"Skipped: {have} so far; a model needs {want} (audit, evaluation and undone "
        "labels don't count)."
    )


@dataclass
class SentenceCache:
    """One project's pool tokenized once, grown as items are imported (positions are dense),
    and the word clusters the tagger reads, learned on it."""

    sentences: list[TokenizedText] = field(default_factory=list)
    #: The clusters, and the (pool prefix, word-vector kind) they were learned on.
    clusters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    clustered_on: tuple[int, str] = (0, "")

    def extend(self, texts: Sequence[str]) -> list[TokenizedText]:
        self.sentences.extend(tokenize(text) for text in texts)
        return self.sentences

    def word_clusters(
        self, word_vectors: WordVectors | None = None, kind: str = "context"
    ) -> Mapping[str, Sequence[str]]:
        """The pool's word clusters (``kind`` names ``word_vectors``), learned again only
        when the pool has grown past the next :func:`word_cluster_prefix` step."""
        key = (word_cluster_prefix(len(self.sentences)), kind)
        if key != self.clustered_on:
            fitted = WordClusters(word_vectors=word_vectors, random_state=0)
            self.clusters = fitted.fit(self.sentences[: key[0]]).clusters_
            self.clustered_on = key
        return self.clusters


def suggestion(spans: list[ScoredSpan], intents: list[list[Any]] | None = None) -> dict[str, Any]:
    """One queued item's suggestions in the contract's shape (focus: least confident span)."""
    focus = min(spans, key=lambda s: (s.confidence, s.start)) if spans else None
    return {
        "intents": intents or [],
        "spans": [s.as_dict() for s in spans],
        "focus": None if focus is None else focus.as_dict(),
    }


def train_and_rank(
    snapshot: Snapshot,
    sentences: Sequence[TokenizedText],
    *,
    classify: Classify | None = None,
    word_clusters: Mapping[str, Sequence[str]] | None = None,
) -> Outcome:
    """Fit the project's models on the snapshot and rank its unlabeled pool (no database).

    Parameters
    ----------
    snapshot : Snapshot
        Of a ``spans`` or ``intents_entities`` project, with enough labels
        (:func:`too_few_span_labels`).
    sentences : sequence of TokenizedText
        Every pool item, by position.
    classify : callable, optional
        Required for ``intents_entities``: trains and ranks the intent classifier.
    word_clusters : mapping of str to sequence of str, optional
        The pool's word clusters (:meth:`SentenceCache.word_clusters`), CRF features.
    """
    settings, project_id = snapshot.settings, snapshot.project_id
    reference = [spans_of(v) for v in snapshot.values]
    ignored = np.concatenate([snapshot.positions, snapshot.audit, snapshot.excluded])
    unlabeled = np.setdiff1d(np.arange(len(sentences), dtype=np.intp), ignored)
    n = min(settings.queue_size, unlabeled.size)
    intents = snapshot.task.kind == "intents_entities"
    strategy = (
        SequenceLeastConfidence() if intents else SEQUENCE_STRATEGIES[span_strategy(snapshot)]()
    )
    ranking = train_and_rank_spans(
        sentences,
        snapshot.positions,
        reference,
        unlabeled,
        n,
        strategy,
        random_state=project_id,
        word_clusters=word_clusters,
    )
    tagger = ranking.learner
    metrics: dict[str, Any] = {
        "labeled_items": int(len(snapshot.positions)),
        "labeled_sentences": int(len(snapshot.positions)),
        "labeled_tokens": int(sum(len(sentences[int(p)]) for p in snapshot.positions)),
        "labeled_entities": entity_counts(reference),
        "fit_seconds": round(ranking.fit_seconds, 4),
        "query_seconds": round(ranking.query_seconds, 4),
        "pool_size": len(sentences),
    }
    metrics.update(_held_out(tagger, sentences, snapshot, "eval"))
    metrics.update(_held_out(tagger, sentences, snapshot, "audit"))
    metrics.update(_predicted_entities(tagger, sentences, unlabeled, project_id))
    if not intents:
        return Outcome(
            positions=ranking.positions,
            scores=ranking.scores,
            suggestions=[suggestion(spans) for spans in ranking.spans],
            strategy=ranking.strategy,
            metrics=metrics,
            tagger=tagger,
        )
    if classify is None:
        raise ValueError("An intents_entities retrain needs the intent classifier (classify=).")
    return _combine(
        snapshot, sentences, ranking.positions, ranking.strategy, tagger, metrics, n, classify
    )


def _intent_view(snapshot: Snapshot) -> Snapshot:
    """The snapshot as a single-label task over the intents, for the intent classifier."""

    def intent(value: Any) -> Any:
        return None if value is None else value.get("intent")

    return replace(
        snapshot,
        task=SingleLabel(snapshot.task.labels),
        values=[intent(v) for v in snapshot.values],
        audit_values=[intent(v) for v in snapshot.audit_values],
        evaluation_values=[intent(v) for v in snapshot.evaluation_values],
    )


def _combine(
    snapshot: Snapshot,
    sentences: Sequence[TokenizedText],
    tagger_top: NDArray[np.intp],
    tagger_strategy: str,
    tagger: Any,
    metrics: dict[str, Any],
    n: int,
    classify: Classify,
) -> Outcome:
    classifier, pool = classify(_intent_view(snapshot))
    if classifier.skipped is not None:
        return classifier
    t0 = time.perf_counter()
    candidates = np.union1d(classifier.positions, tagger_top).astype(np.intp)
    proba = np.zeros((0, len(snapshot.labels)))
    path = np.zeros(0)
    if candidates.size:
        proba = np.asarray(classifier.model.predict_proba(pool.rows(candidates)), dtype=np.float64)
        path = tagger.best_path_proba([sentences[int(p)].tokens for p in candidates])
    score = combined_uncertainty(proba, path)
    order = np.argsort(-score, kind="stable")[:n]
    positions, chosen = candidates[order], proba[order]
    spans = predict_char_spans(tagger, [sentences[int(p)] for p in positions])
    classes = list(snapshot.labels)
    top = np.argsort(-chosen, axis=1, kind="stable")[:, :SUGGESTIONS]
    suggestions = [
        suggestion(found, [[classes[j], round(float(chosen[i, j]), 4)] for j in row])
        for i, (row, found) in enumerate(zip(top, spans, strict=True))
    ]
    merged = {**classifier.metrics, **metrics}
    merged["query_seconds"] = round(
        metrics["query_seconds"]
        + classifier.metrics.get("query_seconds", 0.0)
        + time.perf_counter()
        - t0,
        4,
    )
    merged["fit_seconds"] = round(metrics["fit_seconds"] + classifier.metrics["fit_seconds"], 4)
    return Outcome(
        positions=positions,
        scores=score[order],
        suggestions=suggestions,
        strategy=(
            f"{classifier.strategy} + {tagger_strategy}: "
            "mean of 1 - intent margin and 1 - P(best path)"
        ),
        metrics=merged,
        model=classifier.model,
        tagger=tagger,
    )


def _held_out(
    tagger: Any, sentences: Sequence[TokenizedText], snapshot: Snapshot, prefix: str
) -> dict[str, Any]:
    """Span F1 with a bootstrap 95% interval on the evaluation set or the audit sample."""
    if prefix == "eval":
        positions, values = snapshot.evaluation, snapshot.evaluation_values
    else:
        positions, values = snapshot.audit, snapshot.audit_values
    # Evaluation items imported without a reference label cannot be scored.
    kept = [(int(p), v) for p, v in zip(positions, values, strict=True) if v is not None]
    if not kept:
        return {}
    return span_f1_metrics(
        tagger,
        [sentences[p] for p, _ in kept],
        [spans_of(v) for _, v in kept],
        prefix,
        random_state=snapshot.project_id,
    )


def _predicted_entities(
    tagger: Any, sentences: Sequence[TokenizedText], unlabeled: NDArray[np.intp], seed: int
) -> dict[str, Any]:
    """Predicted entities per type over a fixed-size random sample of the unlabeled pool."""
    rng = np.random.default_rng([seed, 11])
    take = np.sort(rng.choice(unlabeled, size=min(PREDICTED_SAMPLE, unlabeled.size), replace=False))
    counts = entity_counts(
        [Span(s, e, kind) for s, e, kind in tag_segments(tags)]
        for tags in tagger.predict([sentences[int(p)].tokens for p in take])
    )
    return {"pool_predicted_entities": counts, "pool_predicted_sample": int(take.size)}
