"""Sentence embeddings of a project's items, for the labeling functions that compare them.

``label_name``, ``exemplar`` and ``zero_shot`` functions (and their suggestions) vote by the
cosine between an item's sentence embedding and their anchors'. The server embeds with the
packaged MiniLM through the same on-disk cache as the retrain worker
(``data_dir/embeddings``, :func:`cached_minilm`): an item the worker embedded to train on is
read back, not encoded again, and the process loads the model once
(``labelwise.features.sentence`` shares it between embedders).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from labelwise.features import EmbeddingCache, SentenceEmbedder, sentence_embeddings_installed

#: The declarative kinds that compare sentence embeddings.
EMBEDDING_KINDS: Final = frozenset({"label_name", "exemplar", "zero_shot"})
#: Folder under ``data_dir`` of the embedding cache (the retrain worker's too).
EMBEDDINGS_DIR: Final = "embeddings"


class TextEmbedder(Protocol):
    """Texts → rows of shape (n_texts, d): a :class:`SentenceEmbedder`, or a fake in tests."""

    def transform(self, texts: Sequence[str]) -> Any: ...


def cached_minilm(data_dir: Path) -> SentenceEmbedder:
    """The packaged MiniLM behind the disk cache under ``data_dir`` that every caller shares."""
    return SentenceEmbedder(cache=EmbeddingCache(Path(data_dir) / EMBEDDINGS_DIR))


class SentenceVectors:
    """Unit-length sentence embeddings from one embedder, made on first use, shared by
    every request of an app.

    Parameters
    ----------
    embedder_factory : callable
        Builds the embedder: :func:`cached_minilm` on a server (:meth:`minilm`), a fake in
        tests.
    """

    def __init__(self, embedder_factory: Callable[[], TextEmbedder]) -> None:
        self.embedder_factory = embedder_factory
        self._embedder: TextEmbedder | None = None
        self._lock = threading.Lock()

    @classmethod
    def minilm(cls, data_dir: Path) -> SentenceVectors | None:
        """The packaged MiniLM with the worker's cache; None without the embeddings extra."""
        if not sentence_embeddings_installed():
            return None
        return cls(lambda: cached_minilm(data_dir))

    def _get(self) -> TextEmbedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self.embedder_factory()
            return self._embedder

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Rows of shape (len(texts), d), each of unit length (a zero row stays zero), so
        dot products are cosines whatever the embedder; ``texts`` must not be empty."""
        rows = np.asarray(self._get().transform(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
