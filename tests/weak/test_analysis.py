"""Labeling-function analysis on a matrix small enough to check by hand."""

from __future__ import annotations

import pytest

from labelwise.evaluation.intervals import wilson_interval
from labelwise.weak import LabelMatrix, analyze

# Items (rows) × functions a, b, c; -1 abstains. Classes x = 0, y = 1.
#   item 0: a=x b=x  .
#   item 1: a=x b=y c=y
#   item 2: a=y b=y  .
#   item 3:  .  b=x c=x
#   item 4:  .   .   .
MATRIX = LabelMatrix.from_dense(
    [[0, 0, -1], [0, 1, 1], [1, 1, -1], [-1, 0, 0], [-1, -1, -1]], ["x", "y"], ["a", "b", "c"]
)


def test_coverage_overlap_and_conflict_by_hand():
    stats = analyze(MATRIX)
    a, b, c = stats.functions
    # a votes on items 0, 1, 2 (3 of 5); each time another function votes too; only on
    # item 1 does one disagree.
    assert (a.votes, a.coverage, a.overlap, a.conflict) == (3, 0.6, 0.6, 0.2)
    # b votes on 0-3; overlaps on all four; conflicts on item 1 only.
    assert (b.votes, b.coverage, b.overlap, b.conflict) == (4, 0.8, 0.8, 0.2)
    # c votes on 1 and 3, both with company; conflict on 1.
    assert (c.votes, c.coverage, c.overlap, c.conflict) == (2, 0.4, 0.4, 0.2)
    assert a.labels == ("x", "y") and b.labels == ("x", "y")  # most votes first, then order
    assert (stats.coverage, stats.overlap, stats.conflict) == (0.8, 0.8, 0.2)
    assert stats.n_items == 5 and stats.gold_items == 0
    assert a.accuracy is None and (a.accuracy_low, a.accuracy_high) == (0.0, 1.0)


def test_accuracy_on_gold_items_with_a_wilson_interval():
    stats = analyze(MATRIX, gold={1: "y", 2: "y", 4: "x"})
    a, b, c = stats.functions
    # On gold items 1 and 2: a voted x (wrong) and y (right); b y, y (both right); c y.
    assert (a.gold_votes, a.correct, a.accuracy) == (2, 1, 0.5)
    assert (b.gold_votes, b.correct, b.accuracy) == (2, 2, 1.0)
    assert (c.gold_votes, c.correct, c.accuracy) == (1, 1, 1.0)
    assert (a.accuracy_low, a.accuracy_high) == pytest.approx(wilson_interval(1, 2))
    assert stats.gold_items == 3


def test_gold_must_name_items_and_classes():
    with pytest.raises(ValueError, match="Gold item 9 is not a position among the 5 items"):
        analyze(MATRIX, gold={9: "x"})
    with pytest.raises(ValueError, match="Gold label 'z' of item 0 is not one of the classes"):
        analyze(MATRIX, gold={0: "z"})


def test_an_empty_matrix_has_zero_shares():
    stats = analyze(LabelMatrix.from_dense([[-1, -1]], ["x", "y"]))
    assert stats.coverage == 0.0 and all(f.votes == 0 for f in stats.functions)
