"""Cold-start seed sets: random, representative (k-means / typical) and zero-shot coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.data import Pool
from labelwise.exceptions import EmptyPoolError, NotFittedError, PoolExhaustedError, QueryError
from labelwise.initialization import (
    RandomSeedSet,
    RepresentativeSeedSet,
    SeedSetStrategy,
    ZeroShotSeedSet,
)
from labelwise.learners.zero_shot import ZeroShotClassifier

CENTERS = np.array([[0.0, 10.0], [10.0, 0.0], [-10.0, -10.0]])


def blobs(sizes: tuple[int, ...] = (30, 30, 30), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs around CENTERS; returns features and blob ids."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([CENTERS[b] + rng.normal(size=(s, 2)) for b, s in enumerate(sizes)])
    return X, np.repeat(np.arange(len(sizes)), sizes)


class FixedProba:
    """A fitted classifier whose probabilities are fixed per item (feature 0 = position)."""

    classes_ = np.array(["A", "B", "C"], dtype=object)

    def __init__(self, proba: list[list[float]]) -> None:
        self.proba = np.asarray(proba, dtype=float)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.proba[np.asarray(X)[:, 0].astype(int)])


# item 0 is the best item of both A (0.70) and B (0.30); C's best is item 1 (0.65).
CONFLICT = FixedProba(
    [
        [0.70, 0.30, 0.00],
        [0.15, 0.20, 0.65],
        [0.40, 0.25, 0.35],
        [0.28, 0.27, 0.45],
    ]
)
CONFLICT_POOL = Pool(np.arange(4, dtype=float)[:, None])


def zero_shot_on_blobs() -> ZeroShotClassifier:
    return ZeroShotClassifier(
        classes=["north", "east", "southwest"], label_embeddings=CENTERS
    ).fit()


# -- RepresentativeSeedSet -------------------------------------------------------------


@pytest.mark.parametrize("method", ["kmeans", "typical"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_item_from_each_blob(method: str, seed: int) -> None:
    X, blob = blobs(seed=seed)
    q = RepresentativeSeedSet(method=method).select(Pool(X), 3, random_state=seed)
    assert sorted(blob[q.indices].tolist()) == [0, 1, 2]
    assert q.scores.tolist() == [30.0, 30.0, 30.0]


@pytest.mark.parametrize("method", ["kmeans", "typical"])
def test_one_item_from_each_blob_sparse(method: str) -> None:
    X, blob = blobs()
    X = sp.csr_matrix(X - X.min(axis=0))  # non-negative, like TF-IDF
    q = RepresentativeSeedSet(method=method, random_state=0).select(Pool(X), 3)
    assert sorted(blob[q.indices].tolist()) == [0, 1, 2]


def test_scores_are_cluster_sizes_largest_first() -> None:
    X, blob = blobs(sizes=(5, 3, 2))
    q = RepresentativeSeedSet(random_state=0).select(Pool(X), 3)
    assert q.scores.tolist() == [5.0, 3.0, 2.0]
    assert blob[q.indices].tolist() == [0, 1, 2]


def test_kmeans_picks_the_member_nearest_the_cluster_mean() -> None:
    # Each cluster is a plus sign around its middle point, which is the cluster mean.
    plus = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    X = np.concatenate([plus + [50.0, 0.0], plus[[1, 0, 2, 3, 4]] - [50.0, 0.0]])
    q = RepresentativeSeedSet(method="kmeans", random_state=0).select(Pool(X), 2)
    assert sorted(q.indices.tolist()) == [0, 6]


def test_typical_picks_the_member_most_similar_to_its_cluster() -> None:
    # Two fans of directions (about 0 and 180 degrees); the middle ray is most typical,
    # whatever its length (cosine ignores it), while the nearest-to-mean point is another.
    angles = np.deg2rad([-12.0, 0.0, 9.0, 180.0 - 10.0, 180.0, 180.0 + 12.0])
    lengths = np.array([1.0, 3.0, 1.0, 1.0, 3.0, 1.0])
    X = lengths[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    typical = RepresentativeSeedSet(method="typical", random_state=0).select(Pool(X), 2)
    assert sorted(typical.indices.tolist()) == [1, 4]
    nearest = RepresentativeSeedSet(method="kmeans", random_state=0).select(Pool(X), 2)
    assert sorted(nearest.indices.tolist()) != [1, 4]


@pytest.mark.parametrize("method", ["kmeans", "typical"])
def test_identical_rows_still_give_n_distinct_positions(method: str) -> None:
    q = RepresentativeSeedSet(method=method, random_state=0).select(Pool(np.ones((10, 3))), 4)
    assert np.unique(q.indices).size == 4
    np.testing.assert_allclose(q.scores, [10.0, 5.0, 10 / 3, 2.5])


def test_duplicates_fill_from_the_largest_cluster_first() -> None:
    X = np.array([[0.0, 0.0]] * 6 + [[9.0, 9.0]] * 2)
    q = RepresentativeSeedSet(random_state=0).select(Pool(X), 4)
    assert np.unique(q.indices).size == 4
    np.testing.assert_allclose(q.scores, [6.0, 3.0, 2.0, 2.0])
    assert int((q.indices < 6).sum()) == 3  # picks 1-3 of the big cluster, 1 of the small


def test_representative_is_deterministic_under_a_seed() -> None:
    X = np.random.default_rng(3).normal(size=(200, 5))
    a = RepresentativeSeedSet().select(Pool(X), 12, random_state=7)
    b = RepresentativeSeedSet().select(Pool(X), 12, random_state=7)
    c = RepresentativeSeedSet(random_state=7).select(Pool(X), 12)
    assert a.indices.tolist() == b.indices.tolist() == c.indices.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)


def test_candidates_restrict_the_choice() -> None:
    X, blob = blobs()
    candidates = np.flatnonzero(blob != 1)
    q = RepresentativeSeedSet(random_state=0).select(Pool(X), 2, candidates=candidates)
    assert sorted(blob[q.indices].tolist()) == [0, 2]


def test_n_at_least_the_candidates_returns_them_all() -> None:
    X, _ = blobs(sizes=(3, 2, 2))
    q = RepresentativeSeedSet(random_state=0).select(Pool(X), 50, candidates=[6, 1, 4])
    assert sorted(q.indices.tolist()) == [1, 4, 6]


def test_bad_method_is_refused_with_its_value() -> None:
    with pytest.raises(ValueError, match=r"'method' parameter .* Got 'medoids' instead"):
        RepresentativeSeedSet(method="medoids").select(Pool(np.eye(3)), 1)


# -- ZeroShotSeedSet -------------------------------------------------------------------


def test_zero_shot_covers_distinct_classes() -> None:
    X, blob = blobs()
    clf = zero_shot_on_blobs()
    q = ZeroShotSeedSet(clf).select(Pool(X), 3, random_state=0)
    assert sorted(clf.predict(X[q.indices]).tolist()) == ["east", "north", "southwest"]
    assert sorted(blob[q.indices].tolist()) == [0, 1, 2]


def test_a_class_whose_best_item_is_taken_gets_its_next_best() -> None:
    q = ZeroShotSeedSet(CONFLICT).select(CONFLICT_POOL, 3, random_state=0)
    assert q.indices.tolist() == [0, 1, 3]
    np.testing.assert_allclose(q.scores, [0.70, 0.65, 0.27])


def test_classes_with_the_best_probability_come_first_when_n_is_small() -> None:
    q = ZeroShotSeedSet(CONFLICT).select(CONFLICT_POOL, 2, random_state=0)
    assert q.indices.tolist() == [0, 1]


def test_per_class_and_extra_passes() -> None:
    two = ZeroShotSeedSet(CONFLICT, per_class=2).select(CONFLICT_POOL, 4, random_state=0)
    assert two.indices.tolist() == [0, 1, 3, 2]  # A: 0, 2; C: 1, 3
    np.testing.assert_allclose(two.scores, [0.70, 0.65, 0.45, 0.40])
    again = ZeroShotSeedSet(CONFLICT, chunk_size=1).select(CONFLICT_POOL, 4, random_state=0)
    assert again.indices.tolist() == [0, 1, 2, 3]  # A, C, B, then A again
    np.testing.assert_allclose(again.scores, [0.70, 0.65, 0.40, 0.27])


@pytest.mark.parametrize("chunk_size", [1, 3, 1000])
def test_zero_shot_does_not_depend_on_chunking(chunk_size: int) -> None:
    X, _ = blobs(seed=4)
    clf = zero_shot_on_blobs()
    ref = ZeroShotSeedSet(clf, per_class=2).select(Pool(X), 7, random_state=5)
    q = ZeroShotSeedSet(clf, per_class=2, chunk_size=chunk_size).select(Pool(X), 7, random_state=5)
    assert q.indices.tolist() == ref.indices.tolist()


def test_zero_shot_needs_a_fitted_classifier() -> None:
    with pytest.raises(NotFittedError, match="fitted classifier"):
        ZeroShotSeedSet(ZeroShotClassifier(classes=["a"])).select(Pool(np.eye(2)), 1)
    with pytest.raises(ValueError, match=r"'per_class' parameter .* Got 0 instead"):
        ZeroShotSeedSet(CONFLICT, per_class=0).select(CONFLICT_POOL, 1)


def test_zero_shot_repr_is_one_line() -> None:
    q = ZeroShotSeedSet(zero_shot_on_blobs()).select(Pool(blobs()[0]), 1, random_state=0)
    assert "\n" not in q.strategy
    assert q.strategy.startswith("ZeroShotSeedSet(chunk_size=16384, classifier=ZeroShotClassifier(")


# -- RandomSeedSet ---------------------------------------------------------------------


def test_random_is_distinct_seeded_and_scores_zero() -> None:
    pool = Pool(np.zeros((50, 2)))
    a = RandomSeedSet().select(pool, 20, random_state=3)
    b = RandomSeedSet().select(pool, 20, random_state=3)
    c = RandomSeedSet().select(pool, 20, random_state=4)
    assert np.unique(a.indices).size == 20
    assert a.indices.tolist() == b.indices.tolist() != c.indices.tolist()
    np.testing.assert_array_equal(a.scores, np.zeros(20))
    q = RandomSeedSet().select(pool, 99, candidates=[5, 7, 9], random_state=0)
    assert sorted(q.indices.tolist()) == [5, 7, 9]


# -- the query contract, shared by all seed sets ----------------------------------------

FACTORIES = {
    "random": RandomSeedSet,
    "kmeans": lambda: RepresentativeSeedSet(),
    "typical": lambda: RepresentativeSeedSet(method="typical"),
    "zero_shot": lambda: ZeroShotSeedSet(zero_shot_on_blobs(), per_class=2, chunk_size=7),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize(
    ("n_pool", "n_labeled", "n"), [(60, 10, 8), (9, 3, 6), (9, 3, 40), (1, 0, 1)]
)
def test_query_contract(name: str, n_pool: int, n_labeled: int, n: int) -> None:
    rng = np.random.default_rng(n_pool)
    pool = Pool(rng.normal(size=(n_pool, 2)) * 5)
    order = rng.permutation(n_pool)
    labeled, unlabeled = order[:n_labeled], np.sort(order[n_labeled:])
    strategy: SeedSetStrategy = FACTORIES[name]()
    assert strategy.requires_learner is False
    q = strategy.query(None, pool, labeled, unlabeled, n, random_state=11)
    again = FACTORIES[name]().query(None, pool, labeled, unlabeled, n, random_state=11)
    assert len(q) == min(n, unlabeled.size)
    assert np.unique(q.indices).size == len(q)
    assert np.isin(q.indices, unlabeled).all()
    assert q.indices.dtype == np.intp
    assert q.scores.shape == q.indices.shape
    assert (np.diff(q.scores) <= 1e-12).all(), "scores must be sorted best first"
    assert q.indices.tolist() == again.indices.tolist()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_bad_arguments_are_refused(name: str) -> None:
    strategy = FACTORIES[name]()
    with pytest.raises(EmptyPoolError):
        strategy.select(Pool(np.zeros((0, 2))), 1)
    with pytest.raises(PoolExhaustedError):
        strategy.select(Pool(np.zeros((3, 2))), 1, candidates=[])
    with pytest.raises(PoolExhaustedError):
        strategy.query(None, Pool(np.zeros((3, 2))), [0, 1, 2], [], 1)
    with pytest.raises(ValueError, match=r"'n' parameter .* must be an int in \[1, inf\)"):
        strategy.select(Pool(np.zeros((3, 2))), 0)
    with pytest.raises(QueryError, match="outside a pool"):
        strategy.select(Pool(np.zeros((3, 2))), 1, candidates=[0, 3])
    with pytest.raises(QueryError, match="repeated"):
        strategy.select(Pool(np.zeros((3, 2))), 1, candidates=[1, 1])
    with pytest.raises(QueryError, match="both labeled and unlabeled"):
        strategy.query(None, Pool(np.zeros((3, 2))), [1], [0, 1], 1)
