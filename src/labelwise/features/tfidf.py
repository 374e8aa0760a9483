"""TF-IDF over word and character n-grams: no model, no download, robust to typos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from labelwise.exceptions import NotFittedError


class TfidfFeaturizer:
    """Word 1–2-grams and character 2–5-grams (within word bounds), TF-IDF weighted.

    The two blocks are stacked side by side and each row is L2-normalised, so cosine
    similarity is a dot product.

    Parameters
    ----------
    max_features : int, default 20_000
        Cap per block (word, char), by corpus frequency.
    min_df : int, default 1
    sublinear_tf : bool, default True

    Examples
    --------
    >>> X = TfidfFeaturizer().fit_transform(["book a flight", "cancel my flight"])
    >>> X.shape[0]
    2
    """

    def __init__(self, *, max_features: int = 20_000, min_df: int = 1, sublinear_tf: bool = True):
        self.max_features = max_features
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _vectorizers(self) -> list[TfidfVectorizer]:
        common: dict[str, Any] = {
            "max_features": self.max_features,
            "min_df": self.min_df,
            "sublinear_tf": self.sublinear_tf,
            "lowercase": True,
            "dtype": np.float64,
        }
        return [
            TfidfVectorizer(
                analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common
            ),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
        ]

    def fit(self, texts: Sequence[str]) -> Self:
        self.vectorizers_ = [v.fit(texts) for v in self._vectorizers()]
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        blocks = sp.hstack([v.transform(texts) for v in self._fitted()], format="csr")
        # Normalise the stacked row, not each block: a row may be empty in one block
        # (unknown words, known characters), and it must still be unit-norm.
        return normalize(blocks, norm="l2", copy=False).tocsr()

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)

    @property
    def n_features_(self) -> int:
        """Columns of :meth:`transform`'s output: both blocks' vocabularies together."""
        return sum(len(v.vocabulary_) for v in self._fitted())

    def fitted_state(self) -> list[tuple[list[str], NDArray[np.float64]]]:
        """What ``fit`` learned, as plain data: per block (word, char), the vocabulary in
        column order and its idf weights (shape (n_terms,)).

        :meth:`from_fitted_state` rebuilds a featurizer whose ``transform`` gives exactly
        the same matrix; nothing is pickled.
        """
        return [
            (
                [term for term, _ in sorted(v.vocabulary_.items(), key=lambda kv: kv[1])],
                np.asarray(v.idf_, dtype=np.float64),
            )
            for v in self._fitted()
        ]

    @classmethod
    def from_fitted_state(
        cls, state: Sequence[tuple[Sequence[str], NDArray[np.float64]]], **params: Any
    ) -> Self:
        """A fitted featurizer from :meth:`fitted_state` and the constructor's ``params``.

        Raises
        ------
        ValueError
            When ``state`` does not hold one (terms, idf) pair per block of equal lengths.
        """
        featurizer = cls(**params)
        vectorizers = featurizer._vectorizers()
        if len(state) != len(vectorizers):
            raise ValueError(f"Expected {len(vectorizers)} blocks (word, char); got {len(state)}.")
        for i, (vectorizer, (terms, idf)) in enumerate(zip(vectorizers, state, strict=True)):
            vocabulary = {term: j for j, term in enumerate(terms)}
            if len(vocabulary) != len(terms) or len(terms) != len(idf):
                raise ValueError(
                    f"Block {i} has {len(terms)} terms ({len(vocabulary)} distinct) "
                    f"and {len(idf)} idf weights; they must match one to one."
                )
            # What fit() sets: the vocabulary, then the idf (its setter builds the
            # transformer and checks the length against the vocabulary).
            vectorizer.vocabulary_ = vocabulary
            vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        featurizer.vectorizers_ = vectorizers
        return featurizer

    def _fitted(self) -> list[TfidfVectorizer]:
        if not hasattr(self, "vectorizers_"):
            raise NotFittedError("TfidfFeaturizer is not fitted yet; call fit(texts) first.")
        vectorizers: list[TfidfVectorizer] = self.vectorizers_
        return vectorizers
