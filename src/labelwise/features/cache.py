"""On-disk embedding cache keyed by model id and text hash, so a pool is encoded once."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """A 16-byte BLAKE2b digest of the UTF-8 text: the cache key of one item."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_KEY_BYTES).digest()


class EmbeddingCache:
    """Embeddings stored under ``directory/<model id>/`` as append-only ``.npy`` shards.

    Each :meth:`put` writes one shard pair (keys, vectors) atomically, so a crash never
    leaves a half-written shard visible and concurrent readers see whole shards only.

    Parameters
    ----------
    directory : path-like
        Root folder; one sub-folder per model id.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _model_dir(self, model_id: str) -> Path:
        # The readable slug may collide ("a/b_c" vs "a/b/c"); the digest keeps ids apart.
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", model_id).strip("_")[:80]
        digest = hashlib.blake2b(model_id.encode("utf-8"), digest_size=6).hexdigest()
        return self.directory / f"{slug}-{digest}"

    def _load(self, model_id: str) -> tuple[dict[bytes, int], NDArray[np.float32] | None]:
        folder = self._model_dir(model_id)
        keys: list[NDArray[np.void]] = []
        vecs: list[NDArray[np.float32]] = []
        for key_file in sorted(folder.glob("keys-*.npy")):
            vec_file = key_file.with_name("vecs-" + key_file.name[len("keys-") :])
            if not vec_file.exists():
                continue
            keys.append(np.load(key_file))
            vecs.append(np.load(vec_file))
        if not keys:
            return {}, None
        all_keys = np.concatenate(keys)
        index = {bytes(k): i for i, k in enumerate(all_keys)}
        return index, np.concatenate(vecs).astype(np.float32, copy=False)

    def get(
        self, model_id: str, texts: Sequence[str]
    ) -> tuple[NDArray[np.float32] | None, NDArray[np.intp]]:
        """Look ``texts`` up.

        Returns
        -------
        vectors : ndarray of shape (n_texts, dim), or None when nothing is cached
            Rows of missing texts are zeros.
        missing : ndarray of shape (n_missing,)
            Positions in ``texts`` that still need encoding.
        """
        index, store = self._load(model_id)
        if store is None:
            return None, np.arange(len(texts), dtype=np.intp)
        rows = np.fromiter(
            (index.get(text_key(t), -1) for t in texts), dtype=np.intp, count=len(texts)
        )
        out = np.zeros((len(texts), store.shape[1]), dtype=np.float32)
        hit = rows >= 0
        out[hit] = store[rows[hit]]
        return out, np.flatnonzero(~hit).astype(np.intp)

    def put(self, model_id: str, texts: Sequence[str], vectors: NDArray[np.floating]) -> None:
        """Store ``vectors`` (shape (n_texts, dim)) for ``texts`` as one new shard."""
        if len(texts) == 0:
            return
        if len(texts) != len(vectors):
            raise ValueError(f"{len(texts)} texts but {len(vectors)} vectors.")
        folder = self._model_dir(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=f"V{_KEY_BYTES}")
        shard = f"{os.getpid()}-{os.urandom(6).hex()}.npy"
        # Vectors first, keys last: a reader only trusts a shard once its keys file exists.
        self._atomic_save(folder / f"vecs-{shard}", np.asarray(vectors, dtype=np.float32))
        self._atomic_save(folder / f"keys-{shard}", keys)

    @staticmethod
    def _atomic_save(path: Path, array: NDArray[np.generic]) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, array)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
