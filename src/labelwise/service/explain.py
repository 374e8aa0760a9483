"""Why an item was served, in words a labeler understands.

The lease stores the strategy's ``repr`` (``MarginSampling(chunk_size=16384)``) and a raw
acquisition score, which mean nothing to an annotator. :func:`why_this_item` turns them,
with the model's suggestions, into one sentence; every page and client shows that one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: What a lease records as its ``strategy`` when no model ranked the item.
AUDIT = "random audit sample"
RANDOM_NO_MODEL = "random (no model yet)"
RANDOM_QUEUE_EMPTY = "random (queue used up; a retrain is queued)"
#: What a lease records when it serves a suspected label error for a second opinion.
RELABEL = "relabel suspect"
#: What a lease (and the annotation it leads to) records when it serves a reported message.
FEEDBACK = "feedback"
#: What a lease records when it serves a member of an open new-intent cluster.
CLUSTER = "new-intent cluster"
STREAM = "stream budget (uncertainty x traffic x novelty)"

STREAM_WHY = (
    "Admitted from production traffic by the label budget: the model is unsure of it, "
    "users send it often, and nothing like it is labeled yet."
)
AUDIT_WHY = "A random check of the model's accuracy (not chosen by the model)."
NO_MODEL_WHY = "Picked at random: there is no model yet to choose items."
QUEUE_EMPTY_WHY = (
    "Picked at random: the model's list of useful items is used up; a retrain is on its way."
)

# What each strategy looks for, by family. Wrappers (``Subsampled(MarginSampling(...))``)
# name the strategy inside them, so the first known name in the repr decides.
_MARGIN = {"MarginSampling", "ClusterMargin"}
_UNSURE = {"LeastConfidence", "EntropySampling"}
_COMMITTEE = {"VoteEntropy", "ConsensusEntropy", "KLMaxDisagreement", "BALD"}
_PLAIN = {
    "CoreSet": "It is unlike the items labeled so far, so it covers new ground.",
    "BADGE": "The model is unsure about it, and it differs from the other items picked.",
    "InformationDensity": "The model is unsure about it, and many other items resemble it.",
    "ExpectedGradientLength": "Its label should change the model more than most.",
    "ExpectedErrorReduction": "Its label should reduce the model's mistakes more than most.",
    "RandomSampling": "Picked at random (this project's strategy is random sampling).",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _percent(probability: float) -> str:
    return f"{probability:.0%}"


def _family(strategy: str) -> str | None:
    name: str
    for name in _NAME.findall(strategy):
        if name in _MARGIN or name in _UNSURE or name in _COMMITTEE or name in _PLAIN:
            return name
    return None


def why_this_item(
    strategy: str,
    suggestions: Sequence[tuple[str, float]],
    *,
    is_audit: bool = False,
    per_class_proba: bool = False,
    focus: Mapping[str, Any] | None = None,
    text: str | None = None,
) -> str:
    """One sentence saying why an item was served.

    Parameters
    ----------
    strategy : str
        What the lease recorded: a strategy's repr, or one of the queue's random reasons.
    suggestions : sequence of (label, probability)
        The serving model's most probable labels for the item, best first (empty when it
        was served at random). For a multi-label project each probability is that label's
        own, not a share of one.
    is_audit : bool
        The item belongs to the audit sample.
    per_class_proba : bool
        Each probability is its label's own yes/no (the task's ``per_class_proba``: multi-label).
    focus : mapping, optional
        Span tasks: the predicted span the model is least sure about, ``{"start", "end",
        "label", "confidence"}``; the sentence names it (needs ``text``).
    text : str, optional
        The item's text, to quote the focus span.

    Returns
    -------
    str
        For example ``The model is torn between “transfer” and “balance”: 51% vs 49%.``

    Examples
    --------
    >>> why_this_item("MarginSampling(chunk_size=16384)", [("transfer", 0.51), ("balance", 0.49)])
    'The model is torn between “transfer” and “balance”: 51% vs 49%.'
    >>> why_this_item("EntropySampling()", [("refund", 0.34), ("billing", 0.3)])
    'The model is unsure: its best guess is “refund” at 34%.'
    >>> focus = {"start": 8, "end": 21, "label": "timeRange", "confidence": 0.54}
    >>> why_this_item("MNLP()", [], focus=focus, text="wake me tomorrow at 7")
    'The model is least sure about “tomorrow at 7” as timeRange (54%).'
    """
    if is_audit or strategy == AUDIT:
        return AUDIT_WHY
    if strategy == RANDOM_NO_MODEL:
        return NO_MODEL_WHY
    if strategy == RANDOM_QUEUE_EMPTY:
        return QUEUE_EMPTY_WHY
    if strategy == STREAM:
        return STREAM_WHY
    family = _family(strategy)
    if family in _PLAIN:
        return _PLAIN[family]
    if focus is not None and text is not None:
        quoted = text[int(focus["start"]) : int(focus["end"])]
        return (
            f"The model is least sure about “{quoted}” as {focus['label']} "
            f"({_percent(float(focus['confidence']))})."
        )
    if not suggestions:
        return "The model ranked it among the most useful items to label next."
    if per_class_proba:
        label, probability = min(suggestions, key=lambda pair: abs(pair[1] - 0.5))
        return f"The model is unsure whether “{label}” applies: {_percent(probability)}."
    best, p_best = suggestions[0]
    if family in _MARGIN and len(suggestions) > 1:
        second, p_second = suggestions[1]
        return (
            f"The model is torn between “{best}” and “{second}”: "
            f"{_percent(p_best)} vs {_percent(p_second)}."
        )
    if family in _COMMITTEE:
        return (
            "The models in its committee disagree about it; "
            f"their best guess is “{best}” at {_percent(p_best)}."
        )
    return f"The model is unsure: its best guess is “{best}” at {_percent(p_best)}."
