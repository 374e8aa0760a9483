"""Several featurizers side by side: sentence embeddings beside TF-IDF n-grams, say."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from labelwise.data.joined import join_blocks


class ConcatenatedFeaturizer:
    """Stack the rows of several featurizers: each block L2-normalised, scaled, then joined.

    Sentence embeddings know what a request means; word and character n-grams know the
    exact words (an account name, a typo, a product). Side by side a linear model uses
    both: on CLINC150 MiniLM beside TF-IDF (equal weights) lifts logistic regression's
    full-data test accuracy from 0.855 to 0.867, and margin sampling reaches MiniLM's 99%
    mark (0.846) with about 1,300 labels instead of about 1,530.

    Each block's rows are scaled to unit length before weighting, so a block's weight is
    its share of every row's squared norm (``weight**2 / sum(weights**2)``) whatever the
    block's own scale or width.

    Parameters
    ----------
    parts : sequence of (featurizer, weight)
        Featurizers with ``fit``/``transform`` (``SentenceEmbedder``, ``TfidfFeaturizer``);
        each weight a positive float. The first part's columns come first.

    Examples
    --------
    >>> from labelwise.features import TfidfFeaturizer
    >>> texts = ["book a flight", "cancel my flight"]
    >>> featurizer = ConcatenatedFeaturizer([(TfidfFeaturizer(), 1.0), (TfidfFeaturizer(), 1.0)])
    >>> X = featurizer.fit_transform(texts)
    >>> round(float(X.multiply(X).sum(axis=1)[0, 0]), 6)  # two unit blocks
    2.0
    """

    def __init__(self, parts: Sequence[tuple[Any, float]]) -> None:
        self.parts = parts

    def _checked_parts(self) -> list[tuple[Any, float]]:
        owner = type(self).__name__
        parts = list(self.parts)
        if not parts:
            raise ValueError(f"{owner} needs at least one (featurizer, weight) part.")
        for i, part in enumerate(parts):
            if not isinstance(part, tuple) or len(part) != 2:
                raise ValueError(f"{owner} part {i} must be a (featurizer, weight) pair.")
            featurizer, weight = part
            if not callable(getattr(featurizer, "transform", None)):
                raise TypeError(
                    f"{owner} part {i}: {type(featurizer).__name__} has no transform(texts)."
                )
            if (
                isinstance(weight, bool)
                or not isinstance(weight, numbers.Real)
                or not np.isfinite(weight)
                or weight <= 0
            ):
                raise ValueError(
                    f"{owner} part {i}: the weight must be a positive finite number. "
                    f"Got {weight!r}."
                )
        return parts

    def fit(self, texts: Sequence[str]) -> Self:
        """Fit every part that learns from texts (TF-IDF); pretrained parts are kept.

        Parts fitted elsewhere need no ``fit`` here: :meth:`transform` asks each part,
        and an unfitted one says so.
        """
        for featurizer, _ in self._checked_parts():
            fit = getattr(featurizer, "fit", None)
            if callable(fit):
                fit(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Feature rows of shape (n_texts, sum of the parts' widths), CSR, float64.

        A text empty in one block (no known n-gram) keeps a zero block there; the others
        are unaffected.
        """
        return self.join([featurizer.transform(texts) for featurizer, _ in self._checked_parts()])

    def join(self, blocks: Sequence[Any]) -> sp.csr_matrix:
        """The output of :meth:`transform` from each part's own output, in ``parts`` order.

        For callers that keep a part's rows between calls (the retrain worker embeds each
        item once, but refits TF-IDF as the pool grows).

        Parameters
        ----------
        blocks : sequence of array-like or sparse matrix, each of shape (n_texts, width_i)
        """
        return join_blocks(blocks, [weight for _, weight in self._checked_parts()])

    @property
    def n_features_(self) -> int:
        """Columns of :meth:`transform`'s output, when every part knows its own width (a
        pretrained ``SentenceEmbedder`` learns it only by embedding: AttributeError)."""
        widths = [getattr(featurizer, "n_features_", None) for featurizer, _ in self.parts]
        if any(w is None for w in widths):
            raise AttributeError(
                f"{type(self).__name__}.n_features_: a part tells its width only once it "
                "has embedded something."
            )
        return int(sum(w for w in widths if w is not None))

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self.fit(texts).transform(texts)
