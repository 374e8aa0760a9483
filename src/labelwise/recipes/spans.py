"""The entity-span recipe: a CRF tagger and a sequence strategy, fit and ranked in memory.

Sentences are :class:`~labelwise.data.spans.TokenizedText` (the project's tokenizer,
:func:`~labelwise.data.spans.tokenize`); labels are character :class:`Span` lists, turned
into IOB2 tags here. Predictions come back as character spans with a confidence, so a
caller never handles token indices.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexLike, RandomStateLike
from labelwise.data.pool import Pool
from labelwise.data.spans import Span, TokenizedText, spans_to_tags, tokenize
from labelwise.evaluation.spans import bootstrap_span_f1, span_scores
from labelwise.learners.crf import BaggedCRF, CRFTagger
from labelwise.strategies.base import QueryStrategy

__all__ = [
    "DEFAULT_SPAN_FEATURES",
    "DEFAULT_SPAN_STRATEGY",
    "ScoredSpan",
    "SpanRanking",
    "combined_uncertainty",
    "entity_counts",
    "margin_uncertainty",
    "predict_char_spans",
    "span_f1_metrics",
    "span_learner",
    "train_and_rank_spans",
    "training_tags",
    "word_cluster_prefix",
]

#: The sequence strategy a span project ranks with unless it names another
#: (``labelwise.strategies.SEQUENCE_STRATEGIES``). Least confidence of the best path beat
#: MNLP on both entity sets, 3 seeds (``benchmarks/results/entity_efficiency.md``): to 99%
#: of full-data span F1 on SNIPS, 16.0% of the pool against 19.3% at the same share of
#: random's tokens (34.0% / 33.7%); to 95% on WNUT17, 19.6% against 29.5% (44.6% / 61.2%
#: of random's tokens). Its lean towards long sentences cost next to nothing in tokens.
DEFAULT_SPAN_STRATEGY = "sequence_lc"
#: Sentences compared by TF-IDF and words clustered by the contexts they occur in; MiniLM
#: word vectors (``minilm``) are an option that needs the ``embeddings`` extra.
DEFAULT_SPAN_FEATURES = "tfidf"
#: Committee members of the bagged CRF that committee strategies need.
COMMITTEE_MEMBERS = 5


@dataclass(frozen=True)
class ScoredSpan:
    """One predicted entity: ``text[start:end]`` typed ``label``.

    ``confidence`` is the tagger's: the smallest marginal, over the span's tokens, of the
    tag the Viterbi path gives that token (see :meth:`CRFTagger.predict_spans`).
    """

    start: int
    end: int
    label: str
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, confidence rounded to 4 places."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class SpanRanking:
    """What :func:`train_and_rank_spans` produced.

    Attributes
    ----------
    learner : CRFTagger or BaggedCRF
        Fitted on the labeled sentences.
    positions : ndarray of shape (n_ranked,)
        Unlabeled sentence positions, most informative first.
    scores : ndarray of shape (n_ranked,)
        The strategy's utility of each.
    spans : list of n_ranked lists of ScoredSpan
        The tagger's entities in each ranked sentence.
    strategy : str
        ``repr`` of the strategy.
    fit_seconds, query_seconds : float
    """

    learner: Any
    positions: NDArray[np.intp]
    scores: NDArray[np.float64]
    spans: list[list[ScoredSpan]]
    strategy: str
    fit_seconds: float
    query_seconds: float


def training_tags(text: str, spans: Iterable[Span]) -> tuple[tuple[str, ...], list[str]]:
    """The tokens of ``text`` and their IOB2 tags for ``spans``.

    The text is tokenized with the span edges as extra boundaries, so a span stays exact
    where two entities touch without a space (``tokenize(boundaries=)``).

    Raises
    ------
    ValueError
        For overlapping spans or spans outside the text, naming the span and the text.
    """
    ordered = sorted(spans)
    tokenized = tokenize(text, boundaries=[edge for s in ordered for edge in (s.start, s.end)])
    return tokenized.tokens, spans_to_tags(tokenized, ordered)


def word_cluster_prefix(n_sentences: int) -> int:
    """How many of the pool's first sentences its word clusters are learned on.

    The largest ``100 * 1.25**k`` that is at most ``n_sentences`` (all of them below 100):
    a growing pool refits its clusters at every 25% of growth rather than on every
    retrain, and the clusters depend only on the pool's sentences, not on when a worker
    last fit them.
    """
    if n_sentences < 100:
        return max(0, int(n_sentences))
    size = 100.0
    while size * 1.25 <= n_sentences:
        size *= 1.25
    return int(size)


def span_learner(
    strategy: QueryStrategy,
    *,
    random_state: RandomStateLike = None,
    tagger: CRFTagger | None = None,
) -> Any:
    """A CRF tagger fit for ``strategy``: a bagged committee when it reads member marginals.

    ``tagger`` (default ``CRFTagger()``) is the tagger, or the committee's member template.
    """
    if getattr(strategy, "learner_capability", None) == "member_marginals":
        return BaggedCRF(tagger, n_members=COMMITTEE_MEMBERS, random_state=random_state)
    return CRFTagger() if tagger is None else tagger


def predict_char_spans(learner: Any, sentences: Sequence[TokenizedText]) -> list[list[ScoredSpan]]:
    """The fitted tagger's entities in each sentence, as character spans with confidence."""
    found = learner.predict_spans([s.tokens for s in sentences])
    return [
        [
            ScoredSpan(sentence.starts[first], sentence.ends[stop - 1], kind, confidence)
            for first, stop, kind, confidence in spans
        ]
        for sentence, spans in zip(sentences, found, strict=True)
    ]


