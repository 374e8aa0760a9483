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
from sklearn.base import BaseEstimator, ClassifierMixin

from labelwise.exceptions import EmptyPoolError, PoolExhaustedError, QueryError
from labelwise.initialization import RandomSeedSet, RepresentativeSeedSet
from labelwise.strategies import (
    BALD,
    SEQUENCE_STRATEGIES,
    STRATEGIES,
    ClassBalanced,
    CoreSet,
    DeduplicatedBatch,
    EntityDiverseBatch,
    ExpectedErrorReduction,
    InformationDensity,
    MarginSampling,
    NearestNeighborCandidates,
    PointwiseStrategy,
    QueryStrategy,
    RandomSampling,
    SequenceCommittee,
    Shortlisted,
    Subsampled,
    TokenEntropy,
    UtilityStrategy,
    VoteEntropy,
)
from tests.strategies.fakes import (
    FixedMemberLearner,
    distinct_index_pool,
    random_sequence_learner,
    sequence_pool,
)


def _registered(name: str) -> Callable[[], QueryStrategy]:
    cls = STRATEGIES[name]
    if name == "eer":
        # Few refits keep the suite fast; n_candidates covers every pool drawn here.
        return lambda: ExpectedErrorReduction(n_candidates=120, n_eval=8, max_labels=1)
    return lambda: cls(chunk_size=7) if issubclass(cls, UtilityStrategy) else cls()


BASES: dict[str, Callable[[], QueryStrategy]] = {
    name: _registered(name) for name in sorted(STRATEGIES)
}
BASES.update(
    {
        "density_margin": lambda: InformationDensity(MarginSampling(chunk_size=7), chunk_size=7),
        "seed_random": lambda: RandomSeedSet(),
        "seed_representative": lambda: RepresentativeSeedSet(),
        "seed_typical": lambda: RepresentativeSeedSet(method="typical"),
    }
)
WRAPPERS: dict[str, Callable[[QueryStrategy], QueryStrategy]] = {
    "deduplicated": lambda base: DeduplicatedBatch(base),
    "deduplicated_tight": lambda base: DeduplicatedBatch(base, threshold=0.7, oversample=1),
    "class_balanced": lambda base: ClassBalanced(base, oversample=2),
    "subsampled": lambda base: Subsampled(base, size=13),
    "neighbors": lambda base: NearestNeighborCandidates(base, k=3),
    "shortlisted_first": lambda base: Shortlisted(base, RandomSampling(), factor=3),
    "shortlisted_then": lambda base: Shortlisted(MarginSampling(chunk_size=7), base, factor=2),
}
POINTWISE = [name for name in sorted(BASES) if isinstance(BASES[name](), PointwiseStrategy)]

# Every strategy alone, every wrapper around every strategy, density around every pointwise
# one, and wrappers two deep.


def _wrapped(
    wrap: Callable[[QueryStrategy], QueryStrategy], make: Callable[[], QueryStrategy]
) -> Callable[[], QueryStrategy]:
    return lambda: wrap(make())


def _dense(make: Callable[[], QueryStrategy]) -> Callable[[], QueryStrategy]:
    def build() -> QueryStrategy:
        base = make()
        assert isinstance(base, PointwiseStrategy), base
        return InformationDensity(base, chunk_size=7)

    return build


def _small_chunks(cls: type[QueryStrategy]) -> Callable[[], QueryStrategy]:
    assert issubclass(cls, PointwiseStrategy), cls
    return lambda: cls(chunk_size=7)


CASES: dict[str, Callable[[], QueryStrategy]] = dict(BASES)
for _w, _wrap in WRAPPERS.items():
    for _b, _make in BASES.items():
        CASES[f"{_w}({_b})"] = _wrapped(_wrap, _make)
for _b in POINTWISE:
    CASES[f"density({_b})"] = _dense(BASES[_b])
