"""Wrappers around strategies: de-duplication, class balance, candidate sets, shortlists."""

import copy
import os
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from labelwise.data import Pool
from labelwise.exceptions import (
    EmptyPoolError,
    MissingDependencyError,
    NotFittedError,
    PoolExhaustedError,
    QueryError,
)
from labelwise.learners.probabilistic import ProbabilisticClassifier
from labelwise.strategies import MarginSampling, Query, QueryStrategy, RandomSampling
from labelwise.strategies.wrappers import (
    BackgroundIndex,
    ClassBalanced,
    DeduplicatedBatch,
    ExactNeighborIndex,
    FaissCompressedIndex,
    FaissNeighborIndex,
    NearestNeighborCandidates,
    NeighborIndex,
    RandomShare,
    Shortlisted,
    Subsampled,
    default_index,
)
from tests.strategies.fakes import (
    FixedProbaLearner,
    GatedIndex,
    distinct_index_pool,
    index_pool,
)

NONE = np.zeros(0, dtype=int)


@pytest.fixture(autouse=True)
def _faiss_on_one_thread():
    """OpenMP threads on a busy shared machine turn a 20 ms graph build into a second."""
    try:
        import faiss
    except ImportError:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def learner_for(n_pool, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(n_classes), size=n_pool)
    proba[::5] = 1 / n_classes  # plenty of exact ties
    return FixedProbaLearner(proba)


def cosine(X):
    X = np.asarray(X, dtype=float)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
    return U @ U.T


class Recording(QueryStrategy):
    """Delegates to ``inner`` and remembers the ``unlabeled`` and ``n`` it was asked with."""

    def __init__(self, inner):
        self.inner = inner
        self.asked = []

    @property
    def requires_learner(self):  # type: ignore[override]
        return self.inner.requires_learner

    def _select(self, ctx, n):
        self.asked.append((ctx.unlabeled.copy(), n))
        return self.inner._select(ctx, n)


# -- the shared contract, for every wrapper around margin and random sampling -------------

WRAPPERS = {
    "dedup": lambda base: DeduplicatedBatch(base),
    "dedup_tight": lambda base: DeduplicatedBatch(base, threshold=0.7, oversample=1),
    "balanced": lambda base: ClassBalanced(base, oversample=2),
    "subsampled": lambda base: Subsampled(base, size=13),
    "neighbors": lambda base: NearestNeighborCandidates(base, k=3),
    "neighbors_faiss": lambda base: NearestNeighborCandidates(
        base, k=3, index=FaissNeighborIndex()
    ),
    "shortlisted_first": lambda base: Shortlisted(base, RandomSampling(), factor=3),
    "shortlisted_then": lambda base: Shortlisted(MarginSampling(chunk_size=7), base, factor=2),
    "random_share": lambda base: RandomShare(base, share=0.3),
    "all_random": lambda base: RandomShare(base, share=1.0),
}
BASES = {"margin": lambda: MarginSampling(chunk_size=7), "random": RandomSampling}
CASES = [(w, b) for w in WRAPPERS for b in BASES]


def make(wrapper, base):
    if wrapper == "neighbors_faiss":
        pytest.importorskip("faiss")
    return WRAPPERS[wrapper](BASES[base]())