def train_and_rank_spans(
    sentences: Sequence[TokenizedText],
    labeled: IndexLike,
    spans: Sequence[Sequence[Span]],
    unlabeled: IndexLike,
    n: int,
    strategy: QueryStrategy,
    *,
    random_state: RandomStateLike = None,
    word_clusters: Mapping[str, Sequence[str]] | None = None,
) -> SpanRanking:
    """Fit a CRF on the labeled sentences and rank ``n`` of the unlabeled ones.

    Parameters
    ----------
    sentences : sequence of TokenizedText, length (n_pool,)
        Every sentence of the pool, tokenized as served.
    labeled : array-like of int, shape (n_labeled,)
        Positions of the labeled sentences.
    spans : sequence of length (n_labeled,) of sequences of Span
        Their entities (``[]`` = a sentence with none, which teaches ``O`` tags).
    unlabeled : array-like of int, shape (n_unlabeled,)
        Positions that may be ranked.
    n : int
        How many to rank (0 ranks none: only the model is fit).
    strategy : QueryStrategy
        A sequence strategy (``SEQUENCE_STRATEGIES``).
    random_state : int, Generator or None
        Seeds the committee's bootstrap samples and the strategy's tie-breaks.
    word_clusters : mapping of str to sequence of str, optional
        The pool's word clusters (:class:`labelwise.features.WordClusters`), features of
        the CRF.

    Returns
    -------
    SpanRanking
    """
    labeled = np.asarray(labeled, dtype=np.intp).reshape(-1)
    unlabeled = np.asarray(unlabeled, dtype=np.intp).reshape(-1)
    if len(spans) != labeled.size:
        raise ValueError(f"Got {labeled.size} labeled positions but {len(spans)} span lists.")
    rows = [training_tags(sentences[int(p)].text, s) for p, s in zip(labeled, spans, strict=True)]
    tagger = None if word_clusters is None else CRFTagger(word_clusters=word_clusters)
    learner = span_learner(strategy, random_state=random_state, tagger=tagger)
    t0 = time.perf_counter()
    learner.fit([tokens for tokens, _ in rows], [tags for _, tags in rows])
    fit_seconds = time.perf_counter() - t0
    n = min(int(n), unlabeled.size)
    t0 = time.perf_counter()
    positions, scores = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float64)
    if n > 0:
        # No feature rows: sequence strategies read the token lists only.
        pool = Pool(
            np.zeros((len(sentences), 0), dtype=np.float32),
            sequences=[s.tokens for s in sentences],
        )
        query = strategy.query(learner, pool, labeled, unlabeled, n, random_state=random_state)
        positions = np.asarray(query.indices, dtype=np.intp)
        scores = np.asarray(query.scores, dtype=np.float64)
    query_seconds = time.perf_counter() - t0
    return SpanRanking(
        learner=learner,
        positions=positions,
        scores=scores,
        spans=predict_char_spans(learner, [sentences[int(p)] for p in positions]),
        strategy=repr(strategy),
        fit_seconds=fit_seconds,
        query_seconds=query_seconds,
    )


