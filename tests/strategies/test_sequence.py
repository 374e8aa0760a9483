"""Sequence strategies: known answers of every measure on hand-computed marginals, the
token-cost option, and the entity-diverse and near-duplicate wrappers around them."""

import numpy as np
import pytest

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError
from labelwise.strategies import (
    MNLP,
    SEQUENCE_STRATEGIES,
    STRATEGIES,
    DeduplicatedBatch,
    EntityDiverseBatch,
    SequenceCommittee,
    SequenceLeastConfidence,
    TokenEntropy,
    WorstTokenMargin,
)
from labelwise.strategies import _sequence_measures as m
from tests.strategies.fakes import FixedMarginalLearner, sequence_pool

LN2 = np.log(2.0)

# Three sentences over tags (O, B-a, I-a): two tokens, empty, one token.
A = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
EMPTY = np.zeros((0, 3))
C = np.array([[0.25, 0.25, 0.5]])


def padded(*sentences):
    return m.pad_marginals(list(sentences))


# -- padding ----------------------------------------------------------------------------


def test_pad_places_tokens_and_zero_fills():
    arr, lengths = padded(A, EMPTY, C)
    assert arr.shape == (3, 2, 3)
    assert lengths.tolist() == [2, 0, 1]
    np.testing.assert_array_equal(arr[0], A)
    np.testing.assert_array_equal(arr[1], 0.0)
    np.testing.assert_array_equal(arr[2], [C[0], [0, 0, 0]])


def test_pad_committee_puts_members_first():
    members = [np.stack([A, A[::-1]]), np.zeros((2, 0, 3)), np.stack([C, C])]
    arr, lengths = m.pad_marginals(members)
    assert arr.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(arr[1, 0], A[::-1])
    np.testing.assert_array_equal(arr[:, 2, 0], [C[0], C[0]])
    assert lengths.tolist() == [2, 0, 1]


def test_pad_refuses_mixed_tag_counts():
    with pytest.raises(ValueError, match="disagree"):
        m.pad_marginals([A, np.ones((1, 2))])


# -- single-model measures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("reduce", "expected"),
    [
        ("sum", [LN2, 0.0, 1.5 * LN2]),
        ("mean", [LN2 / 2, 0.0, 1.5 * LN2]),
        ("max", [LN2, 0.0, 1.5 * LN2]),
    ],
)
def test_token_entropy_known_answers(reduce, expected):
    arr, lengths = padded(A, EMPTY, C)
    np.testing.assert_allclose(m.token_entropy(arr, lengths, reduce), expected)


def test_padding_never_leaks_into_a_score():
    arr, lengths = padded(A, EMPTY, C)
    noisy = arr.copy()
    noisy[1, :] = 1 / 3  # the empty sentence's padding, uniform: max entropy, margin 1
    noisy[2, 1] = [0.5, 0.5, 0.0]
    for reduce in m.REDUCTIONS:
        np.testing.assert_array_equal(
            m.token_entropy(noisy, lengths, reduce), m.token_entropy(arr, lengths, reduce)
        )
    np.testing.assert_array_equal(
        m.worst_token_margin(noisy, lengths), m.worst_token_margin(arr, lengths)
    )


def test_worst_token_margin_known_answers():
    # A: a tie (margin 1) and a certain token (0); C: 1 - (0.5 - 0.25).
    arr, lengths = padded(A, EMPTY, C, np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]]))
    np.testing.assert_allclose(m.worst_token_margin(arr, lengths), [1.0, 0.0, 0.75, 0.7])


def test_one_token_sentence_equals_the_classification_measures():
    arr, lengths = padded(C)
    assert m.token_entropy(arr, lengths)[0] == pytest.approx(1.5 * LN2)
    assert m.worst_token_margin(arr, lengths)[0] == pytest.approx(0.75)


def test_least_confidence_and_mnlp_known_answers():
    proba = np.array([0.25, 1.0, 0.5, 0.9])
    lengths = np.array([2, 0, 1, 3])
    np.testing.assert_allclose(m.sequence_least_confidence(proba), [0.75, 0.0, 0.5, 0.1])
    np.testing.assert_allclose(m.mnlp(proba, lengths), [LN2, 0.0, LN2, -np.log(0.9) / 3])


def test_mnlp_of_an_underflowed_path_ranks_first():
    assert m.mnlp(np.array([0.0]), np.array([4]))[0] == np.inf


def test_reduce_is_checked_with_its_value():
    arr, lengths = padded(A)
    with pytest.raises(ValueError, match="reduce must be one of .* Got 'median'"):
        m.token_entropy(arr, lengths, "median")


def test_per_token_cost_divides_by_length_and_keeps_empty_at_zero():
    np.testing.assert_allclose(
        m.per_token_cost(np.array([2.0, 0.0, 3.0]), np.array([2, 0, 3])), [1.0, 0.0, 1.0]
    )


