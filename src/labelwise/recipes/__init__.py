"""Recipes: learner + strategy built from a short spec, then fit and ranked, with no database.

The retrain worker calls these (and, later, ``simulate``), so what a server project trains
is what a simulation measures. :mod:`labelwise.recipes.spans` covers entity spans.
"""

from labelwise.recipes.spans import (
    DEFAULT_SPAN_FEATURES,
    DEFAULT_SPAN_STRATEGY,
    ScoredSpan,
    SpanRanking,
    combined_uncertainty,
    entity_counts,
    margin_uncertainty,
    predict_char_spans,
    span_f1_metrics,
    span_learner,
    train_and_rank_spans,
    training_tags,
    word_cluster_prefix,
)

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
