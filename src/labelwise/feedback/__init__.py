"""User feedback triage: which report of "the bot got this wrong" to review first.

A report is worth reviewing when it is probably true (the production model really was
wrong) and when fixing it teaches the model something that matters (many similar
messages, a model still unsure there). :func:`rank_reports` orders reports by that
expected impact; :class:`ChannelReliability` learns, per reporting channel, how often its
reports turn out true; :func:`margin_order` and :func:`fifo_order` are the baselines the
simulation compares against. Everything is index-based and deterministic.
"""

from labelwise.feedback.triage import (
    DENSITY_POWER,
    DISCOUNT,
    PRIOR,
    ChannelReliability,
    ReportRanking,
    diversify,
    fifo_order,
    margin_order,
    neighbour_counts,
    production_label_evidence,
    rank_reports,
    report_truth_probability,
    same_confusion,
    triage,
)

__all__ = [
    "DENSITY_POWER",
    "DISCOUNT",
    "PRIOR",
    "ChannelReliability",
    "ReportRanking",
    "diversify",
    "fifo_order",
    "margin_order",
    "neighbour_counts",
    "production_label_evidence",
    "rank_reports",
    "report_truth_probability",
    "same_confusion",
    "triage",
]
