"""Weak-aware query strategies: known answers on a five-item pool."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.exceptions import QueryError
from labelwise.strategies import MarginSampling
from labelwise.weak import (
    CoverageGap,
    LabelingFunctionConflict,
    LabelMatrix,
    LabelModelDisagreement,
)
from tests.strategies.fakes import FixedProbaLearner, index_pool

# Items × functions over classes x, y: 0 unanimous, 1 split, 2 one vote, 3 and 4 none.
MATRIX = LabelMatrix.from_dense(
    [[0, 0, 0], [0, 1, -1], [1, -1, -1], [-1, -1, -1], [-1, -1, -1]], ["x", "y"]
)
# The end model: sure of 0-2, unsure of 3, half sure of 4.
PROBA = np.array([[0.9, 0.1], [0.8, 0.2], [0.95, 0.05], [0.5, 0.5], [0.7, 0.3]])
ALL = np.arange(5)


def query(strategy, n, proba=PROBA):
    learner = FixedProbaLearner(proba)
    pool = index_pool(len(proba))
    return strategy.query(learner, pool, np.zeros(0, dtype=int), ALL, n, random_state=0)


def test_conflict_alone_finds_the_split_vote():
    q = query(LabelingFunctionConflict(MATRIX, mix=0.0), 1)
    assert q.indices.tolist() == [1]
    assert q.scores[0] == pytest.approx(1.0)  # one vote each way: entropy log 2 / log 2


def test_coverage_gap_alone_finds_the_items_no_rule_covers_then_the_mix_ranks_them():
    assert sorted(query(CoverageGap(MATRIX, mix=0.0), 2).indices.tolist()) == [3, 4]
    # Half margin: of the two gaps the unsure one first (0.5 * 1 + 0.5 * 1.0).
    q = query(CoverageGap(MATRIX), 2)
    assert q.indices.tolist() == [3, 4]
    np.testing.assert_allclose(q.scores, [1.0, 0.5 + 0.5 * 0.6])


def test_disagreement_finds_where_the_label_model_and_the_end_model_part():
    label_proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.05, 0.95], [0.5, 0.5], [0.5, 0.5]])
    q = query(LabelModelDisagreement(MATRIX, label_proba, mix=0.0), 2)
    # Item 2: the end model says x at 0.95, the label model y at 0.95; item 1 next.
    assert q.indices.tolist() == [2, 1]
    end, lab = PROBA[2], label_proba[2]
    assert q.scores[0] == pytest.approx(1 - np.exp(-(end * np.log(end / lab)).sum()))
    # Uncovered items have no label model to disagree with.
    scores = LabelModelDisagreement(MATRIX, label_proba, mix=0.0).signal(ALL, PROBA)
    assert scores[3] == 0.0 and scores[4] == 0.0


def test_mix_one_is_margin_sampling():
    margin = query(MarginSampling(), 5)
    for strategy in (LabelingFunctionConflict(MATRIX, mix=1.0), CoverageGap(MATRIX, mix=1.0)):
        q = query(strategy, 5)
        assert q.indices.tolist() == margin.indices.tolist()
        np.testing.assert_allclose(q.scores, margin.scores)


def test_a_matrix_of_another_pool_is_refused():
    other = LabelMatrix.from_dense([[0], [1]], ["x", "y"])
    with pytest.raises(QueryError, match="signals for 2 items but the pool has 5"):
        query(CoverageGap(other), 1)
    with pytest.raises(QueryError, match=r"mix must lie in \[0, 1\]"):
        query(CoverageGap(MATRIX, mix=2.0), 1)
    with pytest.raises(ValueError, match=r"label_proba must have shape \(5, 2\)"):
        LabelModelDisagreement(MATRIX, np.ones((5, 3)) / 3)
