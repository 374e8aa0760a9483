"""WordClusters: distributional (and encoder) word clusters learned on an unlabeled pool."""

import numpy as np
import pytest

from labelwise.exceptions import NotFittedError
from labelwise.features import WordClusters
from labelwise.features.word_clusters import context_vectors

VERBS = ["play", "hear", "queue"]
SONGS = ["zorblat", "quimbo", "traxel", "wendiq", "plorb", "snarv"]
CITIES = ["hobart", "tromso", "oulu", "lagos", "quito", "perth"]


def _pool():
    # Songs follow a verb and precede "please"; cities follow "weather in" and precede
    # "today": the two groups never share a context.
    rng = np.random.default_rng(0)
    pool = []
    for _ in range(200):
        pool.append([str(rng.choice(VERBS)), str(rng.choice(SONGS)), "please"])
        pool.append(["weather", "in", str(rng.choice(CITIES)), "today"])
    return pool


def test_words_with_the_same_contexts_share_a_cluster_and_others_do_not():
    clusters = WordClusters(sizes=(3, 4), random_state=0).fit(_pool()).clusters_
    coarse = {w: clusters[w][0] for w in SONGS + CITIES}
    assert len({coarse[w] for w in SONGS}) == 1
    assert len({coarse[w] for w in CITIES}) == 1
    assert coarse[SONGS[0]] != coarse[CITIES[0]]
    assert all(len(ids) == 2 and ids[0].startswith("d3:") for ids in clusters.values())


def test_is_deterministic_under_a_seed_and_lowercases():
    pool = [[w.upper() if i % 2 else w for i, w in enumerate(s)] for s in _pool()]
    a = WordClusters(sizes=(3,), random_state=1).fit(pool)
    b = WordClusters(sizes=(3,), random_state=1).fit(pool)
    assert a.clusters_ == b.clusters_
    assert "PLEASE" not in a.clusters_ and "please" in a.clusters_
    assert a.transform(["Zorblat", "unseen"]) == [a.clusters_["zorblat"], ()]


def test_word_vectors_add_a_second_family_of_clusters():
    # The encoder knows what the contexts cannot: zorblat and hobart mean the same.
    def vectors(words):
        return np.array([[1.0, 0.0] if w in ("zorblat", "hobart") else [0.0, 1.0] for w in words])

    wc = WordClusters(sizes=(2,), word_vectors=vectors, random_state=0).fit(_pool())
    v = {w: [c for c in ids if c.startswith("v")] for w, ids in wc.clusters_.items()}
    assert v["zorblat"] == v["hobart"] and v["zorblat"] != v["quimbo"]


def test_sizes_are_capped_by_the_vocabulary_and_empty_pools_give_no_clusters():
    wc = WordClusters(sizes=(50,)).fit([["a", "b"], ["b", "c"]])
    assert sorted(wc.clusters_) == ["a", "b", "c"]
    assert {ids[0].split(":")[0] for ids in wc.clusters_.values()} == {"d50"}
    assert WordClusters().fit([]).clusters_ == {}
    assert WordClusters().fit([[]]).clusters_ == {}


def test_bad_parameters_and_inputs_name_what_is_wrong():
    with pytest.raises(ValueError, match="'sizes' parameter of WordClusters"):
        WordClusters(sizes=(0,)).fit(_pool())
    with pytest.raises(ValueError, match="at least one size"):
        WordClusters(sizes=()).fit(_pool())
    with pytest.raises(TypeError, match="Sentence 1 must be a sequence of token strings"):
        WordClusters().fit([["a"], "not tokens"])
    with pytest.raises(ValueError, match=r"must return shape \(3, d\); got \(3,\)"):
        WordClusters(word_vectors=lambda words: np.ones(len(words))).fit([["a", "b", "c"]])
    with pytest.raises(NotFittedError):
        WordClusters().transform(["a"])


def test_context_vectors_are_unit_rows_and_zero_for_a_word_alone():
    vocabulary = {"a": 0, "b": 1, "alone": 2}
    vectors = context_vectors([["a", "b"], ["b", "a"], ["alone"]], vocabulary, window=1, dim=2)
    assert vectors.shape[0] == 3
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1.0)
    np.testing.assert_array_equal(vectors[2], 0.0)
