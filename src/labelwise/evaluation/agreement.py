"""Agreement between annotators who labeled the same items (single-label tasks)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    """Agreement over the items that two or more annotators labeled.

    Attributes
    ----------
    items : int
        Items with at least two labels.
    pairwise : float
        Share of annotator pairs, over those items, that gave the same label (0..1).
    fleiss_kappa : float or None
        Fleiss' kappa: agreement beyond what the label frequencies give by chance
        (1 = perfect, 0 = chance level, < 0 = below chance). None when undefined (every
        label identical, so chance agreement is already 1).
    """

    items: int
    pairwise: float
    fleiss_kappa: float | None


def annotator_agreement(ratings: Sequence[Sequence[Hashable]]) -> Agreement | None:
    """Agreement from ``ratings``: per item, the labels its annotators gave.

    Items with fewer than two labels are ignored; None when no item has two. Items may
    have different numbers of annotators (Fleiss' kappa in its unequal-raters form,
    weighting every pair equally).

    Examples
    --------
    >>> annotator_agreement([["a", "a"], ["a", "b"], ["b", "b"]]).pairwise
    0.6666666666666666
    """
    rated = [list(r) for r in ratings if len(r) >= 2]
    if not rated:
        return None
    pairs = agreeing = 0
    totals: Counter[Hashable] = Counter()
    for labels in rated:
        n = len(labels)
        counts = Counter(labels)
        pairs += n * (n - 1)
        agreeing += sum(c * (c - 1) for c in counts.values())
        totals.update(labels)
    observed = agreeing / pairs
    n_labels = sum(totals.values())
    expected = sum((c / n_labels) ** 2 for c in totals.values())
    kappa = None if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return Agreement(items=len(rated), pairwise=observed, fleiss_kappa=kappa)