CASES["class_balanced(subsampled(eer))"] = lambda: ClassBalanced(
    Subsampled(BASES["eer"](), size=13)
)
CASES["deduplicated(shortlisted(margin, eer))"] = lambda: DeduplicatedBatch(
    Shortlisted(MarginSampling(chunk_size=7), BASES["eer"](), factor=2)
)
# Sequence strategies run over a pool of token lists (0-5 tokens) with a fake tagger.
SEQUENCE_CASES: dict[str, Callable[[], QueryStrategy]] = {
    **{f"seq_{name}": _small_chunks(cls) for name, cls in SEQUENCE_STRATEGIES.items()},
    "seq_bald_mean_per_token": lambda: SequenceCommittee(
        measure="bald", reduce="mean", cost="token", chunk_size=7
    ),
    "seq_entity_diverse": lambda: EntityDiverseBatch(TokenEntropy(reduce="max"), oversample=2),
    "seq_deduplicated": lambda: DeduplicatedBatch(TokenEntropy(chunk_size=7)),
}
CASES.update(SEQUENCE_CASES)
NAMES = sorted(CASES)
COMBINED = [name for name in NAMES if name not in BASES]


class CentroidLearner(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A tiny real classifier EER can clone and refit: softmax of cosine to class means.

    ``classes_`` is fixed (the schema), so unseen classes keep their column.
    """

    def __init__(self, classes=("a", "b", "c")):
        self.classes = classes

    def fit(self, X, y):
        self.classes_ = np.asarray(self.classes)
        X = np.asarray(X, dtype=float)[:, 1:]
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        y = np.asarray(y)
        self.means_ = np.zeros((self.classes_.size, X.shape[1]))
        for k, c in enumerate(self.classes_):
            if (y == c).any():
                self.means_[k] = X[y == c].mean(axis=0)
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)[:, 1:]
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        logits = 3.0 * X @ self.means_.T
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def labels_for(labeled):
    return [("a", "b", "c")[i % 3] for i in np.asarray(labeled, dtype=int)]


def learner_for(n_pool, n_classes=4, n_members=3, seed=0):
    rng = np.random.default_rng(seed)
    members = rng.dirichlet(np.ones(n_classes), size=(n_members, n_pool))
    members[:, ::5] = 1 / n_classes  # plenty of exact ties
    return FixedMemberLearner(members)


def query(name, n_pool, labeled, unlabeled, n, seed):
    if name in SEQUENCE_CASES:
        learner, sequences = random_sequence_learner(n_pool)
        pool = sequence_pool(sequences)
        return CASES[name]().query(learner, pool, labeled, unlabeled, n, random_state=seed)
    pool = distinct_index_pool(n_pool)
    learner = learner_for(n_pool)
    if "eer" in name:  # EER refits: a real learner, fitted on the labels it is given
        learner = CentroidLearner().fit(
            pool.rows(np.asarray(labeled, dtype=int)), labels_for(labeled)
        )
    return CASES[name]().query(
        learner, pool, labeled, unlabeled, n, labels=labels_for(labeled), random_state=seed
    )


def check_selection(name, data):
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


@pytest.mark.parametrize("name", sorted(BASES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_selection_is_distinct_unlabeled_and_exactly_n(name, data):
    check_selection(name, data)


@pytest.mark.parametrize("name", COMBINED)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_wrapping_keeps_the_contract(name, data):
    check_selection(name, data)


def test_expected_error_reduction_gets_the_labels_through_any_wrapping():
    labeled, unlabeled = np.arange(12), np.arange(12, 60)
    for strategy in (
        DeduplicatedBatch(ExpectedErrorReduction(n_eval=8, max_labels=2)),
        ClassBalanced(Subsampled(ExpectedErrorReduction(n_eval=8, max_labels=2), size=20)),
    ):
        pool = distinct_index_pool(60)
        learner = CentroidLearner().fit(pool.rows(labeled), labels_for(labeled))
        q = strategy.query(
            learner, pool, labeled, unlabeled, 5, labels=labels_for(labeled), random_state=0
        )
        assert len(q) == 5 and np.isin(q.indices, unlabeled).all()
        with pytest.raises(QueryError, match="needs the labels of the labeled positions"):
            strategy.query(learner, pool, labeled, unlabeled, 5, random_state=0)


def test_needs_are_answered_through_any_depth_of_wrapping():
    deep = Shortlisted(Subsampled(RandomSampling()), DeduplicatedBatch(CoreSet()))
    assert deep.requires_learner is False and deep.learner_capability is None
    committee = DeduplicatedBatch(Subsampled(InformationDensity(VoteEntropy())))
    assert committee.requires_learner is True
    assert committee.learner_capability == "member_proba"
    assert Shortlisted(MarginSampling(), Subsampled(BALD())).learner_capability == "member_proba"
    assert ClassBalanced(RandomSampling()).requires_learner is True


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