# -- committee measures -----------------------------------------------------------------

SURE_O, SURE_B = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
SPLIT = [0.5, 0.5, 0.0]


def committee(*sentences):
    """Each sentence given as a list of per-member token rows: (n_members, n_tokens, 3)."""
    return m.pad_marginals([np.asarray(s, dtype=float) for s in sentences])


def test_vote_entropy_known_answers():
    # Sentence 0: token 0 split (one vote each: ln 2), token 1 agreed (0). Sentence 1 empty.
    # Sentence 2: both members unsure but agree: 0.
    arr, lengths = committee(
        [[SURE_O, SURE_O], [SURE_B, SURE_O]], np.zeros((2, 0, 3)), [[SPLIT], [SPLIT]]
    )
    np.testing.assert_allclose(m.sequence_vote_entropy(arr, lengths, "sum"), [LN2, 0, 0])
    np.testing.assert_allclose(m.sequence_vote_entropy(arr, lengths, "mean"), [LN2 / 2, 0, 0])
    np.testing.assert_allclose(m.sequence_vote_entropy(arr, lengths, "max"), [LN2, 0, 0])


def test_bald_known_answers():
    # Confident members that disagree: H(mean) - mean H = ln 2 - 0. Agreeing unsure: 0.
    arr, lengths = committee(
        [[SURE_O, SURE_O], [SURE_B, SURE_O]], np.zeros((2, 0, 3)), [[SPLIT], [SPLIT]]
    )
    np.testing.assert_allclose(m.sequence_bald(arr, lengths, "sum"), [LN2, 0, 0], atol=1e-12)
    np.testing.assert_allclose(m.sequence_bald(arr, lengths, "mean"), [LN2 / 2, 0, 0], atol=1e-12)


def test_committee_measures_refuse_a_3d_array():
    with pytest.raises(ValueError, match="n_members, n_sentences, max_len, n_tags"):
        m.sequence_bald(np.zeros((2, 2, 3)), np.array([2, 2]))


# -- strategies -------------------------------------------------------------------------

SENTENCES = [["play", "paris"], ["visit", "Paris"], ["go", "rome"], ["stop"]]
TAGS = ["O", "B-city"]
# The entity token of each sentence is predicted B-city with falling uncertainty; "stop" is O.
MARGINALS = [
    np.array([[1.0, 0.0], [0.45, 0.55]]),
    np.array([[1.0, 0.0], [0.4, 0.6]]),
    np.array([[1.0, 0.0], [0.3, 0.7]]),
    np.array([[0.8, 0.2]]),
]


def city_learner():
    return FixedMarginalLearner(SENTENCES, MARGINALS, tags=TAGS)


def test_strategies_rank_by_their_measure():
    pool = sequence_pool(SENTENCES)
    q = TokenEntropy(reduce="max").query(city_learner(), pool, [], np.arange(4), 4, random_state=0)
    assert q.indices.tolist() == [0, 1, 2, 3]
    arr, lengths = padded(*MARGINALS)
    expected = m.token_entropy(arr, lengths, "max")
    np.testing.assert_allclose(q.scores, expected)


def test_token_cost_divides_the_utility_by_the_token_count():
    # Sum entropy: the two-token sentence wins; per token, the one-token sentence does.
    sentences = [["a", "b"], ["c"]]
    marginals = [np.array([[0.5, 0.5], [1.0, 0.0]]), np.array([[0.6, 0.4]])]
    learner = FixedMarginalLearner(sentences, marginals)
    pool = sequence_pool(sentences)
    by_sentence = TokenEntropy().query(learner, pool, [], [0, 1], 2, random_state=0)
    by_token = TokenEntropy(cost="token").query(learner, pool, [], [0, 1], 2, random_state=0)
    assert by_sentence.indices.tolist() == [0, 1]
    assert by_token.indices.tolist() == [1, 0]
    np.testing.assert_allclose(by_token.scores, [by_sentence.scores[1], by_sentence.scores[0] / 2])


@pytest.mark.parametrize(
    "strategy",
    [SequenceLeastConfidence(), MNLP(), TokenEntropy(), WorstTokenMargin()],
    ids=repr,
)
def test_empty_sentence_scores_zero(strategy):
    sentences = [[], ["a"]]
    learner = FixedMarginalLearner(sentences, [np.zeros((0, 2)), np.array([[0.5, 0.5]])])
    q = strategy.query(learner, sequence_pool(sentences), [], [0, 1], 2, random_state=0)
    assert q.indices.tolist() == [1, 0]
    assert q.scores[1] == 0.0


