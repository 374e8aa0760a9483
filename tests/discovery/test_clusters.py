"""Candidate selection, HDBSCAN clusters and their suggested names."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.discovery import candidates, discover_intents, distinctive_terms, suggest_name
from labelwise.discovery.clusters import clusters_from_labels


def _blobs(
    sizes: list[int], *, dim: int = 16, spread: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around ``len(sizes)`` orthogonal directions, plus their blob ids."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for k, size in enumerate(sizes):
        centre = np.zeros(dim)
        centre[k] = 1.0
        rows.append(centre + spread * rng.standard_normal((size, dim)))
        truth.extend([k] * size)
    X = np.vstack(rows)
    return X / np.linalg.norm(X, axis=1, keepdims=True), np.asarray(truth)


TOPICS = [
    "freeze my credit card please",
    "book a table at a restaurant tonight",
    "what is the weather tomorrow in paris",
]


def _texts(truth: np.ndarray) -> list[str]:
    return [f"{TOPICS[k]} {i}" for i, k in enumerate(truth)]


class TestCandidates:
    def test_out_of_scope_predictions_and_low_confidence_are_candidates(self) -> None:
        proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]])
        chosen = candidates(proba, ["a", "b", "oos"], out_of_scope="oos", threshold=0.5)
        assert chosen.tolist() == [1, 2]

    def test_without_an_out_of_scope_class_only_confidence_decides(self) -> None:
        proba = np.array([[0.9, 0.1], [0.55, 0.45]])
        assert candidates(proba, ["a", "b"], out_of_scope=None, threshold=0.6).tolist() == [1]
        assert candidates(proba, ["a", "b"], out_of_scope="oos", threshold=0.6).tolist() == [1]

    def test_a_mismatched_shape_and_a_bad_threshold_are_refused(self) -> None:
        with pytest.raises(ValueError, match="shape"):
            candidates(np.ones((2, 3)) / 3, ["a", "b"])
        with pytest.raises(ValueError, match="threshold"):
            candidates(np.ones((2, 2)) / 2, ["a", "b"], threshold=1.5)

    def test_no_rows_no_candidates(self) -> None:
        assert candidates(np.zeros((0, 2)), ["a", "b"]).size == 0


class TestDiscoverIntents:
    def test_synthetic_blobs_are_found_largest_first_and_pure(self) -> None:
        X, truth = _blobs([30, 20, 12])
        clusters = discover_intents(X, _texts(truth), min_cluster_size=5)
        assert [c.size for c in clusters] == sorted((c.size for c in clusters), reverse=True)
        found = {int(np.bincount(truth[c.members]).argmax()) for c in clusters}
        assert found == {0, 1, 2}
        for c in clusters:
            assert len(set(truth[c.members].tolist())) == 1
        assert sum(c.size for c in clusters) >= 0.8 * len(truth)

    def test_members_are_ordered_nearest_the_centroid_first(self) -> None:
        X, truth = _blobs([25, 25])
        for c in discover_intents(X, _texts(truth)):
            assert np.all(np.diff(c.similarity) <= 1e-12)
            assert c.representatives.tolist() == c.members[:5].tolist()

    def test_names_come_from_the_distinctive_words(self) -> None:
        X, truth = _blobs([30, 20, 12])
        names = {
            int(np.bincount(truth[c.members]).argmax()): c.name
            for c in discover_intents(X, _texts(truth))
        }
        assert set(names[0].split("_")) <= {"freeze", "credit", "card"}
        assert set(names[1].split("_")) <= {"book", "table", "restaurant", "tonight"}
        assert set(names[2].split("_")) <= {"weather", "tomorrow", "paris"}

    def test_the_same_input_gives_the_same_clusters(self) -> None:
        X, truth = _blobs([20, 15, 10], seed=3)
        a = discover_intents(X, _texts(truth))
        b = discover_intents(X, _texts(truth))
        assert [(c.name, c.members.tolist()) for c in a] == [
            (c.name, c.members.tolist()) for c in b
        ]

    def test_fewer_rows_than_a_cluster_needs_give_no_cluster(self) -> None:
        X, truth = _blobs([3])
        assert discover_intents(X, _texts(truth), min_cluster_size=5) == []

    def test_bad_parameters_are_named(self) -> None:
        X, truth = _blobs([10])
        with pytest.raises(ValueError, match="min_cluster_size"):
            discover_intents(X, _texts(truth), min_cluster_size=1)
        with pytest.raises(ValueError, match="one row per text"):
            discover_intents(X, _texts(truth)[:-1])
        with pytest.raises(ValueError, match="cluster_selection_method"):
            discover_intents(X, _texts(truth), cluster_selection_method="nope")


class TestNames:
    def test_words_shared_by_every_cluster_lose_to_distinctive_ones(self) -> None:
        texts = [
            "please check my balance please",
            "please check my account balance",
            "please reset my password",
            "please reset my pin password",
            "please noise words",
        ]
        terms = distinctive_terms(texts, np.array([0, 0, 1, 1, -1]), n_terms=2)
        assert terms[0][0] == "balance"
        assert terms[1][0] == "password"
        assert "please" not in terms[0] + terms[1]

    def test_a_cluster_of_stop_words_falls_back_to_a_numbered_name(self) -> None:
        X, _ = _blobs([6])
        [cluster] = clusters_from_labels(X, ["the and of"] * 6, np.zeros(6, dtype=int))
        assert cluster.name == "cluster_1"
        assert cluster.terms == []

    def test_suggested_names_are_lowercase_words_joined_by_underscores(self) -> None:
        assert suggest_name(["Credit", "limit!"]) == "credit_limit"
        assert suggest_name([]) == "new_intent"
