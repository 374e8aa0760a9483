from __future__ import annotations

import pytest

from labelwise.evaluation import annotator_agreement


def test_fleiss_kappa_matches_the_textbook_example():
    # Fleiss (1971)-style table: 4 items, 3 raters, 2 categories.
    ratings = [["y", "y", "y"], ["y", "y", "n"], ["n", "n", "n"], ["y", "n", "n"]]
    result = annotator_agreement(ratings)
    # observed: (6 + 2 + 6 + 2) / 24 = 2/3; p_y = p_n = 1/2 -> expected 1/2; kappa 1/3
    assert result.items == 4
    assert result.pairwise == pytest.approx(2 / 3)
    assert result.fleiss_kappa == pytest.approx(1 / 3)


def test_perfect_and_chance_and_undefined():
    assert annotator_agreement([["a", "a"], ["b", "b"]]).fleiss_kappa == pytest.approx(1.0)
    assert annotator_agreement([["a", "b"], ["b", "a"]]).fleiss_kappa == pytest.approx(-1.0)
    same = annotator_agreement([["a", "a"], ["a", "a"]])
    assert same.pairwise == 1.0 and same.fleiss_kappa is None


def test_single_labels_are_ignored():
    assert annotator_agreement([["a"], ["b"]]) is None
    assert annotator_agreement([["a"], ["a", "a"]]).items == 1
