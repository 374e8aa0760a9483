"""A fast, predictable stand-in for MiniLM in worker and labeling-function tests."""

from __future__ import annotations

import re
import zlib

import numpy as np

from labelwise.service.sentence_vectors import SentenceVectors


class WordEmbedder:
    """Bag of words hashed into ``dim`` dimensions, punctuation ignored ("balance?!" and
    "balance" are the same vector; distinct sentences are far apart at 256)."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def transform(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        return out


def fake_minilm(dim: int = 256) -> SentenceVectors:
    """Sentence vectors for labeling functions from hashed words, not the loaded model."""
    return SentenceVectors(lambda: WordEmbedder(dim))
