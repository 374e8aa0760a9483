"""Known answers for the batch-aware strategies: CoreSet, BADGE and ClusterMargin."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies.diversity import BADGE, ClusterMargin, CoreSet, _grad_sq_distances
from labelwise.strategies.uncertainty import MarginSampling
from tests.strategies.fakes import FixedProbaLearner, index_pool

NONE = np.zeros(0, dtype=int)


def line_pool(*xs):
    return Pool(np.asarray(xs, dtype=float)[:, None])


# --------------------------------------------------------------------------- CoreSet


def test_coreset_takes_the_farthest_point_then_halves_the_largest_gap():
    pool = line_pool(*range(11))  # 0, 1, ..., 10
    q = CoreSet().query(None, pool, [0], np.arange(1, 11), 2, random_state=0)
    assert q.indices.tolist() == [10, 5]
    np.testing.assert_allclose(q.scores, [10.0, 5.0])


@pytest.mark.parametrize("sparse", [False, True])
def test_coreset_without_labels_starts_nearest_the_mean(sparse):
    x = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])  # mean 3.2
    pool = Pool(sp.csr_matrix(x) if sparse else x)
    q = CoreSet().query(None, pool, NONE, np.arange(5), 3, random_state=0)
    assert q.indices.tolist() == [3, 4, 0]
    # the first pick is scored with the radius it leaves (10 - 3), equal to the next pick's
    np.testing.assert_allclose(q.scores, [7.0, 7.0, 3.0])


def test_coreset_in_two_dimensions_measures_euclidean_distance():
    points = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [-6.0, -8.0]])
    q = CoreSet().query(None, Pool(points), [0], [1, 2, 3], 3, random_state=0)
    assert q.indices.tolist() == [3, 1, 2]
    np.testing.assert_allclose(q.scores, [10.0, 5.0, np.sqrt(2.0)])


def brute_force_k_center(x, labeled, unlabeled, n):
    d = cdist(x[unlabeled], x[labeled]).min(axis=1)
    picks, scores = [], []
    for _ in range(n):
        j = int(np.argmax(np.where(np.isin(unlabeled, picks), -1.0, d)))
        picks.append(int(unlabeled[j]))
        scores.append(d[j])
        d = np.minimum(d, cdist(x[unlabeled], x[[unlabeled[j]]])[:, 0])
    return picks, scores


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("chunk_size", [1, 7, 16384])
def test_coreset_matches_brute_force_k_center(sparse, chunk_size):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 6)) * (rng.random((400, 6)) < 0.5)
    labeled = np.arange(0, 400, 3)[:130]  # more than one block of labeled centres
    unlabeled = np.setdiff1d(np.arange(400), labeled)
    features = sp.csr_matrix(x) if sparse else x
    q = CoreSet(chunk_size=chunk_size).query(
        None, Pool(features), labeled, unlabeled, 12, random_state=0
    )
    picks, scores = brute_force_k_center(x, labeled, unlabeled, 12)
    assert q.indices.tolist() == picks
    np.testing.assert_allclose(q.scores, scores, rtol=1e-9)


def test_coreset_with_more_labeled_than_one_centre_block():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    labeled, unlabeled = np.arange(300), np.arange(300, 600)
    q = CoreSet(chunk_size=50).query(None, Pool(x), labeled, unlabeled, 5, random_state=0)
    assert q.indices.tolist() == brute_force_k_center(x, labeled, unlabeled, 5)[0]


@pytest.mark.parametrize("labeled", [[0], []])
def test_coreset_identical_points_give_distinct_picks_scored_zero(labeled):
    unlabeled = np.setdiff1d(np.arange(6), labeled)
    q = CoreSet().query(None, Pool(np.ones((6, 2))), labeled, unlabeled, 5, random_state=3)
    assert np.unique(q.indices).size == 5
    assert np.isin(q.indices, unlabeled).all()
    np.testing.assert_allclose(q.scores, 0.0, atol=1e-12)


def test_coreset_single_item_without_labels_scores_zero():
    q = CoreSet().query(None, line_pool(4.0), NONE, [0], 3, random_state=0)
    assert q.indices.tolist() == [0]
    assert q.scores.tolist() == [0.0]


def test_coreset_needs_no_learner_and_breaks_ties_by_seed():
    assert CoreSet.requires_learner is False
    pool = line_pool(0, 5, -5, 5, -5)  # 1..4 tie at distance 5 from the labeled 0
    picks = {
        CoreSet().query(None, pool, [0], [1, 2, 3, 4], 1, random_state=s).indices[0]
        for s in range(20)
    }
    assert picks == {1, 2, 3, 4}


def test_coreset_constructor_seed_is_used_when_the_query_gives_none():
    pool = line_pool(0, 5, -5, 5, -5)
    first = CoreSet(random_state=11).query(None, pool, [0], [1, 2, 3, 4], 4)
    again = CoreSet(random_state=11).query(None, pool, [0], [1, 2, 3, 4], 4)
    assert first.indices.tolist() == again.indices.tolist()


def test_coreset_bad_chunk_size_is_refused():
    with pytest.raises(ValueError, match=r"'chunk_size' parameter of CoreSet .* Got 0 instead"):
        CoreSet(chunk_size=0).query(None, line_pool(0, 1), NONE, [0, 1], 1)


# ----------------------------------------------------------------------------- BADGE


def explicit_embedding(proba, x):
    hard = np.eye(proba.shape[1])[proba.argmax(axis=1)]
    a = proba - hard
    return np.stack([np.kron(a[i], np.append(x[i], 1.0)) for i in range(len(x))])


def test_badge_factorised_distance_equals_the_kronecker_embedding_distance():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(4), size=9)
    x = rng.normal(size=(9, 5))
    g = explicit_embedding(proba, x)
    a = proba - np.eye(4)[proba.argmax(axis=1)]
    g2 = (a**2).sum(axis=1) * ((x**2).sum(axis=1) + 1.0)
    np.testing.assert_allclose(g2, (g**2).sum(axis=1))
    for c in range(9):
        d2 = _grad_sq_distances(a, x, g2, a[c], x[[c]], float(g2[c]))
        np.testing.assert_allclose(d2, ((g - g[c]) ** 2).sum(axis=1), atol=1e-12)
        assert d2[c] == 0.0
    sparse = _grad_sq_distances(a, sp.csr_matrix(x), g2, a[2], sp.csr_matrix(x[[2]]), g2[2])
    np.testing.assert_allclose(sparse, ((g - g[2]) ** 2).sum(axis=1), atol=1e-12)


def test_badge_first_centre_has_the_largest_gradient_and_the_next_is_scored_by_d2():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet(np.ones(3), size=12)
    x = np.column_stack([np.arange(12.0), rng.normal(size=12)])  # column 0 feeds the fake
    g = explicit_embedding(proba, x)
    norms2 = (g**2).sum(axis=1)
    first = int(np.argmax(norms2))
    for seed in range(5):
        q = BADGE().query(
            FixedProbaLearner(proba), Pool(x), NONE, np.arange(12), 2, random_state=seed
        )
        by_index = dict(zip(q.indices.tolist(), q.scores.tolist(), strict=True))
        assert first in by_index
        assert by_index[first] == pytest.approx(norms2[first])
        (other,) = set(by_index) - {first}
        assert by_index[other] == pytest.approx(((g[other] - g[first]) ** 2).sum())
        assert (np.diff(q.scores) <= 0).all()


@pytest.mark.parametrize("n", [3, 20])
def test_badge_never_repeats_items_when_all_are_identical(n):
    # zero features: the fake learner looks every item up as row 0, so all are identical
    learner = FixedProbaLearner(np.tile([0.6, 0.4], (20, 1)))
    pool = Pool(np.zeros((20, 3)))
    for seed in range(5):
        q = BADGE().query(learner, pool, NONE, np.arange(20), n, random_state=seed)
        assert np.unique(q.indices).size == n
        assert q.scores[0] == pytest.approx(0.4**2 + 0.4**2)  # ||p - e_0||^2 * (0 + 1)
        np.testing.assert_array_equal(q.scores[1:], 0.0)


def test_badge_with_a_certain_model_draws_distinct_items_uniformly():
    learner = FixedProbaLearner(np.tile([1.0, 0.0], (30, 1)))  # every gradient is 0
    picks = set()
    for seed in range(10):
        q = BADGE().query(learner, index_pool(30), NONE, np.arange(30), 10, random_state=seed)
        assert np.unique(q.indices).size == 10
        np.testing.assert_array_equal(q.scores, 0.0)
        picks.update(q.indices.tolist())
    assert len(picks) > 20


def test_badge_draws_later_centres_in_proportion_to_d2():
    rng = np.random.default_rng(0)
    weights = np.array([0.0, 3.0, 1.0, 0.0])
    available = np.array([False, True, True, True])
    draws = np.array([BADGE._sample_d2(weights, available, rng) for _ in range(4000)])
    assert set(draws.tolist()) == {1, 2}
    assert np.mean(draws == 1) == pytest.approx(0.75, abs=0.03)


def test_badge_chunking_does_not_change_the_batch():
    rng = np.random.default_rng(6)
    x = np.column_stack([np.arange(80.0), rng.normal(size=(80, 3))])
    learner = FixedProbaLearner(rng.dirichlet(np.ones(4), size=80))
    args = (learner, Pool(x), np.arange(5), np.arange(5, 80), 10)
    whole = BADGE().query(*args, random_state=2)
    chunked = BADGE(chunk_size=7).query(*args, random_state=2)
    assert whole.indices.tolist() == chunked.indices.tolist()
    np.testing.assert_allclose(whole.scores, chunked.scores, rtol=1e-12)


def test_badge_sparse_and_dense_features_agree():
    rng = np.random.default_rng(4)
    x = rng.random((40, 5)) * (rng.random((40, 5)) < 0.4)
    x[:, 0] = np.arange(40)
    proba = rng.dirichlet(np.ones(3), size=40)
    fixed = FixedProbaLearner(proba)

    class SparseAware:
        def predict_proba(self, X):
            return fixed.predict_proba(X.toarray() if sp.issparse(X) else X)

    args = (SparseAware(),)
    dense = BADGE().query(*args, Pool(x), [0, 1], np.arange(2, 40), 6, random_state=9)
    sparse = BADGE().query(
        *args, Pool(sp.csr_matrix(x)), [0, 1], np.arange(2, 40), 6, random_state=9
    )
    assert dense.indices.tolist() == sparse.indices.tolist()
    np.testing.assert_allclose(dense.scores, sparse.scores, rtol=1e-9)


def test_badge_multilabel_uses_thresholded_labels():
    proba = np.array([[0.9, 0.2], [0.6, 0.5], [0.1, 0.1]])
    learner = FixedProbaLearner(proba, multilabel=True)
    q = BADGE().query(learner, index_pool(3), NONE, np.arange(3), 1, random_state=0)
    # a = p - [p >= 0.5]; s = x^2 + 1 with x the position
    g2 = np.array([(0.01 + 0.04) * 1, (0.16 + 0.25) * 2, (0.01 + 0.01) * 5])
    assert q.indices.tolist() == [1]
    assert q.scores[0] == pytest.approx(g2.max())


def test_badge_needs_a_fitted_learner():
    with pytest.raises(NotFittedError, match="BADGE needs a fitted learner"):
        BADGE().query(None, index_pool(3), NONE, np.arange(3), 1)


# ---------------------------------------------------------------------- ClusterMargin


def two_cluster_pool(n_a, n_b):
    """Column 0 is the position (for the fake learner), column 1 puts the clusters far apart."""
    far = np.r_[np.zeros(n_a), np.full(n_b, 1000.0)]
    return Pool(np.column_stack([np.arange(n_a + n_b, dtype=float), far]))


def margin_proba(utilities):
    """Two-class probabilities whose margin utility is exactly ``utilities``."""
    gap = 1.0 - np.asarray(utilities)
    return np.column_stack([(1 + gap) / 2, (1 - gap) / 2])


def test_cluster_margin_spreads_a_batch_over_two_tight_clusters():
    utilities = [0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.89, 0.88, 0.87, 0.86]
    learner = FixedProbaLearner(margin_proba(utilities))
    pool = two_cluster_pool(5, 5)
    plain = MarginSampling().query(learner, pool, NONE, np.arange(10), 2, random_state=0)
    assert plain.indices.tolist() == [0, 1]
    q = ClusterMargin(shortlist_factor=5).query(
        learner, pool, NONE, np.arange(10), 2, random_state=0
    )
    assert q.indices.tolist() == [0, 5]
    np.testing.assert_allclose(q.scores, [0.99, 0.90])


def test_cluster_margin_visits_the_smaller_cluster_first_each_round():
    # cluster A (3 items) is less uncertain than cluster B (7 items)
    utilities = [0.50, 0.40, 0.30] + [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93]
    learner = FixedProbaLearner(margin_proba(utilities))
    q = ClusterMargin(n_clusters=2).query(
        learner, two_cluster_pool(3, 7), NONE, np.arange(10), 3, random_state=0
    )
    # rounds: A's best, B's best, then A's second (before B's second)
    assert q.indices.tolist() == [3, 0, 1]
    np.testing.assert_allclose(q.scores, [0.99, 0.50, 0.40])


def test_cluster_margin_with_a_shortlist_of_n_is_margin_sampling():
    rng = np.random.default_rng(0)
    learner = FixedProbaLearner(rng.dirichlet(np.ones(3), size=50))
    args = (learner, index_pool(50), [0, 1], np.arange(2, 50), 8)
    q = ClusterMargin(shortlist_factor=1).query(*args, random_state=3)
    plain = MarginSampling().query(*args, random_state=3)
    assert q.indices.tolist() == plain.indices.tolist()
    np.testing.assert_allclose(q.scores, plain.scores)


def test_cluster_margin_copes_with_duplicate_rows():
    learner = FixedProbaLearner(np.full((12, 2), 0.5))
    # all rows identical apart from the lookup column, which is scaled to nothing
    pool = Pool(np.column_stack([np.arange(12.0), np.zeros(12)]))
    q = ClusterMargin(n_clusters=5).query(learner, pool, NONE, np.arange(12), 5, random_state=0)
    assert np.unique(q.indices).size == 5

    class Constant:
        def predict_proba(self, X):
            return np.full((X.shape[0], 2), 0.5)

    q = ClusterMargin().query(
        Constant(), Pool(np.ones((12, 2))), NONE, np.arange(12), 6, random_state=0
    )
    assert np.unique(q.indices).size == 6


@pytest.mark.parametrize(
    ("params", "name", "value"),
    [
        ({"shortlist_factor": 0}, "shortlist_factor", "0"),
        ({"shortlist_factor": 2.5}, "shortlist_factor", "2.5"),
        ({"n_clusters": 0}, "n_clusters", "0"),
    ],
)
def test_cluster_margin_bad_parameters_are_refused(params, name, value):
    learner = FixedProbaLearner(np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=rf"'{name}' parameter of ClusterMargin .* Got {value} "):
        ClusterMargin(**params).query(learner, index_pool(3), NONE, np.arange(3), 1)


def test_cluster_margin_needs_a_fitted_learner():
    with pytest.raises(NotFittedError, match="ClusterMargin needs a fitted learner"):
        ClusterMargin().query(None, index_pool(3), NONE, np.arange(3), 1)


# ------------------------------------------------------------- contract on real models


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    labeled = np.concatenate([np.flatnonzero(y == k)[:3] for k in range(3)])
    learner = ProbabilisticClassifier(LogisticRegression(max_iter=1000), classes=[0, 1, 2])
    learner.fit(x[labeled], y[labeled])
    unlabeled = np.setdiff1d(np.arange(90), labeled)
    return learner, Pool(x), labeled, unlabeled


def check_contract(make, learner, pool, labeled, unlabeled):
    for n in (1, 7, unlabeled.size, unlabeled.size + 5):
        q = make().query(learner, pool, labeled, unlabeled, n, random_state=n)
        assert len(q) == min(n, unlabeled.size)
        assert np.unique(q.indices).size == len(q)
        assert np.isin(q.indices, unlabeled).all()
        assert not np.isin(q.indices, labeled).any()
        assert q.scores.shape == q.indices.shape
        assert np.isfinite(q.scores).all()
        assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"
        again = make().query(learner, pool, labeled, unlabeled, n, random_state=n)
        assert again.indices.tolist() == q.indices.tolist()
        np.testing.assert_array_equal(again.scores, q.scores)
        assert q.strategy == repr(make())


@pytest.mark.parametrize(
    "make",
    [
        CoreSet,
        lambda: CoreSet(chunk_size=7),
        BADGE,
        lambda: BADGE(chunk_size=7),
        ClusterMargin,
        lambda: ClusterMargin(shortlist_factor=2, n_clusters=3, chunk_size=7),
    ],
)
def test_contract_on_blobs_with_a_fitted_logistic_regression(blobs, make):
    check_contract(make, *blobs)


@pytest.mark.parametrize("cls", [CoreSet, BADGE, ClusterMargin])
def test_contract_with_no_labeled_items(blobs, cls):
    learner, pool, _, _ = blobs
    check_contract(cls, learner, pool, NONE, np.arange(len(pool)))