@pytest.mark.parametrize(("wrapper", "base"), CASES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_selection_is_distinct_unlabeled_and_exactly_n(wrapper, base, data):
    n_pool = data.draw(st.integers(min_value=1, max_value=60), label="n_pool")
    labeled_mask = np.array(data.draw(st.lists(st.booleans(), min_size=n_pool, max_size=n_pool)))
    if labeled_mask.all():
        labeled_mask[0] = False
    labeled = np.flatnonzero(labeled_mask)
    unlabeled = np.flatnonzero(~labeled_mask)
    n = data.draw(st.integers(min_value=1, max_value=70), label="n")
    seed = data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    q = make(wrapper, base).query(
        learner_for(n_pool), distinct_index_pool(n_pool), labeled, unlabeled, n, random_state=seed
    )
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert not np.isin(q.indices, labeled).any()
    assert q.scores.shape == q.indices.shape
    assert q.indices.dtype == np.intp
    assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"


@pytest.mark.parametrize(("wrapper", "base"), CASES)
def test_deterministic_under_a_seed(wrapper, base):
    args = (learner_for(200), distinct_index_pool(200), np.arange(10), np.arange(10, 200), 25)
    first = make(wrapper, base).query(*args, random_state=42)
    second = make(wrapper, base).query(*args, random_state=42)
    assert first.indices.tolist() == second.indices.tolist()
    np.testing.assert_array_equal(first.scores, second.scores)


@pytest.mark.parametrize(("wrapper", "base"), CASES)
def test_n_equal_to_pool_returns_everything(wrapper, base):
    q = make(wrapper, base).query(
        learner_for(30), distinct_index_pool(30), [], np.arange(30), 30, random_state=0
    )
    assert sorted(q.indices.tolist()) == list(range(30))


@pytest.mark.parametrize(("wrapper", "base"), CASES)
def test_empty_and_exhausted_pools_raise(wrapper, base):
    strategy = make(wrapper, base)
    with pytest.raises(EmptyPoolError):
        strategy.query(learner_for(1), index_pool(0), [], [], 1)
    with pytest.raises(PoolExhaustedError):
        strategy.query(learner_for(3), index_pool(3), np.arange(3), [], 1)


@pytest.mark.parametrize(("wrapper", "base"), CASES)
@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_bad_n_is_refused_with_its_value(wrapper, base, n):
    with pytest.raises(ValueError, match=r"'n' parameter .* must be an int in \[1, inf\)"):
        make(wrapper, base).query(learner_for(3), index_pool(3), [], np.arange(3), n)


@pytest.mark.parametrize(("wrapper", "base"), CASES)
def test_inconsistent_index_sets_are_refused(wrapper, base):
    strategy = make(wrapper, base)
    with pytest.raises(QueryError, match="both labeled and unlabeled"):
        strategy.query(learner_for(5), index_pool(5), [1], np.arange(5), 1)
    with pytest.raises(QueryError, match="repeated"):
        strategy.query(learner_for(5), index_pool(5), [], [0, 0, 1], 1)
    with pytest.raises(QueryError, match="outside a pool"):
        strategy.query(learner_for(5), index_pool(5), [], [0, 9], 1)


def test_the_provenance_names_the_wrapper_and_what_it_wraps():
    wrapped = Shortlisted(DeduplicatedBatch(MarginSampling()), RandomSampling(), factor=4)
    expected = (
        "Shortlisted(DeduplicatedBatch(MarginSampling(chunk_size=16384), threshold=0.95, "
        "oversample=3), RandomSampling(), factor=4)"
    )
    assert repr(wrapped) == expected
    q = wrapped.query(
        learner_for(20), distinct_index_pool(20), [], np.arange(20), 3, random_state=0
    )
    assert q.strategy == expected
    assert repr(NearestNeighborCandidates(RandomSampling(), k=5)) == (
        "NearestNeighborCandidates(RandomSampling(), k=5, index=None, random_state=None)"
    )


def test_requires_learner_follows_the_wrapped_strategies():
    assert DeduplicatedBatch(RandomSampling()).requires_learner is False
    assert DeduplicatedBatch(MarginSampling()).requires_learner is True
    assert Subsampled(RandomSampling()).requires_learner is False
    assert NearestNeighborCandidates(RandomSampling()).requires_learner is False
    assert Shortlisted(RandomSampling(), RandomSampling()).requires_learner is False
    assert Shortlisted(RandomSampling(), MarginSampling()).requires_learner is True
    assert ClassBalanced(RandomSampling()).requires_learner is True


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            DeduplicatedBatch(RandomSampling(), threshold=2),
            r"'threshold' parameter of DeduplicatedBatch must be a float in \[-1, 1\]\. Got 2",
        ),
        (
            DeduplicatedBatch(RandomSampling(), oversample=0),
            r"'oversample' parameter of DeduplicatedBatch must be an int in \[1, inf\)\. Got 0",
        ),
        (
            ClassBalanced(RandomSampling(), oversample=1.5),  # type: ignore[arg-type]
            r"'oversample' parameter of ClassBalanced .* Got 1\.5",
        ),
        (Subsampled(RandomSampling(), size=-3), r"'size' parameter of Subsampled .* Got -3"),
        (NearestNeighborCandidates(RandomSampling(), k=0), r"'k' parameter .* Got 0"),
        (Shortlisted(RandomSampling(), RandomSampling(), factor=0), r"'factor' .* Got 0"),
        (RandomShare(RandomSampling(), share=1.5), r"'share' parameter of RandomShare .* Got 1\.5"),
    ],
)
def test_bad_parameters_are_refused_at_query_time_with_their_value(strategy, message):
    with pytest.raises(ValueError, match=message):
        strategy.query(learner_for(5), distinct_index_pool(5), [0], np.arange(1, 5), 2)