def span_f1_metrics(
    learner: Any,
    sentences: Sequence[TokenizedText],
    references: Sequence[Sequence[Span]],
    prefix: str,
    *,
    n_boot: int = 1000,
    random_state: RandomStateLike = None,
) -> dict[str, Any]:
    """Strict span F1 of the tagger on held-out sentences, with a bootstrap 95% interval.

    Returns
    -------
    dict
        ``{prefix}_span_f1``, ``{prefix}_span_f1_ci95`` (``[low, high]``, sentences
        resampled; None when no resample had a span), ``{prefix}_span_precision``,
        ``{prefix}_span_recall`` and ``{prefix}_n`` (sentences); empty when there are none.
    """
    if len(sentences) == 0:
        return {}
    predicted = [
        [Span(s.start, s.end, s.label) for s in found]
        for found in predict_char_spans(learner, sentences)
    ]
    truth = [list(r) for r in references]
    boot = bootstrap_span_f1(truth, predicted, n_boot=n_boot, random_state=random_state)
    overall = boot.overall
    interval = None if math.isnan(overall.low) else [float(overall.low), float(overall.high)]
    point = span_scores(truth, predicted)
    return {
        f"{prefix}_span_f1": float(overall.f1),
        f"{prefix}_span_f1_ci95": interval,
        f"{prefix}_span_precision": float(point.precision),
        f"{prefix}_span_recall": float(point.recall),
        f"{prefix}_n": len(sentences),
    }


def entity_counts(spans: Iterable[Iterable[Any]]) -> dict[str, int]:
    """Entities per type over sentences (anything with ``.label`` or a ``"label"`` key),
    most frequent first, ties by name."""
    counts: Counter[str] = Counter()
    for sentence in spans:
        counts.update(str(s["label"] if isinstance(s, dict) else s.label) for s in sentence)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def margin_uncertainty(proba: Any) -> NDArray[np.float64]:
    """``1 - (p_(1) - p_(2))`` per row, in [0, 1]: 1 when the two best classes tie.

    Parameters
    ----------
    proba : array-like of shape (n_items, n_classes)
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"proba must be 2-D (n_items, n_classes); got shape {p.shape}.")
    if p.shape[1] < 2:
        return 1.0 - p[:, 0] if p.shape[1] else np.ones(p.shape[0])
    top = -np.partition(-p, 1, axis=1)[:, :2]
    return np.clip(1.0 - (top[:, 0] - top[:, 1]), 0.0, 1.0)


def combined_uncertainty(proba: Any, path_proba: Any) -> NDArray[np.float64]:
    """How unsure an intents-and-entities model is of each item, in [0, 1].

    The mean of the intent classifier's margin uncertainty (:func:`margin_uncertainty`)
    and the tagger's ``1 - P(best path)``: both are in [0, 1] and read "how likely the
    model's one answer is wrong", so neither part drowns the other.

    Parameters
    ----------
    proba : array-like of shape (n_items, n_intents)
    path_proba : array-like of shape (n_items,)

    Examples
    --------
    >>> combined_uncertainty([[0.5, 0.5], [1.0, 0.0]], [1.0, 0.5]).tolist()
    [0.5, 0.25]
    """
    path = np.asarray(path_proba, dtype=np.float64).reshape(-1)
    margin = margin_uncertainty(proba)
    if margin.shape != path.shape:
        raise ValueError(
            f"Got {margin.shape[0]} intent rows but {path.shape[0]} path probabilities."
        )
    return 0.5 * (margin + np.clip(1.0 - path, 0.0, 1.0))
