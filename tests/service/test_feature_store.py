"""The per-project feature store: appended once, read back in chunks, kept across restarts."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.data import Pool
from labelwise.features import TfidfFeaturizer
from labelwise.recipes.classification import classification_featurizer, pool_features
from labelwise.service import feature_store
from labelwise.service.feature_store import FeatureStore, StoredRows
from tests.service.word_embedder import WordEmbedder

WORDS = "book cancel flight hotel table weather song play rate alarm set timer".split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(2, 6))) + f" {i}" for i in range(n)]


class CountingEmbedder(WordEmbedder):
    """Counts the texts it embeds: each item must be embedded once."""

    def __init__(self) -> None:
        super().__init__(dim=32)
        self.embedded = 0

    def transform(self, texts):
        self.embedded += len(texts)
        return super().transform(texts)


def store(tmp_path, kind="minilm+tfidf", embedder=None, **options) -> FeatureStore:
    embedder = embedder or CountingEmbedder()
    return FeatureStore(tmp_path / "features", kind, embedder=lambda: embedder, **options)


def grow(target: FeatureStore, every: list[str], upto: int) -> None:
    target.extend(every[len(target) : upto], every_text=lambda: every[:upto])


def dense(rows) -> np.ndarray:
    return rows.toarray() if sp.issparse(rows) else np.asarray(rows)


@pytest.mark.parametrize("kind", ["tfidf", "minilm", "minilm+tfidf"])
def test_stored_rows_are_the_featurizers_rows_of_the_pool(tmp_path, kind):
    every = texts(50)
    target = store(tmp_path, kind)
    grow(target, every, 50)
    expected = pool_features(
        classification_featurizer(kind, embedder=WordEmbedder(32)),
        every,
        embeddings=WordEmbedder(32).transform(every),
    )
    rows = target.rows()
    assert rows.shape == expected.shape
    np.testing.assert_allclose(dense(rows[np.arange(50)]), dense(expected), atol=1e-6)
    # A slice, scattered rows in any order, and one model's transform agree.
    picked = np.array([7, 3, 49, 3])
    np.testing.assert_allclose(dense(rows[10:20]), dense(expected[10:20]), atol=1e-6)
    np.testing.assert_allclose(dense(rows[picked]), dense(expected[picked]), atol=1e-6)
    transformed = target.featurizer().transform([every[7]])
    np.testing.assert_allclose(dense(transformed), dense(expected[[7]]), atol=1e-6)


def test_append_and_restart_embed_each_item_once_and_keep_the_rows(tmp_path):
    every = texts(300)
    embedder = CountingEmbedder()
    first = store(tmp_path, embedder=embedder)
    grow(first, every, 200)
    before = dense(first.rows()[np.arange(200)])
    assert embedder.embedded == 200
    # A restarted server opens the same store: nothing is embedded again.
    again = store(tmp_path, embedder=embedder)
    assert len(again) == 200
    np.testing.assert_array_equal(dense(again.rows()[np.arange(200)]), before)
    grow(again, every, 300)  # below twice the fit: TF-IDF stays frozen
    assert embedder.embedded == 300
    assert again.fitted_on == 200
    np.testing.assert_array_equal(dense(again.rows()[np.arange(200)]), before)
    # New items are transformed with the frozen vocabulary and idf.
    frozen = classification_featurizer(
        "minilm+tfidf",
        embedder=WordEmbedder(32),
        tfidf=TfidfFeaturizer().fit(every[:200]),
    )
    np.testing.assert_allclose(
        dense(again.rows()[np.arange(200, 300)]), dense(frozen.transform(every[200:])), atol=1e-6
    )


def test_tfidf_is_refitted_while_the_pool_doubles_then_frozen(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_store, "FIT_SAMPLE", 64)
    every = texts(400)
    target = store(tmp_path, "tfidf")
    fits = []
    for upto in (10, 15, 20, 45, 100, 250, 400):
        grow(target, every, upto)
        fits.append(target.fitted_on)
    # Refits at 10, 20 (twice 10), 45 (over twice 20), 100 (the fit saw 45 < 64); the fit
    # on 100 items (a sample of 64 of them) is final.
    assert fits == [10, 10, 20, 45, 100, 100, 100]
    sample = np.sort(np.random.default_rng(0).choice(100, 64, replace=False))
    expected = TfidfFeaturizer().fit([every[i] for i in sample]).transform(every)
    np.testing.assert_allclose(dense(target.rows()[np.arange(400)]), dense(expected), atol=1e-6)
    # Only the newest generation's files are left.
    assert sorted(p.name for p in target.directory.glob("tfidf-*")) == [
        "tfidf-4-data.f32",
        "tfidf-4-indices.i32",
        "tfidf-4-indptr.i64",
        "tfidf-4.json",
    ]


def test_a_refit_keeps_the_sentence_vectors_and_rewrites_only_tfidf(tmp_path):
    every = texts(60)
    embedder = CountingEmbedder()
    target = store(tmp_path, embedder=embedder)
    grow(target, every, 20)
    grow(target, every, 60)  # 60 >= 2 * 20: refit
    assert target.fitted_on == 60 and embedder.embedded == 60
    expected = classification_featurizer("minilm+tfidf", embedder=WordEmbedder(32))
    np.testing.assert_allclose(
        dense(target.rows()[np.arange(60)]),
        dense(pool_features(expected, every)),
        atol=1e-6,
    )


def test_a_torn_append_is_cut_off_on_opening(tmp_path):
    every = texts(40)
    target = store(tmp_path)
    grow(target, every, 30)
    manifest = (target.directory / "manifest.json").read_text()
    before = dense(target.rows()[np.arange(30)])
    grow(target, every, 40)
    # The server died after writing rows 30-39 but before the manifest said so.
    (target.directory / "manifest.json").write_text(manifest)
    reopened = store(tmp_path)
    assert len(reopened) == 30
    assert (reopened.directory / "sentence.f32").stat().st_size == 30 * 32 * 4
    np.testing.assert_array_equal(dense(reopened.rows()[np.arange(30)]), before)
    grow(reopened, every, 40)
    assert len(reopened) == 40


def test_a_refit_cut_short_before_the_sentence_vectors_is_finished_later(tmp_path, monkeypatch):
    every = texts(70)
    target = store(tmp_path)
    grow(target, every, 20)

    def crash(_self, _texts):
        raise OSError("the server died")

    with monkeypatch.context() as patched:
        patched.setattr(FeatureStore, "_append", crash)
        with pytest.raises(OSError):
            grow(target, every, 60)  # refits on 60 items, dies before their vectors
    reopened = store(tmp_path)
    assert len(reopened) == 20 and reopened.fitted_on == 60
    # Ten more items arrived meanwhile: one batch holds rows whose TF-IDF is written
    # (20-59) and rows whose TF-IDF is not (60-69).
    grow(reopened, every, 70)
    assert len(reopened) == 70 and reopened.fitted_on == 60
    expected = classification_featurizer(
        "minilm+tfidf", embedder=WordEmbedder(32), tfidf=TfidfFeaturizer().fit(every[:60])
    )
    np.testing.assert_allclose(
        dense(reopened.rows()[np.arange(70)]), dense(expected.transform(every)), atol=1e-6
    )


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "minilm"},
        {"identity": "another project"},
    ],
)
def test_a_store_of_another_kind_or_project_is_rebuilt(tmp_path, change):
    every = texts(20)
    grow(store(tmp_path, identity="p"), every, 20)
    options = {"kind": "minilm+tfidf", "identity": "p", **change}
    assert len(store(tmp_path, **options)) == 0


def test_an_unreadable_manifest_rebuilds_the_store(tmp_path):
    every = texts(20)
    target = store(tmp_path)
    grow(target, every, 20)
    (target.directory / "manifest.json").write_text("{not json")
    assert len(store(tmp_path)) == 0
    assert json.loads((target.directory / "manifest.json").read_text())["rows"] == 0


def test_stored_rows_pickle_as_their_folder_and_do_not_grow(tmp_path):
    every = texts(30)
    target = store(tmp_path)
    grow(target, every, 20)
    rows = target.rows()
    grow(target, every, 30)
    assert rows.shape[0] == 20  # later appends are not in an earlier pool
    shipped = pickle.dumps(rows)
    assert len(shipped) < 1000
    np.testing.assert_array_equal(dense(pickle.loads(shipped)[np.arange(20)]), dense(rows[:20]))


def test_lineage_says_which_reads_only_grew(tmp_path):
    every = texts(60)
    target = store(tmp_path)
    grow(target, every, 20)
    first = target.rows()
    grow(target, every, 30)  # appended with the same TF-IDF fit
    second = target.rows()
    assert first.lineage is not None and second.lineage == first.lineage
    np.testing.assert_array_equal(dense(second[:20]), dense(first[:20]))
    grow(target, every, 60)  # a refit rewrites every TF-IDF row...
    third = target.rows()
    assert third.lineage != second.lineage
    # ...and leaves the sentence vectors as they were.
    sentence = third.sentence()
    assert sentence.lineage == second.sentence().lineage and sentence.shape == (60, 32)
    np.testing.assert_array_equal(sentence[:30], second.sentence()[:30])
    # A rebuilt store (another project) starts a new lineage.
    rebuilt = store(tmp_path, identity="another project")
    grow(rebuilt, every, 20)
    assert rebuilt.rows().sentence().lineage != first.sentence().lineage
    with pytest.raises(ValueError, match="no sentence vectors"):
        store(tmp_path / "t", "tfidf").rows().sentence()


def test_a_store_written_before_epochs_keeps_its_rows_and_gets_one(tmp_path):
    every = texts(20)
    embedder = CountingEmbedder()
    grow(store(tmp_path, embedder=embedder), every, 20)
    path = tmp_path / "features" / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["epoch"]
    path.write_text(json.dumps(manifest))
    reopened = store(tmp_path, embedder=embedder)
    assert len(reopened) == 20 and embedder.embedded == 20
    assert reopened.rows().lineage is not None
    assert json.loads(path.read_text())["epoch"] == reopened.rows().epoch


def test_a_pool_over_stored_rows_ranks_as_one_in_memory(tmp_path):
    from labelwise.learners import ProbabilisticClassifier
    from labelwise.strategies import MarginSampling

    every = texts(120)
    target = store(tmp_path)
    grow(target, every, 120)
    stored = Pool(target.rows())
    in_memory = Pool(sp.csr_matrix(target.rows()[np.arange(120)]))
    labeled = np.arange(0, 120, 6)
    labels = np.array([text.split()[0] for text in every])[labeled]
    learner = ProbabilisticClassifier(classes=sorted(set(labels))).fit(
        in_memory.rows(labeled), labels
    )
    unlabeled = np.setdiff1d(np.arange(120), labeled)
    picks = [
        MarginSampling(chunk_size=16).query(learner, pool, labeled, unlabeled, 10, random_state=0)
        for pool in (stored, in_memory)
    ]
    np.testing.assert_array_equal(picks[0].indices, picks[1].indices)


def test_errors_name_what_is_wrong(tmp_path):
    target = store(tmp_path)
    with pytest.raises(ValueError, match="every_text"):
        target.extend(["a b"])
    with pytest.raises(ValueError, match="returned 1 texts; the store expects 2"):
        target.extend(["a b", "c"], every_text=lambda: ["a b"])
    with pytest.raises(ValueError, match="needs a sentence embedder"):
        FeatureStore(tmp_path / "other", "minilm").extend(["a"])
    rows = StoredRows(tmp_path / "missing", n_rows=2, sentence_width=4, tfidf=None)
    with pytest.raises(FileNotFoundError, match="same path"):
        rows[np.arange(2)]
    with pytest.raises(IndexError, match="out of range"):
        store(tmp_path / "x", "minilm").rows()[np.array([0])]


@pytest.mark.parametrize("kind", ["tfidf", "minilm", "minilm+tfidf"])
def test_joined_rows_keep_the_stored_blocks_apart(tmp_path, kind):
    from labelwise.data.joined import JoinedRows

    every = texts(60)
    target = store(tmp_path, kind)
    grow(target, every, 60)
    rows = target.rows()
    for index in (slice(5, 25), np.array([7, 3, 59, 3])):
        apart, together = rows.joined_rows(index), rows[index]
        if kind != "minilm+tfidf":  # one block: given as it is
            assert not isinstance(apart, JoinedRows)
            np.testing.assert_array_equal(dense(apart), dense(together))
            continue
        assert rows.tfidf is not None and isinstance(apart, JoinedRows)
        assert apart.widths == (32, rows.tfidf[1])
        assert isinstance(apart.blocks[0], np.ndarray) and sp.issparse(apart.blocks[1])
        joined = apart.tocsr()
        for name in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(joined, name), getattr(together, name))
