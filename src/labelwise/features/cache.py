"""On-disk embedding cache keyed by model id and text hash, so a pool is encoded once."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
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

    A cache object remembers the shards it has read: each :meth:`get` reads only the keys
    of shards written since (by any process), and memory-maps their vectors instead of
    loading them, so a million cached vectors cost their key index in memory (about
    130 MB), not their 1.5 GB, and looking up a batch does not read the cache again.

    Parameters
    ----------
    directory : path-like
        Root folder; one sub-folder per model id.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._shards: dict[str, _Shards] = {}
        self._lock = threading.Lock()

    def _model_dir(self, model_id: str) -> Path:
        # The readable slug may collide ("a/b_c" vs "a/b/c"); the digest keeps ids apart.
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", model_id).strip("_")[:80]
        digest = hashlib.blake2b(model_id.encode("utf-8"), digest_size=6).hexdigest()
        return self.directory / f"{slug}-{digest}"

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
        with self._lock:
            shards = self._shards.setdefault(model_id, _Shards())
            shards.read_new(self._model_dir(model_id))
            if not shards.vectors:
                return None, np.arange(len(texts), dtype=np.intp)
            rows = np.fromiter(
                (shards.index.get(text_key(t), -1) for t in texts), dtype=np.intp, count=len(texts)
            )
            return shards.gather(rows), np.flatnonzero(rows < 0).astype(np.intp)

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


class _Shards:
    """The shards of one model id read so far: a key → row index over all of them, and
    each shard's vectors memory-mapped (row ``r`` lies in shard ``searchsorted(ends, r)``)."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}
        self.vectors: list[NDArray[np.float32]] = []
        self.ends: list[int] = []
        self.read: set[str] = set()

    def read_new(self, folder: Path) -> None:
        for key_file in sorted(folder.glob("keys-*.npy")):
            if key_file.name in self.read:
                continue
            vec_file = key_file.with_name("vecs-" + key_file.name[len("keys-") :])
            if not vec_file.exists():
                continue
            keys = np.load(key_file)
            vectors = np.load(vec_file, mmap_mode="r")
            start = self.ends[-1] if self.ends else 0
            # A text cached twice (two processes raced) keeps its first row.
            for i, key in enumerate(keys):
                self.index.setdefault(bytes(key), start + i)
            self.vectors.append(vectors)
            self.ends.append(start + len(keys))
            self.read.add(key_file.name)

    def gather(self, rows: NDArray[np.intp]) -> NDArray[np.float32]:
        """Rows ``rows`` (-1: a zero row) of all shards together, float32."""
        out = np.zeros((rows.size, self.vectors[0].shape[1]), dtype=np.float32)
        hit = np.flatnonzero(rows >= 0)
        shard_of = np.searchsorted(self.ends, rows[hit], side="right")
        for shard in np.unique(shard_of):
            mine = hit[shard_of == shard]
            start = self.ends[shard - 1] if shard else 0
            out[mine] = self.vectors[shard][rows[mine] - start]
        return out
