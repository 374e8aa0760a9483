"""Known answers for InformationDensity: base utility times mean cosine similarity to the pool."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.exceptions import NotFittedError
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies.base import PointwiseStrategy
from labelwise.strategies.density import InformationDensity
from labelwise.strategies.uncertainty import EntropySampling, MarginSampling
from tests.strategies.fakes import FixedProbaLearner, context, score_all

NONE = np.zeros(0, dtype=int)


def brute_force_density(x):
    """Mean cosine similarity of every row to every row (itself included), clipped at 0."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return np.maximum((unit @ unit.T).mean(axis=1), 0.0)


def indexed_features(n, n_extra, seed):
    """Column 0 is the position (the fake learner's lookup key); the rest is noise."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.arange(n, dtype=float), rng.normal(size=(n, n_extra)) * 10])


class SparseAware(FixedProbaLearner):
    def predict_proba(self, X):
        return super().predict_proba(X.toarray() if sp.issparse(X) else X)


def test_hand_computed_density_of_three_points():
    # unit rows (1, 0), (0, 1), (1, 1)/sqrt(2); a flat model gives margin utility 1 for all
    pool = Pool(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    learner = FixedProbaLearner(np.full((2, 2), 0.5))
    q = InformationDensity(MarginSampling()).query(
        learner, pool, NONE, np.arange(3), 3, random_state=0
    )
    side = (1 + 1 / np.sqrt(2)) / 3  # mean of cos = [1, 0, 1/sqrt(2)]
    centre = (1 + np.sqrt(2)) / 3  # mean of cos = [1/sqrt(2), 1/sqrt(2), 1]
    assert q.indices[0] == 2
    np.testing.assert_allclose(q.scores, [centre, side, side])


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("chunk_size", [1, 7, 16384])
def test_score_is_base_times_brute_force_density(beta, chunk_size):
    x = indexed_features(60, 3, seed=1)
    proba = np.random.default_rng(2).dirichlet(np.ones(4), size=60)
    learner = FixedProbaLearner(proba)
    strategy = InformationDensity(MarginSampling(), beta=beta, chunk_size=chunk_size)
    labeled, unlabeled = np.arange(10), np.arange(10, 60)
    scores = score_all(strategy, learner, Pool(x), labeled, unlabeled)
    base = score_all(MarginSampling(), learner, Pool(x), labeled, unlabeled)
    expected = base * brute_force_density(x)[unlabeled] ** beta
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-15)
    q = strategy.query(learner, Pool(x), labeled, unlabeled, 15, random_state=0)
    np.testing.assert_allclose(q.scores, np.sort(expected)[::-1][:15], rtol=1e-10)
    np.testing.assert_allclose(q.scores, expected[np.searchsorted(unlabeled, q.indices)])


def test_beta_zero_gives_back_the_base_ranking():
    x = indexed_features(40, 2, seed=3)
    learner = FixedProbaLearner(np.random.default_rng(4).dirichlet(np.ones(3), size=40))
    args = (learner, Pool(x), NONE, np.arange(40), 10)
    q = InformationDensity(EntropySampling(), beta=0.0).query(*args, random_state=5)
    plain = EntropySampling().query(*args, random_state=5)
    assert q.indices.tolist() == plain.indices.tolist()
    np.testing.assert_array_equal(q.scores, plain.scores)


def test_sparse_features_give_the_dense_answer():
    x = indexed_features(50, 6, seed=6)
    x[:, 1:] *= np.random.default_rng(7).random((50, 6)) < 0.3
    learner = SparseAware(np.random.default_rng(8).dirichlet(np.ones(3), size=50))
    strategy = InformationDensity(MarginSampling(), chunk_size=9)
    dense = score_all(strategy, learner, Pool(x), NONE, np.arange(50))
    sparse = score_all(strategy, learner, Pool(sp.csr_matrix(x)), NONE, np.arange(50))
    np.testing.assert_allclose(sparse, dense, rtol=1e-12)
    np.testing.assert_allclose(
        dense,
        score_all(MarginSampling(), learner, Pool(x), NONE, np.arange(50)) * brute_force_density(x),
        rtol=1e-10,
    )


def test_negative_mean_similarity_is_clipped_to_zero():
    # item 0 points against the other two; its mean cosine is (1 - 2 * 0.995) / 3 < 0
    x = np.array([[1.0, 0.0], [-1.0, 0.1], [-1.0, -0.1]])
    learner = FixedProbaLearner(np.full((2, 2), 0.5))  # rows looked up at 1.0 / -1.0 -> any
    strategy = InformationDensity(MarginSampling(), beta=0.5)
    mean_unit = strategy.prepare(context(learner, Pool(x)))[1]
    density = strategy.density(Pool(x), np.arange(3), mean_unit)
    assert density[0] == 0.0
    np.testing.assert_allclose(density, brute_force_density(x))
    assert (density[1:] > 0).all()


def test_all_zero_rows_count_as_dissimilar_to_everything():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    learner = FixedProbaLearner(np.full((3, 2), 0.5))
    scores = score_all(InformationDensity(MarginSampling()), learner, Pool(x), NONE, [0, 1, 2])
    np.testing.assert_allclose(scores, [0.0, 2 / 3, 2 / 3])


def test_base_prepare_runs_and_its_context_reaches_score_block():
    class LabeledCount(PointwiseStrategy):
        def prepare(self, ctx):
            return {"n_labeled": ctx.labeled.size}

        def score_block(self, ctx, block, prepared):  # noqa: ARG002
            return np.full(block.size, float(prepared["n_labeled"]))

    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # density 1 everywhere
    learner = FixedProbaLearner(np.full((2, 2), 0.5))
    q = InformationDensity(LabeledCount(), chunk_size=1).query(
        learner, Pool(x), [0, 1], [2, 3], 2, random_state=0
    )
    np.testing.assert_allclose(q.scores, [2.0, 2.0])


def test_model_output_exists_one_chunk_at_a_time():
    learner = FixedProbaLearner(np.full((500, 3), 1 / 3))
    pool = Pool(np.column_stack([np.arange(500.0), np.ones(500)]))
    InformationDensity(MarginSampling(), chunk_size=64).query(
        learner, pool, NONE, np.arange(500), 5, random_state=0
    )
    assert max(learner.calls) == 64
    assert sum(learner.calls) == 500


def test_base_must_be_a_pointwise_strategy():
    with pytest.raises(TypeError, match=r"'base' parameter of InformationDensity .* Got 'margin'"):
        InformationDensity("margin").query(  # type: ignore[arg-type]
            FixedProbaLearner(np.full((2, 2), 0.5)), Pool(np.ones((2, 1))), NONE, [0, 1], 1
        )


@pytest.mark.parametrize("beta", [-1, float("nan"), float("inf"), "1", True])
def test_bad_beta_is_refused_with_its_value(beta):
    with pytest.raises(ValueError, match=r"'beta' parameter of InformationDensity .* Got "):
        InformationDensity(MarginSampling(), beta=beta).query(
            FixedProbaLearner(np.full((2, 2), 0.5)), Pool(np.ones((2, 1))), NONE, [0, 1], 1
        )


def test_unfitted_learner_is_refused():
    with pytest.raises(NotFittedError, match="needs a fitted learner"):
        InformationDensity(MarginSampling()).query(None, Pool(np.ones((2, 1))), NONE, [0, 1], 1)


def test_repr_names_the_base():
    assert repr(InformationDensity(MarginSampling(), beta=2.0)) == (
        "InformationDensity(base=MarginSampling(chunk_size=16384), beta=2.0, chunk_size=16384)"
    )


# ------------------------------------------------------------- contract on real models


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    labeled = np.concatenate([np.flatnonzero(y == k)[:3] for k in range(3)])
    learner = ProbabilisticClassifier(LogisticRegression(max_iter=1000), classes=[0, 1, 2])
    learner.fit(x[labeled], y[labeled])
    unlabeled = np.setdiff1d(np.arange(90), labeled)
    return learner, Pool(x), labeled, unlabeled


@pytest.mark.parametrize(
    "make",
    [
        lambda: InformationDensity(MarginSampling()),
        lambda: InformationDensity(EntropySampling(), beta=0.5, chunk_size=7),
    ],
)
@pytest.mark.parametrize("with_labels", [True, False])
def test_contract_on_blobs_with_a_fitted_logistic_regression(blobs, make, with_labels):
    learner, pool, labeled, unlabeled = blobs
    if not with_labels:
        labeled, unlabeled = NONE, np.arange(len(pool))
    for n in (1, 7, unlabeled.size, unlabeled.size + 5):
        q = make().query(learner, pool, labeled, unlabeled, n, random_state=n)
        assert len(q) == min(n, unlabeled.size)
        assert np.unique(q.indices).size == len(q)
        assert np.isin(q.indices, unlabeled).all()
        assert not np.isin(q.indices, labeled).any()
        assert q.scores.shape == q.indices.shape
        assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"
        again = make().query(learner, pool, labeled, unlabeled, n, random_state=n)
        assert again.indices.tolist() == q.indices.tolist()
        assert q.strategy == repr(make())