def test_a_base_that_is_not_a_strategy_is_named():
    with pytest.raises(TypeError, match=r"'base' parameter of Subsampled must be a QueryStrategy"):
        Subsampled("margin").query(None, index_pool(3), [], np.arange(3), 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'then' parameter of Shortlisted"):
        Shortlisted(RandomSampling(), None).query(None, index_pool(3), [], np.arange(3), 1)  # type: ignore[arg-type]


# -- DeduplicatedBatch ----------------------------------------------------------------------


class HiIsUncertain:
    """A learner unsure about "hi" (feature 0 set) and surer of the rest, in pool order."""

    def predict_proba(self, X):
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        top = np.where(X[:, 0] > 0.5, 0.5, 0.6 + X[:, 1] / 100)
        return np.c_[top, 1 - top]


def hi_pool():
    """Ten identical "hi" rows (positions 0-9), then 20 distinct rows."""
    rng = np.random.default_rng(0)
    hi = np.zeros((10, 12))
    hi[:, 0] = 1.0
    others = np.c_[np.zeros(20), np.arange(20) / 2, rng.normal(size=(20, 10))]
    texts = ["hi"] * 10 + [f"question {i}" for i in range(20)]
    return Pool(np.r_[hi, others], texts=texts)


@pytest.mark.parametrize("sparse", [False, True])
def test_a_batch_holds_at_most_one_copy_of_hi(sparse):
    pool = hi_pool()
    if sparse:
        pool = Pool(sp.csr_matrix(pool.features), texts=pool.texts)
    plain = MarginSampling().query(HiIsUncertain(), pool, NONE, np.arange(30), 5, random_state=0)
    assert set(plain.indices.tolist()) <= set(range(10)), "without the wrapper: five copies"
    q = DeduplicatedBatch(MarginSampling()).query(
        HiIsUncertain(), pool, NONE, np.arange(30), 5, random_state=0
    )
    assert len(q) == 5
    assert np.isin(q.indices, np.arange(10)).sum() == 1
    assert q.indices[0] == plain.indices[0], "the best copy of hi is the one kept"
    # Then the base's order among distinct rows: margin 1 - (0.2 + i / 100) for row 10 + i.
    assert q.indices[1:].tolist() == [10, 11, 12, 13]
    np.testing.assert_allclose(q.scores, [1.0, 0.8, 0.79, 0.78, 0.77])


def test_without_near_duplicates_the_answer_is_the_base_strategy_s():
    # Holds for strategies whose top-k is a prefix of their top-(3k) under one seed.
    args = (learner_for(80), distinct_index_pool(80), np.arange(5), np.arange(5, 80), 12)
    q = DeduplicatedBatch(MarginSampling()).query(*args, random_state=11)
    plain = MarginSampling().query(*args, random_state=11)
    assert q.indices.tolist() == plain.indices.tolist()
    np.testing.assert_array_equal(q.scores, plain.scores)


def test_asks_the_base_again_when_too_few_distinct_items_survive():
    pool = hi_pool()
    base = Recording(MarginSampling())
    q = DeduplicatedBatch(base, oversample=1).query(
        HiIsUncertain(), pool, NONE, np.arange(30), 5, random_state=0
    )
    # 5 candidates are all "hi"; 10 too; 20 hold eleven distinct items.
    assert [n for _, n in base.asked] == [5, 10, 20]
    assert len(q) == 5


def test_a_pool_of_few_distinct_items_gives_a_short_batch_without_copies():
    features = np.repeat(np.eye(3), [5, 4, 6], axis=0)
    q = DeduplicatedBatch(RandomSampling()).query(
        None, Pool(features), NONE, np.arange(15), 10, random_state=3
    )
    assert len(q) == 3
    assert sorted(np.argmax(features[q.indices], axis=1).tolist()) == [0, 1, 2]


@settings(max_examples=60, deadline=None)
@given(
    points=st.integers(min_value=1, max_value=25).flatmap(
        lambda m: st.lists(
            st.lists(st.integers(min_value=-3, max_value=3), min_size=3, max_size=3),
            min_size=m,
            max_size=m,
        )
    ),
    threshold=st.floats(min_value=0.3, max_value=0.99),
    n=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_no_pair_in_a_deduplicated_batch_is_above_the_threshold(points, threshold, n, seed):
    X = np.asarray(points, dtype=float)
    q = DeduplicatedBatch(RandomSampling(), threshold=threshold, oversample=1).query(
        None, Pool(X), NONE, np.arange(len(X)), n, random_state=seed
    )
    sims = cosine(X)
    chosen = sims[np.ix_(q.indices, q.indices)]
    off_diagonal = chosen[~np.eye(len(q), dtype=bool)]
    assert (off_diagonal <= threshold + 1e-9).all()
    assert np.unique(q.indices).size == len(q)
    if len(q) < min(n, len(X)):
        # The documented exception: every item left out is a near-copy of one chosen.
        left_out = np.setdiff1d(np.arange(len(X)), q.indices)
        assert (sims[np.ix_(left_out, q.indices)].max(axis=1) > threshold - 1e-9).all()


# -- ClassBalanced --------------------------------------------------------------------------

# Items 0-5: class 0, all near ties (the most uncertain); 6-8: class 1; 9-11: class 2.
BALANCE_PROBA = np.array(
    [[0.50, 0.49, 0.01], [0.51, 0.48, 0.01], [0.52, 0.47, 0.01]]
    + [[0.53, 0.46, 0.01], [0.54, 0.45, 0.01], [0.55, 0.44, 0.01]]
    + [[0.10, 0.80, 0.10], [0.05, 0.90, 0.05], [0.15, 0.70, 0.15]]
    + [[0.05, 0.10, 0.85], [0.20, 0.05, 0.75], [0.02, 0.03, 0.95]]
)


def test_class_balance_reaches_classes_the_base_would_skip():
    learner = FixedProbaLearner(BALANCE_PROBA)
    plain = MarginSampling().query(learner, index_pool(12), NONE, np.arange(12), 4, random_state=0)
    assert plain.indices.tolist() == [0, 1, 2, 3], "the base alone takes only class 0"
    q = ClassBalanced(MarginSampling(), oversample=3).query(
        learner, index_pool(12), NONE, np.arange(12), 4, random_state=0
    )
    # Margins: class 0 at 0.99, 0.97, ...; class 1 at best 0.45 (item 8); class 2 at best
    # 0.45 (item 10). Round one deals 0, 8 and 10; round two starts with 1.
    assert set(q.indices.tolist()) == {0, 1, 8, 10}
    assert q.indices[:2].tolist() == [0, 1]
    np.testing.assert_allclose(q.scores, [0.99, 0.97, 0.45, 0.45])


def test_class_balance_deals_round_robin_in_order_of_each_class_best_score():
    learner = FixedProbaLearner(BALANCE_PROBA)
    q = ClassBalanced(MarginSampling(), oversample=5).query(
        learner, index_pool(12), NONE, np.arange(12), 6, random_state=0
    )
    # Two rounds over three classes: the best two of each class.
    assert sorted(q.indices.tolist()) == [0, 1, 6, 8, 9, 10]
    assert (np.diff(q.scores) <= 0).all()


def test_class_balance_only_sees_the_base_candidates():
    learner = FixedProbaLearner(BALANCE_PROBA)
    q = ClassBalanced(MarginSampling(), oversample=1).query(
        learner, index_pool(12), NONE, np.arange(12), 3, random_state=0
    )
    assert q.indices.tolist() == [0, 1, 2]


def test_class_balance_with_a_fitted_probabilistic_classifier():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = np.concatenate([c + rng.normal(size=(40, 2)) for c in centres])
    y = np.repeat(["a", "b", "c"], 40)
    labeled = np.r_[0:5, 40:45, 80:85]
    clf = ProbabilisticClassifier(classes=["a", "b", "c"]).fit(X[labeled], y[labeled])
    unlabeled = np.setdiff1d(np.arange(120), labeled)
    q = ClassBalanced(MarginSampling()).query(clf, Pool(X), labeled, unlabeled, 9, random_state=0)
    predicted = clf.predict(X[q.indices])
    assert sorted(np.unique(predicted).tolist()) == ["a", "b", "c"]
    assert (np.diff(q.scores) <= 0).all()


def test_class_balance_needs_a_fitted_learner():
    with pytest.raises(NotFittedError, match="ClassBalanced needs a fitted learner"):
        ClassBalanced(RandomSampling()).query(None, index_pool(4), NONE, np.arange(4), 2)
    unfitted = ProbabilisticClassifier(classes=["a", "b"])
    with pytest.raises(NotFittedError):
        ClassBalanced(RandomSampling()).query(unfitted, index_pool(4), NONE, np.arange(4), 2)


# -- Subsampled -----------------------------------------------------------------------------


def test_subsampled_scores_only_its_subsample_and_is_deterministic():
    pool, learner = index_pool(500), learner_for(500)
    unlabeled = np.arange(20, 500)
    runs = []
    for seed in (5, 5, 6):
        base = Recording(MarginSampling())
        q = Subsampled(base, size=50).query(
            learner, pool, np.arange(20), unlabeled, 10, random_state=seed
        )
        ((sample, asked_n),) = base.asked
        assert asked_n == 10 and sample.size == 50 and np.unique(sample).size == 50
        assert np.isin(sample, unlabeled).all()
        assert np.isin(q.indices, sample).all()
        runs.append((sample.tolist(), q.indices.tolist()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_subsampled_own_seed_fixes_the_sample_whatever_the_query_seed():
    samples = []
    for seed in (1, 2):
        base = Recording(RandomSampling())
        Subsampled(base, size=30, random_state=9).query(
            None, index_pool(300), NONE, np.arange(300), 5, random_state=seed
        )
        samples.append(base.asked[0][0].tolist())
    assert samples[0] == samples[1]


def test_subsampled_passes_through_when_the_pool_is_small():
    base = Recording(MarginSampling())
    args = (learner_for(40), index_pool(40), np.arange(5), np.arange(5, 40), 7)
    q = Subsampled(base, size=35).query(*args, random_state=3)
    assert base.asked[0][0].tolist() == list(range(5, 40))
    assert q.indices.tolist() == MarginSampling().query(*args, random_state=3).indices.tolist()


def test_subsampled_scores_at_least_n_items():
    base = Recording(RandomSampling())
    q = Subsampled(base, size=3).query(
        None, index_pool(100), NONE, np.arange(100), 8, random_state=0
    )
    assert base.asked[0][0].size == 8
    assert len(q) == 8


# -- neighbour indexes ----------------------------------------------------------------------


def brute_force(X, queries, k):
    sims = cosine(np.r_[queries, X])[: len(queries), len(queries) :]
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_exact_index_equals_brute_force(chunk_size):
    rng = np.random.default_rng(1)
    X, queries = rng.normal(size=(300, 8)), rng.normal(size=(40, 8))
    found = ExactNeighborIndex(chunk_size=chunk_size).build(X).search(queries, 10)
    assert found.shape == (40, 10) and found.dtype == np.intp
    np.testing.assert_array_equal(found, brute_force(X, queries, 10))


def test_exact_index_on_sparse_rows_matches_dense():
    rng = np.random.default_rng(2)
    X = rng.random((120, 30)) * (rng.random((120, 30)) < 0.2)
    X[0] = X[1]  # exact duplicates tie: ordered by position
    dense = ExactNeighborIndex(chunk_size=16).build(X).search(X[:20], 5)
    sparse = (
        ExactNeighborIndex(chunk_size=16).build(sp.csr_matrix(X)).search(sp.csr_matrix(X[:20]), 5)
    )
    np.testing.assert_array_equal(dense, sparse)
    assert dense[0, :2].tolist() == [0, 1] and dense[1, :2].tolist() == [0, 1]


def test_exact_index_known_answer_and_padding():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    index = ExactNeighborIndex().build(X)
    assert isinstance(index, NeighborIndex)
    assert index.search(np.array([[2.0, 0.1]]), 5).tolist() == [[0, 2, 1, -1, -1]]


def test_an_index_must_be_built_before_search():
    with pytest.raises(NotFittedError, match="not built yet"):
        ExactNeighborIndex().search(np.ones((1, 2)), 1)


def test_default_index_is_exact_for_small_or_sparse_pools():
    assert isinstance(default_index(np.zeros((10, 3))), ExactNeighborIndex)
    assert isinstance(default_index(sp.csr_matrix((60_000, 3))), ExactNeighborIndex)
    assert isinstance(default_index(np.zeros((60_000, 1), dtype=np.float32)), FaissNeighborIndex)


def test_default_index_is_compressed_for_pools_of_millions():
    # Only the shape is read: a memory map of 2 million rows costs no memory.
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, dtype=np.float16), (2_000_000, 384), (0, 0))
    assert isinstance(default_index(huge), FaissCompressedIndex)


class _RowsAsked:
    """Features that record how many rows each read asked for."""

    def __init__(self, x):
        self.x, self.shape, self.asked = x, x.shape, []

    def __getitem__(self, rows):
        self.asked.append(np.arange(self.shape[0])[rows].size)
        return self.x[rows]


def test_the_compressed_index_finds_neighbours_reading_a_chunk_at_a_time():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    X = (centres[np.arange(8000) % 40] + 0.3 * rng.normal(size=(8000, 32))).astype(np.float16)
    rows = _RowsAsked(X)
    index = FaissCompressedIndex(nlist=16, pq_bytes=8, nprobe=8, train_size=4000, chunk_size=1000)
    index.build(rows)
    assert max(rows.asked) <= 4000 and sum(rows.asked) == 8000 + 4000
    approx = index.search(X[:100], 10)
    assert approx.shape == (100, 10) and approx.dtype == np.intp
    # Compressed distances blur the order inside a cluster of 200 near copies, but the
    # neighbours found are the query's cluster-mates.
    same_cluster = (approx % 40) == (np.arange(100) % 40)[:, None]
    assert same_cluster.mean() >= 0.95
    assert repr(index) == "FaissCompressedIndex(nlist=16, pq_bytes=8, nprobe=8)"


@pytest.mark.parametrize(
    ("params", "shape", "message"),
    [
        ({"pq_bytes": 5}, (2000, 32), "must divide the number of columns"),
        ({"nlist": 100}, (2000, 32), "too few for 100 lists"),
    ],
)
def test_the_compressed_index_names_what_does_not_fit(params, shape, message):
    pytest.importorskip("faiss")
    with pytest.raises(ValueError, match=message):
        FaissCompressedIndex(**params).build(np.ones(shape, dtype=np.float32))
    with pytest.raises(TypeError, match="needs dense features"):
        FaissCompressedIndex().build(sp.csr_matrix(np.eye(3)))
    with pytest.raises(NotFittedError):
        FaissCompressedIndex().search(np.ones((1, 3)), 1)


def test_faiss_recall_at_10_against_exact_search():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 32))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    queries = X[:200]
    exact = ExactNeighborIndex().build(X).search(queries, 10)
    approx = FaissNeighborIndex().build(X).search(queries, 10)
    assert approx.shape == (200, 10) and approx.dtype == np.intp
    recall = np.mean([np.isin(a, e).mean() for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.9


@pytest.mark.parametrize(
    "make",
    [
        ExactNeighborIndex,
        FaissNeighborIndex,
        lambda: FaissCompressedIndex(nlist=8, pq_bytes=8, train_size=2000, chunk_size=300),
    ],
    ids=["exact", "hnsw", "compressed"],
)
def test_an_extended_index_finds_the_appended_rows(make):
    if make is not ExactNeighborIndex:
        pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 32)).astype(np.float32)
    index = make().build(_RowsAsked(X[:1500]))
    assert index.extend(_RowsAsked(X), 1500) is index
    # Each appended row is its own nearest neighbour, found at its position.
    found = index.search(X[1500:1600], 1)[:, 0]
    assert (found == np.arange(1500, 1600)).mean() >= 0.9
    if make is not ExactNeighborIndex:
        assert index.index_.ntotal == 2000
        with pytest.raises(ValueError, match="holds 2000 rows; it cannot extend from row 1500"):
            index.extend(X, 1500)


