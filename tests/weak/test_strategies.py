"""Weak-aware query strategies: known answers on a five-item pool."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.exceptions import QueryError
from labelwise.strategies import MarginSampling, RandomSampling
from labelwise.weak import (
    CombinedAnswerSampling,
    CoverageGap,
    LabelingFunctionConflict,
    LabelMatrix,
    LabelModelDisagreement,
    MajorityVote,
)
from labelwise.weak.combine import combined_proba, with_unseen_classes
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


class NamedProba(FixedProbaLearner):
    """The fake learner with the classes it was trained on."""

    def __init__(self, proba, classes) -> None:
        super().__init__(proba)
        self.classes_ = np.asarray(classes)


def test_combined_answer_ranks_by_the_margin_of_the_model_and_the_rules_together():
    voter = MajorityVote().fit(MATRIX)
    joint = combined_proba(PROBA, voter.predict_proba(MATRIX), MATRIX.covered())
    q = CombinedAnswerSampling(MarginSampling(), MATRIX, voter).query(
        NamedProba(PROBA, ["x", "y"]), index_pool(5), [], ALL, 5, random_state=0
    )
    expected = MarginSampling().score(joint)
    np.testing.assert_allclose(q.scores, np.sort(expected)[::-1])
    assert q.indices.tolist() == np.argsort(-expected, kind="stable").tolist()
    # Item 1 (a split vote, the model 0.8 sure) is unsure to both; item 0 (three votes
    # for x beside the model's x) is the surest of all, surer than the model alone.
    assert q.indices[0] == 3 and q.indices[-1] == 0


def test_combined_answer_at_label_weight_zero_is_the_base_strategy():
    voter = MajorityVote().fit(MATRIX)
    alone = query(MarginSampling(), 5)
    q = CombinedAnswerSampling(MarginSampling(), MATRIX, voter, label_weight=0.0).query(
        NamedProba(PROBA, [0, 1]), index_pool(5), [], ALL, 5, random_state=0
    )
    assert q.indices.tolist() == alone.indices.tolist()
    np.testing.assert_allclose(q.scores, alone.scores)


def test_a_class_the_model_never_learned_keeps_its_share_so_a_rule_for_it_counts():
    # Classes x, y, z; the model learned x only (item 2's label), so it is sure of x.
    matrix = LabelMatrix.from_dense([[1, 1], [-1, -1], [0, -1]], ["x", "y", "z"])
    voter = MajorityVote().fit(matrix)
    learner = NamedProba(np.ones((3, 1)), ["x"])
    strategy = CombinedAnswerSampling(MarginSampling(), matrix, voter)
    q = strategy.query(learner, index_pool(3), [2], [0, 1], 2, labels=["x"], random_state=0)
    # One label, of a class seen once: the two unseen classes share min(1, 2/3).
    end = with_unseen_classes(np.array([[1.0, 0, 0]] * 3), np.array([1, 0, 0], bool), 2 / 3)
    joint = combined_proba(end, voter.predict_proba(matrix), matrix.covered())
    expected = MarginSampling().score(joint)
    assert q.indices.tolist() == [1, 0]  # no vote on item 1: the model knows nothing there
    np.testing.assert_allclose(q.scores, expected[[1, 0]])
    assert joint[0].argmax() == 1  # on item 0 the two votes for y win
    # Without the labels nothing is opened: the model's zero for y vetoes the two votes.
    closed = strategy.query(learner, index_pool(3), [2], [0, 1], 2, random_state=0)
    np.testing.assert_allclose(closed.scores, [0.0, 0.0])
    # A learner that lists every class, its zeros included, is told which it learned.
    listing = NamedProba(np.array([[1.0, 0, 0]] * 3), ["x", "y", "z"])
    told = CombinedAnswerSampling(MarginSampling(), matrix, voter, learned=["x"])
    again = told.query(listing, index_pool(3), [2], [0, 1], 2, labels=["x"], random_state=0)
    np.testing.assert_allclose(again.scores, q.scores)


def test_combined_answer_refuses_what_it_cannot_combine():
    voter = MajorityVote().fit(MATRIX)
    learner = NamedProba(PROBA, ["x", "y"])
    with pytest.raises(QueryError, match="base must be a UtilityStrategy"):
        CombinedAnswerSampling(RandomSampling(), MATRIX, voter).query(  # type: ignore[arg-type]
            learner, index_pool(5), [], ALL, 1
        )
    with pytest.raises(QueryError, match="votes for 5 items but the pool has 6"):
        CombinedAnswerSampling(MarginSampling(), MATRIX, voter).query(
            NamedProba(np.vstack([PROBA, PROBA[:1]]), ["x", "y"]), index_pool(6), [], [0], 1
        )
    with pytest.raises(QueryError, match=r"classes \['x', 'w'\] are neither"):
        CombinedAnswerSampling(MarginSampling(), MATRIX, voter).query(
            NamedProba(PROBA, ["x", "w"]), index_pool(5), [], ALL, 1
        )
    with pytest.raises(QueryError, match="label_weight must be >= 0"):
        CombinedAnswerSampling(MarginSampling(), MATRIX, voter, label_weight=-1).query(
            learner, index_pool(5), [], ALL, 1
        )
    assert repr(CombinedAnswerSampling(MarginSampling(), MATRIX, voter)) == (
        "CombinedAnswerSampling(MarginSampling(chunk_size=16384), label_weight=1.0)"
    )
