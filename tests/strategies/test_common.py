"""The contract every query strategy must pass (the shared property tests)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.exceptions import EmptyPoolError, PoolExhaustedError, QueryError
from labelwise.strategies import STRATEGIES, UtilityStrategy
from tests.strategies.fakes import FixedProbaLearner, index_pool

ALL_STRATEGIES = sorted(STRATEGIES)


def learner_for(n_pool, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n_pool)
    proba[::5] = 1 / n_classes  # plenty of exact ties
    return FixedProbaLearner(proba)


@pytest.mark.parametrize("name", ALL_STRATEGIES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_selection_is_distinct_unlabeled_and_exactly_n(name, data):
    n_pool = data.draw(st.integers(min_value=1, max_value=120), label="n_pool")
    labeled_mask = np.array(data.draw(st.lists(st.booleans(), min_size=n_pool, max_size=n_pool)))
    if labeled_mask.all():
        labeled_mask[0] = False
    labeled = np.flatnonzero(labeled_mask)
    unlabeled = np.flatnonzero(~labeled_mask)
    n = data.draw(st.integers(min_value=1, max_value=150), label="n")
    seed = data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    cls = STRATEGIES[name]
    strategy = cls(chunk_size=7) if issubclass(cls, UtilityStrategy) else cls()
    q = strategy.query(
        learner_for(n_pool), index_pool(n_pool), labeled, unlabeled, n, random_state=seed
    )
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert not np.isin(q.indices, labeled).any()
    assert q.scores.shape == q.indices.shape
    assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"


@pytest.mark.parametrize("name", ALL_STRATEGIES)
def test_deterministic_under_a_seed(name):
    args = (learner_for(200), index_pool(200), np.arange(10), np.arange(10, 200), 25)
    first = STRATEGIES[name]().query(*args, random_state=42)
    second = STRATEGIES[name]().query(*args, random_state=42)
    assert first.indices.tolist() == second.indices.tolist()


@pytest.mark.parametrize("name", ALL_STRATEGIES)
def test_n_equal_to_pool_returns_everything(name):
    q = STRATEGIES[name]().query(
        learner_for(30), index_pool(30), [], np.arange(30), 30, random_state=0
    )
    assert sorted(q.indices.tolist()) == list(range(30))


@pytest.mark.parametrize("name", ALL_STRATEGIES)
def test_empty_and_exhausted_pools_raise(name):
    strategy = STRATEGIES[name]()
    with pytest.raises(EmptyPoolError):
        strategy.query(learner_for(1), index_pool(0), [], [], 1)
    with pytest.raises(PoolExhaustedError):
        strategy.query(learner_for(3), index_pool(3), np.arange(3), [], 1)


@pytest.mark.parametrize("name", ALL_STRATEGIES)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n_is_refused_with_its_value(name, n):
    with pytest.raises(ValueError, match=r"'n' parameter .* must be an int in \[1, inf\)"):
        STRATEGIES[name]().query(learner_for(3), index_pool(3), [], np.arange(3), n)


@pytest.mark.parametrize("name", ALL_STRATEGIES)
def test_inconsistent_index_sets_are_refused(name):
    strategy = STRATEGIES[name]()
    with pytest.raises(QueryError, match="both labeled and unlabeled"):
        strategy.query(learner_for(5), index_pool(5), [1], np.arange(5), 1)
    with pytest.raises(QueryError, match="repeated"):
        strategy.query(learner_for(5), index_pool(5), [], [0, 0, 1], 1)
    with pytest.raises(QueryError, match="outside a pool"):
        strategy.query(learner_for(5), index_pool(5), [], [0, 9], 1)