def test_the_hnsw_index_reads_a_stored_pool_a_chunk_at_a_time(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr("labelwise.strategies.wrappers._ADD_CHUNK", 700)
    X = np.random.default_rng(0).normal(size=(2000, 16)).astype(np.float16)
    rows = _RowsAsked(X)
    index = FaissNeighborIndex().build(rows)
    assert rows.asked == [700, 700, 600]
    assert (index.search(X[:50], 1)[:, 0] == np.arange(50)).mean() >= 0.9
    with pytest.raises(NotFittedError):
        FaissNeighborIndex().extend(X, 0)


def test_faiss_index_refuses_sparse_rows():
    pytest.importorskip("faiss")
    with pytest.raises(TypeError, match="needs dense features"):
        FaissNeighborIndex().build(sp.csr_matrix(np.eye(3)))


def test_missing_faiss_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'labelwise\[ann\]'"):
        FaissNeighborIndex().build(np.eye(3))


# -- NearestNeighborCandidates --------------------------------------------------------------


def two_clusters():
    rng = np.random.default_rng(4)
    a = np.array([10.0, 0.0]) + rng.normal(size=(50, 2))
    b = np.array([0.0, 10.0]) + rng.normal(size=(50, 2))
    return Pool(np.r_[a, b])


class CountingIndex:
    def __init__(self):
        self.inner = ExactNeighborIndex()
        self.builds = 0

    def build(self, features):
        self.builds += 1
        self.inner.build(features)
        return self

    def search(self, queries, k):
        return self.inner.search(queries, k)


def test_only_neighbours_of_labeled_items_are_candidates():
    pool = two_clusters()
    labeled = np.array([0, 1, 2])
    unlabeled = np.setdiff1d(np.arange(100), labeled)
    base = Recording(RandomSampling())
    q = NearestNeighborCandidates(base, k=4).query(
        None, pool, labeled, unlabeled, 5, random_state=0
    )
    # The 4 nearest unlabeled neighbours of each labeled item, by brute force.
    sims = cosine(pool.features)[labeled][:, unlabeled]
    expected = np.unique(unlabeled[np.argsort(-sims, axis=1, kind="stable")[:, :4]])
    assert base.asked[0][0].tolist() == expected.tolist()
    assert np.isin(q.indices, expected).all()
    assert (q.indices < 50).all(), "all from the labeled items' cluster"


def test_labeled_neighbours_are_skipped_to_find_k_unlabeled_ones():
    # Items 0-9 are the same point, 1-9 labeled: item 0's first nine hits are labeled.
    features = np.r_[np.tile([1.0, 0.0], (10, 1)), np.c_[np.linspace(0, 1, 20), np.ones(20)]]
    labeled = np.arange(1, 10)
    unlabeled = np.r_[0, np.arange(10, 30)]
    base = Recording(RandomSampling())
    NearestNeighborCandidates(base, k=3).query(
        None, Pool(features), labeled, unlabeled, 2, random_state=0
    )
    # Every labeled item's 3 nearest unlabeled: item 0, then the two rows closest to [1, 0].
    assert base.asked[0][0].tolist() == [0, 28, 29]


def test_too_few_candidates_are_topped_up_at_random():
    pool = two_clusters()
    labeled = np.array([0])
    unlabeled = np.arange(1, 100)
    q = NearestNeighborCandidates(RandomSampling(), k=2).query(
        None, pool, labeled, unlabeled, 6, random_state=0
    )
    sims = cosine(pool.features)[0, unlabeled]
    neighbours = unlabeled[np.argsort(-sims, kind="stable")[:2]]
    assert len(q) == 6
    assert np.isin(neighbours, q.indices).all()


def test_without_labels_the_batch_is_a_random_sample():
    q = NearestNeighborCandidates(MarginSampling()).query(
        learner_for(50), distinct_index_pool(50), NONE, np.arange(50), 4, random_state=0
    )
    assert len(q) == 4


def test_the_index_is_built_once_per_features_object():
    pool = two_clusters()
    index = CountingIndex()
    strategy = NearestNeighborCandidates(RandomSampling(), k=3, index=index)
    for labeled in ([0], [0, 1], [0, 1, 60]):
        unlabeled = np.setdiff1d(np.arange(100), labeled)
        strategy.query(None, pool, labeled, unlabeled, 2, random_state=0)
    assert index.builds == 1
    strategy.query(None, Pool(pool.features.copy()), [0], np.arange(1, 100), 2, random_state=0)
    assert index.builds == 2
    assert strategy.index_ is index
    strategy.index = other = CountingIndex()
    strategy.query(None, pool, [0], np.arange(1, 100), 2, random_state=0)
    assert other.builds == 1 and strategy.index_ is other


def test_a_bad_index_is_named():
    strategy = NearestNeighborCandidates(RandomSampling(), index="hnsw")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'index' parameter .* Got 'hnsw' instead"):
        strategy.query(None, index_pool(5), [0], np.arange(1, 5), 1)


# -- Shortlisted ----------------------------------------------------------------------------


def test_shortlisted_returns_only_shortlisted_items():
    learner, pool = learner_for(200), index_pool(200)
    labeled, unlabeled = np.arange(10), np.arange(10, 200)
    then = Recording(RandomSampling())
    q = Shortlisted(MarginSampling(), then, factor=3).query(
        learner, pool, labeled, unlabeled, 8, random_state=1
    )
    top = MarginSampling().query(learner, pool, labeled, unlabeled, 24, random_state=1)
    ((shortlist, asked_n),) = then.asked
    assert asked_n == 8
    assert sorted(shortlist.tolist()) == sorted(top.indices.tolist())
    assert np.isin(q.indices, shortlist).all()
    np.testing.assert_array_equal(q.scores, 0.0)  # the scores are then's


def test_shortlisted_scores_come_from_the_second_stage():
    proba = np.array([[0.5, 0.5], [0.6, 0.4], [0.9, 0.1], [0.99, 0.01]])
    learner = FixedProbaLearner(proba)
    q = Shortlisted(RandomSampling(), MarginSampling(), factor=1).query(
        learner, index_pool(4), NONE, np.arange(4), 4, random_state=0
    )
    assert q.indices.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(q.scores, [1.0, 0.8, 0.2, 0.02])


def test_wrapped_queries_are_queries():
    q = Shortlisted(RandomSampling(), RandomSampling()).query(
        None, index_pool(5), NONE, np.arange(5), 2, random_state=0
    )
    assert isinstance(q, Query)


# -- a random share ---------------------------------------------------------------------


def test_a_random_share_keeps_the_base_s_best_and_draws_the_rest_elsewhere():
    pool, learner = distinct_index_pool(60), learner_for(60)
    unlabeled = np.arange(1, 60)
    best = MarginSampling().query(learner, pool, [0], unlabeled, 7, random_state=0)
    mixed = RandomShare(MarginSampling(), share=0.3).query(
        learner, pool, [0], unlabeled, 10, random_state=0
    )
    # 10 - round(3.0) = 7 chosen by margin, in its order, then 3 drawn among the others.
    assert mixed.indices[:7].tolist() == best.indices.tolist()
    assert not set(mixed.indices[7:].tolist()) & set(best.indices.tolist())
    assert np.all(mixed.scores[7:] == best.scores.min())


def test_the_random_share_differs_between_seeds_and_not_within_one():
    pool, learner = distinct_index_pool(200), learner_for(200)
    unlabeled = np.arange(1, 200)
    strategy = RandomShare(MarginSampling(), share=0.5)
    draw = [strategy.query(learner, pool, [0], unlabeled, 20, random_state=s) for s in (0, 0, 1)]
    assert draw[0].indices.tolist() == draw[1].indices.tolist()
    assert draw[0].indices[10:].tolist() != draw[2].indices[10:].tolist()


# -- BackgroundIndex -------------------------------------------------------------------------


def test_a_background_index_builds_on_its_own_thread_and_search_waits_for_it():
    X = np.random.default_rng(0).normal(size=(300, 8))
    inner = GatedIndex()
    index = BackgroundIndex(inner)
    assert index.build(X) is index and not index.ready  # returned before the build ran
    inner.gate.set()
    found = index.search(X[:5], 3)  # waits for the build
    assert index.ready and index.error is None
    np.testing.assert_array_equal(found, ExactNeighborIndex().build(X).search(X[:5], 3))
    assert index.extend(X, 300) is index
    index.wait()
    assert repr(index) == "BackgroundIndex(ExactNeighborIndex(chunk_size=1024), nice=19)"
    # Copied (as a simulation copies its strategy for each run) once its work is done.
    copied = copy.deepcopy(BackgroundIndex(ExactNeighborIndex()).build(X))
    assert copied.ready and copied.search(X[:5], 3).tolist() == found.tolist()


def test_a_failed_background_build_is_raised_by_search_and_replaced_by_the_next():
    X = np.random.default_rng(0).normal(size=(50, 4))
    inner = GatedIndex(fail=True)
    inner.gate.set()
    index = BackgroundIndex(inner).build(X)
    with pytest.raises(RuntimeError, match="the build broke"):
        index.search(X[:1], 1)
    assert index.ready and isinstance(index.error, RuntimeError)
    inner.fail = False
    index.build(X).wait()
    assert index.error is None and index.search(X[:1], 1).tolist() == [[0]]
    with pytest.raises(TypeError, match="cannot extend"):
        BackgroundIndex(object()).extend(X, 0)


class PriorityRecordingIndex(ExactNeighborIndex):
    """Exact search that records the niceness of the thread that built it."""

    def build(self, features):
        self.niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return super().build(features)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness")
@pytest.mark.parametrize("nice", [0, 5, 19])
def test_a_background_build_runs_at_a_lower_priority_than_its_caller(nice):
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    recording = PriorityRecordingIndex()
    BackgroundIndex(recording, nice=nice).build(np.eye(3)).wait()
    assert recording.niceness == min(19, own + nice)
    # The caller's own priority is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
