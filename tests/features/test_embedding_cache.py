"""EmbeddingCache: per-model shards of (text key, vector) on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelwise.features.cache import EmbeddingCache, text_key

MODEL = "all-MiniLM-L6-v2@pkg==0.1|norm=1"


def vectors(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim))


def test_text_key_is_16_byte_digest() -> None:
    key = text_key("hello")
    assert isinstance(key, bytes) and len(key) == 16
    assert key == text_key("hello")
    assert key != text_key("hello ")


def test_get_on_empty_cache(tmp_path: Path) -> None:
    out, missing = EmbeddingCache(tmp_path).get(MODEL, ["a", "b", "c"])
    assert out is None
    assert missing.tolist() == [0, 1, 2]


def test_put_then_get(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    vecs = vectors(3)
    cache.put(MODEL, ["alpha", "beta", "gamma"], vecs)
    out, missing = cache.get(MODEL, ["gamma", "unknown", "alpha", "beta", "other"])
    assert out is not None
    assert out.dtype == np.float32
    assert out.shape == (5, 4)
    assert missing.dtype == np.intp
    assert missing.tolist() == [1, 4]
    expected = vecs.astype(np.float32)
    np.testing.assert_array_equal(out[0], expected[2])
    np.testing.assert_array_equal(out[2], expected[0])
    np.testing.assert_array_equal(out[3], expected[1])
    np.testing.assert_array_equal(out[[1, 4]], 0.0)


def test_several_puts_are_all_visible(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    first, second = vectors(2, seed=1), vectors(2, seed=2)
    cache.put(MODEL, ["a", "b"], first)
    cache.put(MODEL, ["c", "d"], second)
    out, missing = cache.get(MODEL, ["d", "a"])
    assert missing.tolist() == []
    assert out is not None
    np.testing.assert_array_equal(out, np.stack([second[1], first[0]]).astype(np.float32))


def test_persists_across_instances(tmp_path: Path) -> None:
    vecs = vectors(2, dim=6, seed=3)
    EmbeddingCache(tmp_path).put(MODEL, ["x", "y"], vecs)
    out, missing = EmbeddingCache(str(tmp_path)).get(MODEL, ["y", "x"])
    assert missing.tolist() == []
    assert out is not None
    np.testing.assert_array_equal(out, vecs[::-1].astype(np.float32))


def test_model_ids_are_isolated(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("model-a", ["same text"], np.ones((1, 3)))
    cache.put("model-b", ["same text"], np.full((1, 5), 2.0))
    out_a, _ = cache.get("model-a", ["same text"])
    out_b, _ = cache.get("model-b", ["same text"])
    assert out_a is not None and out_b is not None
    np.testing.assert_array_equal(out_a, [[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(out_b, [[2.0] * 5])
    out_c, missing_c = cache.get("model-c", ["same text"])
    assert out_c is None
    assert missing_c.tolist() == [0]


def test_normalisation_flag_is_part_of_the_id(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("m|norm=1", ["t"], np.ones((1, 2)))
    out, missing = cache.get("m|norm=0", ["t"])
    assert out is None and missing.tolist() == [0]


def test_model_ids_that_slug_alike_are_isolated(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put("local:/models/my_model", ["t"], np.ones((1, 2)))
    out, missing = cache.get("local:/models/my/model", ["t"])
    assert out is None
    assert missing.tolist() == [0]


def test_put_with_mismatched_lengths_raises(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    with pytest.raises(ValueError, match="3 texts but 2 vectors"):
        cache.put(MODEL, ["a", "b", "c"], vectors(2))
    out, _ = cache.get(MODEL, ["a"])
    assert out is None


def test_put_nothing_writes_nothing(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path / "root").put(MODEL, [], np.zeros((0, 4)))
    assert not (tmp_path / "root").exists()


def test_no_tmp_files_left_behind(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(MODEL, ["a", "b"], vectors(2))
    cache.put(MODEL, ["c"], vectors(1))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix == ".tmp"]
    names = sorted(p.name.split("-")[0] for p in files)
    assert names == ["keys", "keys", "vecs", "vecs"]
    assert len({p.parent for p in files}) == 1


def test_shard_without_keys_file_is_ignored(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.put(MODEL, ["a"], vectors(1))
    for key_file in tmp_path.rglob("keys-*.npy"):
        key_file.unlink()
    out, missing = cache.get(MODEL, ["a"])
    assert out is None and missing.tolist() == [0]


def test_a_cache_reads_each_shard_once_and_sees_shards_written_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer = EmbeddingCache(tmp_path), EmbeddingCache(tmp_path)
    first, second = vectors(3, seed=1), vectors(2, seed=2)
    writer.put(MODEL, ["a", "b", "c"], first)
    loads: list[str] = []
    real_load = np.load

    def counting_load(path, *args, **kwargs):
        loads.append(Path(path).name)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(np, "load", counting_load)
    out, _ = reader.get(MODEL, ["c", "a"])
    assert out is not None
    np.testing.assert_allclose(out, first[[2, 0]].astype(np.float32))
    writer.put(MODEL, ["d", "e"], second)  # another process's shard, after the first get
    out, missing = reader.get(MODEL, ["e", "b", "zzz", "d"])
    assert out is not None and missing.tolist() == [2]
    np.testing.assert_allclose(
        out[[0, 1, 3]], np.vstack([second[1], first[1], second[0]]), rtol=1e-6
    )
    # Each shard's keys and vectors were read once, across both lookups.
    assert len(loads) == 4 and len(set(loads)) == 4
