"""The contract every query strategy must pass (the shared property tests).

Every registered strategy and every wrapper runs through the same checks: exactly ``n``
(or all that remain) distinct unlabeled positions, best first with aligned scores,
deterministic under a seed, and clear errors for empty, exhausted or inconsistent input.
The fake learner serves probabilities and committee members for position ``i`` from
feature column 0; the other columns make every row point its own way (for diversity and
near-duplicate checks).
"""

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.exceptions import EmptyPoolError, PoolExhaustedError, QueryError
from labelwise.initialization import RandomSeedSet, RepresentativeSeedSet
from labelwise.strategies import (
    SEQUENCE_STRATEGIES,
    STRATEGIES,
    ClassBalanced,
    DeduplicatedBatch,
    EntityDiverseBatch,
    InformationDensity,
    MarginSampling,
    NearestNeighborCandidates,
    QueryStrategy,
    RandomSampling,
    SequenceCommittee,
    Shortlisted,
    Subsampled,
    TokenEntropy,
    UtilityStrategy,
)
from tests.strategies.fakes import (
    FixedMemberLearner,
    distinct_index_pool,
    random_sequence_learner,
    sequence_pool,
)


def _registered(name: str) -> Callable[[], QueryStrategy]:
    cls = STRATEGIES[name]
    return lambda: cls(chunk_size=7) if issubclass(cls, UtilityStrategy) else cls()


# EER needs real refits and the labels (its own tests run these checks with them).
CASES: dict[str, Callable[[], QueryStrategy]] = {
    name: _registered(name) for name in sorted(STRATEGIES) if name != "eer"
}
CASES.update(
    {
        "density_margin": lambda: InformationDensity(MarginSampling(chunk_size=7), chunk_size=7),
        "seed_random": lambda: RandomSeedSet(),
        "seed_representative": lambda: RepresentativeSeedSet(),
        "seed_typical": lambda: RepresentativeSeedSet(method="typical"),
        "deduplicated_margin": lambda: DeduplicatedBatch(MarginSampling(chunk_size=7)),
        "deduplicated_random": lambda: DeduplicatedBatch(
            RandomSampling(), threshold=0.7, oversample=1
        ),
        "class_balanced_margin": lambda: ClassBalanced(MarginSampling(chunk_size=7), oversample=2),
        "subsampled_margin": lambda: Subsampled(MarginSampling(chunk_size=7), size=13),
        "neighbors_random": lambda: NearestNeighborCandidates(RandomSampling(), k=3),
        "shortlisted_margin_random": lambda: Shortlisted(
            MarginSampling(chunk_size=7), RandomSampling(), factor=3
        ),
    }
)
# Sequence strategies run over a pool of token lists (0-5 tokens) with a fake tagger.
SEQUENCE_CASES: dict[str, Callable[[], QueryStrategy]] = {
    **{f"seq_{name}": (lambda c=cls: c(chunk_size=7)) for name, cls in SEQUENCE_STRATEGIES.items()},
    "seq_bald_mean_per_token": lambda: SequenceCommittee(
        measure="bald", reduce="mean", cost="token", chunk_size=7
    ),
    "seq_entity_diverse": lambda: EntityDiverseBatch(TokenEntropy(reduce="max"), oversample=2),
    "seq_deduplicated": lambda: DeduplicatedBatch(TokenEntropy(chunk_size=7)),
}
CASES.update(SEQUENCE_CASES)
NAMES = sorted(CASES)


def learner_for(n_pool, n_classes=4, n_members=3, seed=0):
    rng = np.random.default_rng(seed)
    members = rng.dirichlet(np.ones(n_classes), size=(n_members, n_pool))
    members[:, ::5] = 1 / n_classes  # plenty of exact ties
    return FixedMemberLearner(members)


def query(name, n_pool, labeled, unlabeled, n, seed):
    if name in SEQUENCE_CASES:
        learner, sequences = random_sequence_learner(n_pool)
        pool = sequence_pool(sequences)
    else:
        learner, pool = learner_for(n_pool), distinct_index_pool(n_pool)
    return CASES[name]().query(learner, pool, labeled, unlabeled, n, random_state=seed)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_selection_is_distinct_unlabeled_and_exactly_n(name, data):
    n_pool = data.draw(st.integers(min_value=1, max_value=80), label="n_pool")
    labeled_mask = np.array(data.draw(st.lists(st.booleans(), min_size=n_pool, max_size=n_pool)))
    if labeled_mask.all():
        labeled_mask[0] = False
    labeled = np.flatnonzero(labeled_mask)
    unlabeled = np.flatnonzero(~labeled_mask)
    n = data.draw(st.integers(min_value=1, max_value=100), label="n")
    seed = data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    q = query(name, n_pool, labeled, unlabeled, n, seed)
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert not np.isin(q.indices, labeled).any()
    assert q.scores.shape == q.indices.shape
    assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_a_seed(name):
    first = query(name, 120, np.arange(10), np.arange(10, 120), 25, seed=42)
    second = query(name, 120, np.arange(10), np.arange(10, 120), 25, seed=42)
    assert first.indices.tolist() == second.indices.tolist()


@pytest.mark.parametrize("name", NAMES)
def test_n_equal_to_pool_returns_everything(name):
    q = query(name, 30, [], np.arange(30), 30, seed=0)
    assert sorted(q.indices.tolist()) == list(range(30))


@pytest.mark.parametrize("name", NAMES)
def test_empty_and_exhausted_pools_raise(name):
    strategy = CASES[name]()
    with pytest.raises(EmptyPoolError):
        strategy.query(learner_for(1), distinct_index_pool(0), [], [], 1)
    with pytest.raises(PoolExhaustedError):
        strategy.query(learner_for(3), distinct_index_pool(3), np.arange(3), [], 1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n_is_refused_with_its_value(name, n):
    with pytest.raises(ValueError, match=r"'n' parameter .* must be an int in \[1, inf\)"):
        CASES[name]().query(learner_for(3), distinct_index_pool(3), [], np.arange(3), n)


@pytest.mark.parametrize("name", NAMES)
def test_inconsistent_index_sets_are_refused(name):
    strategy = CASES[name]()
    pool = distinct_index_pool(5)
    with pytest.raises(QueryError, match="both labeled and unlabeled"):
        strategy.query(learner_for(5), pool, [1], np.arange(5), 1)
    with pytest.raises(QueryError, match="repeated"):
        strategy.query(learner_for(5), pool, [], [0, 0, 1], 1)
    with pytest.raises(QueryError, match="outside a pool"):
        strategy.query(learner_for(5), pool, [], [0, 9], 1)