def test_committee_strategy_reads_member_marginals():
    sentences = [["a"], ["b"]]
    members = [np.array([[SPLIT[:2]], [SPLIT[:2]]]), np.array([[[1.0, 0.0]], [[0.0, 1.0]]])]
    learner = FixedMarginalLearner(sentences, [x.mean(axis=0) for x in members], members)
    pool = sequence_pool(sentences)
    q = SequenceCommittee(measure="bald").query(learner, pool, [], [0, 1], 2, random_state=0)
    assert q.indices.tolist() == [1, 0]
    np.testing.assert_allclose(q.scores, [LN2, 0.0], atol=1e-12)


def test_bad_parameters_are_refused_with_their_value():
    learner, pool = city_learner(), sequence_pool(SENTENCES)
    with pytest.raises(ValueError, match="'cost' parameter of MNLP .* Got 'word'"):
        MNLP(cost="word").query(learner, pool, [], [0], 1)
    with pytest.raises(ValueError, match="'measure' parameter .* Got 'kl'"):
        SequenceCommittee(measure="kl").query(
            FixedMarginalLearner(SENTENCES, MARGINALS, members=[x[None] for x in MARGINALS]),
            pool,
            [],
            [0],
            1,
        )


def test_a_pool_without_sequences_and_a_learner_without_marginals_are_named():
    with pytest.raises(ValueError, match="no token sequences"):
        MNLP().query(city_learner(), Pool(np.zeros((4, 2))), [], [0], 1)
    with pytest.raises(TypeError, match="member_marginals"):
        SequenceCommittee().query(object(), sequence_pool(SENTENCES), [], [0], 1)
    with pytest.raises(NotFittedError):
        TokenEntropy().query(None, sequence_pool(SENTENCES), [], [0], 1)


def test_wrong_marginal_lengths_are_reported():
    learner = FixedMarginalLearner(SENTENCES, [np.ones((1, 2)) / 2] * 4)
    with pytest.raises(ValueError, match="returned marginals"):
        TokenEntropy().query(learner, sequence_pool(SENTENCES), [], [0, 1], 1)


def test_registry_names_and_kept_apart_from_classification():
    assert sorted(SEQUENCE_STRATEGIES) == [
        "mnlp",
        "sequence_committee",
        "sequence_lc",
        "token_entropy",
        "token_margin",
    ]
    assert not set(SEQUENCE_STRATEGIES) & set(STRATEGIES)


# -- wrappers ---------------------------------------------------------------------------


def test_entity_diverse_batch_skips_a_repeated_entity_string():
    pool = sequence_pool(SENTENCES)
    base = TokenEntropy(reduce="max")
    plain = base.query(city_learner(), pool, [], np.arange(4), 2, random_state=0)
    assert plain.indices.tolist() == [0, 1]  # "paris" twice
    diverse = EntityDiverseBatch(base).query(
        city_learner(), pool, [], np.arange(4), 2, random_state=0
    )
    assert diverse.indices.tolist() == [0, 2]  # "Paris" is "paris": covered
    np.testing.assert_allclose(
        diverse.scores,
        plain.scores[[0]].tolist()
        + [base.query(city_learner(), pool, [], np.arange(4), 3, random_state=0).scores[2]],
    )


def test_entity_diverse_batch_keeps_entity_free_items_and_fills_to_n():
    pool = sequence_pool(SENTENCES)
    wrapper = EntityDiverseBatch(TokenEntropy(reduce="max"), oversample=1)
    assert wrapper.query(
        city_learner(), pool, [], np.arange(4), 3, random_state=0
    ).indices.tolist() == [0, 2, 3]
    # Only the skipped item is left: it fills the batch rather than leave it short.
    assert sorted(
        wrapper.query(city_learner(), pool, [], np.arange(4), 4, random_state=0).indices.tolist()
    ) == [0, 1, 2, 3]


def test_entity_diverse_batch_needs_predict_spans():
    with pytest.raises(TypeError, match="predict_spans"):
        EntityDiverseBatch(MNLP()).query(object(), sequence_pool(SENTENCES), [], [0, 1], 1)


def test_deduplicated_batch_composes_with_sequence_strategies():
    # Sentences 0 and 1 have the same embedding row: the near-duplicate is skipped.
    features = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    pool = Pool(features, sequences=SENTENCES)
    q = DeduplicatedBatch(TokenEntropy(reduce="max")).query(
        city_learner(), pool, [], np.arange(4), 2, random_state=0
    )
    assert q.indices.tolist() == [0, 2]


def test_deduplicated_batch_accepts_a_pool_without_feature_columns():
    # (n, 0) features: every row is zero, similar to nothing, so nothing is dropped.
    pool = Pool(np.zeros((4, 0)), sequences=SENTENCES)
    q = DeduplicatedBatch(TokenEntropy(reduce="max")).query(
        city_learner(), pool, [], np.arange(4), 3, random_state=0
    )
    assert q.indices.tolist() == [0, 1, 2]
