"""Committee measures (known answers) and the query-by-committee / BALD strategies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.exceptions import EmptyPoolError, NotFittedError, PoolExhaustedError, QueryError
from labelwise.learners.committee import Committee
from labelwise.learners.probabilistic import ProbabilisticClassifier
from labelwise.strategies._committee_measures import (
    consensus_entropy,
    kl_max_disagreement,
    mutual_information,
    vote_entropy,
)
from labelwise.strategies.committee import (
    BALD,
    ConsensusEntropy,
    KLMaxDisagreement,
    VoteEntropy,
)
from tests.strategies.fakes import FixedMemberLearner, FixedProbaLearner, index_pool, score_all

LOG2 = np.log(2.0)
STRATEGY_CLASSES = [VoteEntropy, ConsensusEntropy, KLMaxDisagreement, BALD]
MEASURES = [vote_entropy, consensus_entropy, kl_max_disagreement, mutual_information]


def entropy_of(p) -> float:
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# (n_members, n_samples, n_classes), one sample per column of the comments below.
UNANIMOUS = np.array([[[0.6, 0.3, 0.1]]] * 3)  # 3 members, all the same
UNSURE_AGREEING = np.full((4, 1, 3), 1 / 3)  # every member uniform
SPLIT_SOFT = np.array([[[0.9, 0.1]], [[0.1, 0.9]]])  # 1 vs 1
SPLIT_HARD = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # one-hot, 1 vs 1
HALF_AND_SURE = np.array([[[0.5, 0.5]], [[1.0, 0.0]]])  # consensus (0.75, 0.25)
TWO_ONE_ONE = np.array([[[0.7, 0.2, 0.1]], [[0.6, 0.3, 0.1]], [[0.1, 0.8, 0.1]], [[0.2, 0.2, 0.6]]])


class TestMeasures:
    def test_unanimous_members_disagree_nowhere(self):
        assert vote_entropy(UNANIMOUS).tolist() == [0.0]
        np.testing.assert_allclose(kl_max_disagreement(UNANIMOUS), 0.0, atol=1e-15)
        np.testing.assert_allclose(mutual_information(UNANIMOUS), 0.0, atol=1e-15)
        assert consensus_entropy(UNANIMOUS)[0] == pytest.approx(entropy_of([0.6, 0.3, 0.1]))

    def test_bald_is_zero_when_uncertain_members_agree(self):
        np.testing.assert_allclose(mutual_information(UNSURE_AGREEING), 0.0, atol=1e-15)
        np.testing.assert_allclose(kl_max_disagreement(UNSURE_AGREEING), 0.0, atol=1e-15)
        assert vote_entropy(UNSURE_AGREEING).tolist() == [0.0]
        assert consensus_entropy(UNSURE_AGREEING)[0] == pytest.approx(np.log(3.0))

    def test_an_even_split_is_log_2_of_vote_entropy(self):
        assert vote_entropy(SPLIT_SOFT)[0] == pytest.approx(LOG2)
        assert consensus_entropy(SPLIT_SOFT)[0] == pytest.approx(LOG2)
        expected = LOG2 - entropy_of([0.9, 0.1])
        assert mutual_information(SPLIT_SOFT)[0] == pytest.approx(expected)
        assert kl_max_disagreement(SPLIT_SOFT)[0] == pytest.approx(expected)

    def test_confident_members_in_full_disagreement(self):
        # 0 log 0 = 0: each one-hot member is log 2 away from the (0.5, 0.5) consensus.
        for measure in MEASURES:
            assert measure(SPLIT_HARD)[0] == pytest.approx(LOG2)

    def test_kl_to_the_consensus_by_hand(self):
        kl_first = 0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25)
        kl_second = np.log(1.0 / 0.75)
        assert kl_max_disagreement(HALF_AND_SURE)[0] == pytest.approx(max(kl_first, kl_second))
        assert mutual_information(HALF_AND_SURE)[0] == pytest.approx(
            entropy_of([0.75, 0.25]) - LOG2 / 2
        )
        # The *mean* KL to the consensus is BALD's mutual information; the max is not.
        assert (kl_first + kl_second) / 2 == pytest.approx(entropy_of([0.75, 0.25]) - LOG2 / 2)
        assert vote_entropy(HALF_AND_SURE)[0] == 0.0  # argmax ties go to column 0

    def test_votes_split_two_one_one(self):
        assert vote_entropy(TWO_ONE_ONE)[0] == pytest.approx(1.5 * LOG2)
        assert consensus_entropy(TWO_ONE_ONE)[0] == pytest.approx(entropy_of([0.4, 0.375, 0.225]))

    def test_samples_are_scored_independently(self):
        stacked = np.concatenate([SPLIT_HARD, HALF_AND_SURE, SPLIT_SOFT], axis=1)
        for measure in MEASURES:
            one_by_one = [measure(stacked[:, [i]])[0] for i in range(3)]
            np.testing.assert_allclose(measure(stacked), one_by_one, rtol=1e-12)
            assert measure(stacked).shape == (3,)
            assert measure(stacked).dtype == np.float64

    def test_kl_max_disagreement_bounds_mutual_information(self):
        rng = np.random.default_rng(0)
        members = rng.dirichlet(np.full(6, 0.3), size=(7, 50))
        members[:, :5] = members[0, :5]  # some rows unanimous
        members[:, 5:10] = np.eye(6)[rng.integers(6, size=(7, 5))]  # some one-hot
        kl = kl_max_disagreement(members)
        # max over members >= mean over members = mutual information
        assert (kl >= mutual_information(members) - 1e-12).all()
        assert (kl > mutual_information(members) + 1e-6).any()
        assert (kl >= 0).all()
        assert (kl <= np.log(7) + 1e-12).all()  # p_bar >= p_m / M bounds each KL by log M
        assert (vote_entropy(members) <= np.log(6) + 1e-12).all()

    def test_one_member_never_disagrees(self):
        one = np.array([[[0.2, 0.8], [0.5, 0.5]]])
        for measure in (vote_entropy, kl_max_disagreement, mutual_information):
            np.testing.assert_allclose(measure(one), 0.0, atol=1e-15)

    @pytest.mark.parametrize("measure", MEASURES)
    def test_wrong_rank_is_refused(self, measure):
        with pytest.raises(
            ValueError, match=r"\(n_members, n_samples, n_classes\)\. Got shape \(2, 3\)"
        ):
            measure(np.full((2, 3), 1 / 3))


# Samples: 0 full disagreement, 1 unanimous and sure, 2 unsure but agreeing, 3 soft split.
MEMBERS = np.array(
    [
        [[1.0, 0.0], [0.95, 0.05], [0.5, 0.5], [0.8, 0.2]],
        [[0.0, 1.0], [0.95, 0.05], [0.5, 0.5], [0.3, 0.7]],
    ]
)
NONE = np.zeros(0, dtype=int)


def query(strategy, n, members=MEMBERS, unlabeled=None, labeled=NONE, seed=0, multilabel=False):
    learner = FixedMemberLearner(members, multilabel=multilabel)
    n_pool = members.shape[1]
    unlabeled = np.arange(n_pool) if unlabeled is None else unlabeled
    return strategy.query(learner, index_pool(n_pool), labeled, unlabeled, n, random_state=seed)


class TestKnownAnswerQueries:
    def test_bald_prefers_disagreement_over_shared_uncertainty(self):
        q = query(BALD(), 4)
        assert q.indices[:2].tolist() == [0, 3]
        assert sorted(q.indices[2:].tolist()) == [1, 2]  # both 0: a seeded tie-break
        mi_soft = entropy_of([0.55, 0.45]) - (entropy_of([0.8, 0.2]) + entropy_of([0.3, 0.7])) / 2
        np.testing.assert_allclose(q.scores, [LOG2, mi_soft, 0.0, 0.0], atol=1e-12)

    def test_kl_max_disagreement_ranks_like_bald(self):
        q = query(KLMaxDisagreement(), 2)
        assert q.indices.tolist() == [0, 3]
        assert q.scores[0] == pytest.approx(LOG2)

    def test_consensus_entropy_cannot_tell_disagreement_from_shared_uncertainty(self):
        q = query(ConsensusEntropy(), 3)
        assert sorted(q.indices[:2].tolist()) == [0, 2]
        np.testing.assert_allclose(q.scores, [LOG2, LOG2, entropy_of([0.55, 0.45])])

    def test_vote_entropy_counts_hard_votes(self):
        q = query(VoteEntropy(), 4)
        assert sorted(q.indices[:2].tolist()) == [0, 3]
        np.testing.assert_allclose(q.scores, [LOG2, LOG2, 0.0, 0.0])

    def test_labeled_items_are_never_returned(self):
        q = query(BALD(), 4, unlabeled=np.array([1, 2, 3]), labeled=np.array([0]))
        assert q.indices[0] == 3
        assert sorted(q.indices.tolist()) == [1, 2, 3]

    def test_multilabel_scores_each_class_as_binary(self):
        # Two classes, independent probabilities; class 0 split hard, class 1 agreed.
        members = np.array([[[1.0, 0.3], [0.9, 0.9]], [[0.0, 0.3], [0.9, 0.9]]])
        q = query(BALD(), 2, members=members, multilabel=True)
        assert q.indices.tolist() == [0, 1]
        np.testing.assert_allclose(q.scores, [LOG2 / 2, 0.0], atol=1e-12)

    @pytest.mark.parametrize("cls", STRATEGY_CLASSES)
    def test_chunking_does_not_change_the_answer_and_bounds_memory(self, cls):
        rng = np.random.default_rng(5)
        members = rng.dirichlet(np.ones(4), size=(3, 500)).round(2)
        members /= members.sum(axis=2, keepdims=True)
        learner = FixedMemberLearner(members)
        args = (index_pool(500), NONE, np.arange(500), 23)
        whole = cls(chunk_size=1000).query(learner, *args, random_state=2)
        learner.calls.clear()
        chunked = cls(chunk_size=64).query(learner, *args, random_state=2)
        assert whole.indices.tolist() == chunked.indices.tolist()
        assert max(learner.calls) == 64
        assert sum(learner.calls) == 500

    @pytest.mark.parametrize("cls", STRATEGY_CLASSES)
    def test_a_learner_without_members_is_refused_with_a_hint(self, cls):
        with pytest.raises(
            TypeError,
            match=r"needs a learner with a member_proba\(\) method; FixedProbaLearner has none\. "
            r"wrap the learner in labelwise\.learners\.Committee",
        ):
            cls().query(FixedProbaLearner(np.full((3, 2), 0.5)), index_pool(3), NONE, [0, 1], 1)

    @pytest.mark.parametrize("cls", STRATEGY_CLASSES)
    def test_no_learner_is_refused(self, cls):
        with pytest.raises(NotFittedError, match="needs a fitted learner"):
            cls().query(None, index_pool(3), NONE, np.arange(3), 1)

    def test_wrong_member_proba_shape_is_refused(self):
        learner = FixedMemberLearner(MEMBERS)
        learner.member_proba = lambda X: np.full((len(X), 2), 0.5)  # type: ignore[method-assign]
        with pytest.raises(ValueError, match=r"must return shape \(n_members, 4, n_classes\)"):
            BALD().query(learner, index_pool(4), NONE, np.arange(4), 1)

    def test_score_all_matches_the_measure(self):
        scores = score_all(
            BALD(chunk_size=3), FixedMemberLearner(MEMBERS), index_pool(4), NONE, [2, 0]
        )
        np.testing.assert_allclose(scores, [0.0, LOG2], atol=1e-12)


# The contract, on a real Committee of ProbabilisticClassifier(LogisticRegression).
N_POOL = 90
CENTERS = np.array([[0.0, 2.0], [2.0, 0.0], [-2.0, -2.0]])


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = np.concatenate([c + rng.normal(size=(N_POOL // 3, 2)) for c in CENTERS])
    y = np.repeat(["a", "b", "c"], N_POOL // 3)
    labeled = np.concatenate([np.arange(0, 90, 30), np.arange(1, 90, 30), [2, 32]])
    learner = ProbabilisticClassifier(LogisticRegression(), classes=["a", "b", "c", "d"])
    committee = Committee(learner, n_members=4, random_state=0).fit(X[labeled], y[labeled])
    return committee, Pool(X), labeled


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_contract_selection_is_distinct_unlabeled_and_exactly_n(cls, fitted, data):
    committee, pool, _ = fitted
    labeled_mask = np.array(data.draw(st.lists(st.booleans(), min_size=N_POOL, max_size=N_POOL)))
    if labeled_mask.all():
        labeled_mask[0] = False
    labeled, unlabeled = np.flatnonzero(labeled_mask), np.flatnonzero(~labeled_mask)
    n = data.draw(st.integers(min_value=1, max_value=100), label="n")
    seed = data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    q = cls(chunk_size=7).query(committee, pool, labeled, unlabeled, n, random_state=seed)
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert not np.isin(q.indices, labeled).any()
    assert q.scores.shape == q.indices.shape
    assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"
    assert (q.scores >= 0).all()
    assert q.strategy == repr(cls(chunk_size=7))


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_contract_deterministic_under_a_seed(cls, fitted):
    committee, pool, labeled = fitted
    unlabeled = pool.complement(labeled)
    first = cls().query(committee, pool, labeled, unlabeled, 25, random_state=42)
    second = cls(chunk_size=10).query(committee, pool, labeled, unlabeled, 25, random_state=42)
    assert first.indices.tolist() == second.indices.tolist()
    np.testing.assert_array_equal(first.scores, second.scores)


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_contract_n_equal_to_unlabeled_returns_everything(cls, fitted):
    committee, pool, labeled = fitted
    unlabeled = pool.complement(labeled)
    q = cls().query(committee, pool, labeled, unlabeled, unlabeled.size, random_state=0)
    assert sorted(q.indices.tolist()) == unlabeled.tolist()


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_contract_empty_and_exhausted_pools_raise(cls, fitted):
    committee, pool, _ = fitted
    with pytest.raises(EmptyPoolError):
        cls().query(committee, Pool(np.zeros((0, 2))), [], [], 1)
    with pytest.raises(PoolExhaustedError):
        cls().query(committee, pool, np.arange(N_POOL), [], 1)


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_contract_bad_n_is_refused_with_its_value(cls, fitted, n):
    committee, pool, _ = fitted
    with pytest.raises(ValueError, match=r"'n' parameter .* must be an int in \[1, inf\)"):
        cls().query(committee, pool, [], np.arange(5), n)


@pytest.mark.parametrize("cls", STRATEGY_CLASSES)
def test_contract_inconsistent_index_sets_are_refused(cls, fitted):
    committee, pool, _ = fitted
    with pytest.raises(QueryError, match="both labeled and unlabeled"):
        cls().query(committee, pool, [1], np.arange(5), 1)
    with pytest.raises(QueryError, match="repeated"):
        cls().query(committee, pool, [], [0, 0, 1], 1)


def test_committee_disagrees_most_between_the_clusters(fitted):
    committee, pool, labeled = fitted
    q = BALD().query(committee, pool, labeled, pool.complement(labeled), 5, random_state=0)
    # The top pick is nearer the decision boundaries than the typical pool item.
    centre_distance = np.linalg.norm(pool.features[:, None] - CENTERS[None], axis=2).min(axis=1)
    assert centre_distance[q.indices].mean() > np.median(centre_distance)
