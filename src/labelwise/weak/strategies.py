"""Query strategies that read the labeling functions: send people where the rules fail.

Each scores an item by a weak-supervision signal in [0, 1], mixed with the end model's
margin (``1 - (p_(1) - p_(2))``, also in [0, 1]): ``(1 - mix) * signal + mix * margin``.
``mix=1`` is plain margin sampling; ``mix=0`` ranks by the signal alone, the end model's
margin breaking nothing (ties fall to the seeded keys).

- :class:`LabelingFunctionConflict`: the functions disagree (entropy of the votes, over
  ``log K``).
- :class:`CoverageGap`: no function votes (1, else 0).
- :class:`LabelModelDisagreement`: the label model and the end model disagree most, as
  Active WeaSuL queries (``1 - exp(-KL(end model || label model))``, items some function
  voted on).

The label matrix's rows are the pool's positions: its size must be the pool's. A label a
person gives such an item also checks every function that fired on it
(:func:`labelwise.weak.analyze` with the new gold).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray
from labelwise.exceptions import QueryError
from labelwise.strategies import _measures
from labelwise.strategies.base import PointwiseStrategy
from labelwise.strategies.context import QueryContext
from labelwise.weak.matrix import LabelMatrix

__all__ = [
    "CoverageGap",
    "LabelModelDisagreement",
    "LabelingFunctionConflict",
    "WeakSignalSampling",
]

#: Half signal, half margin: Active WeaSuL and WeSAL both keep the end model's uncertainty
#: in the loop, since a signal alone spends labels on items the model already gets right.
DEFAULT_MIX = 0.5


class WeakSignalSampling(PointwiseStrategy):
    """A weak-supervision signal per pool position, mixed with the end model's margin.

    Parameters
    ----------
    mix : float in [0, 1], default 0.5
        The margin's share of the score.
    chunk_size : int, default 16384
    """

    def __init__(self, *, mix: float = DEFAULT_MIX, chunk_size: int = 16384) -> None:
        super().__init__(chunk_size=chunk_size)
        self.mix = mix

    @abstractmethod
    def signal(self, block: IndexArray, proba: NDArray[np.float64]) -> NDArray[np.float64]:
        """The signal of the items at ``block``, in [0, 1]; ``proba`` is the end model's."""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """How many pool positions the signal covers."""

    def prepare(self, ctx: QueryContext) -> None:
        if not 0.0 <= self.mix <= 1.0:
            raise QueryError(f"{type(self).__name__}: mix must lie in [0, 1]. Got {self.mix!r}.")
        if self.n_items != len(ctx.pool):
            raise QueryError(
                f"{type(self).__name__} holds signals for {self.n_items} items but the pool "
                f"has {len(ctx.pool)}: build it from the pool's label matrix."
            )

    def score_block(
        self,
        ctx: QueryContext,
        block: IndexArray,
        prepared: Any,  # noqa: ARG002 - prepare only checks
    ) -> NDArray[np.float64]:
        learner: Any = ctx.learner
        proba = np.asarray(learner.predict_proba(ctx.pool.rows(block)), dtype=np.float64)
        margin = _measures.margin(proba)
        return np.asarray(
            (1.0 - self.mix) * self.signal(block, proba) + self.mix * margin, dtype=np.float64
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mix={self.mix})"


class _MatrixSignal(WeakSignalSampling):
    """A signal computed once from the label matrix."""

    def __init__(
        self, matrix: LabelMatrix, *, mix: float = DEFAULT_MIX, chunk_size: int = 16384
    ) -> None:
        super().__init__(mix=mix, chunk_size=chunk_size)
        self.matrix = matrix
        self._signal = self._from_matrix(matrix)

    @staticmethod
    @abstractmethod
    def _from_matrix(matrix: LabelMatrix) -> NDArray[np.float64]:
        """The signal of every item, shape (n_items,)."""

    @property
    def n_items(self) -> int:
        return self.matrix.n_items

    def signal(
        self,
        block: IndexArray,
        proba: NDArray[np.float64],  # noqa: ARG002 - the matrix alone decides
    ) -> NDArray[np.float64]:
        return self._signal[block]


class LabelingFunctionConflict(_MatrixSignal):
    """Items whose functions vote different labels: the entropy of their votes over
    ``log K`` (0 for no vote or a unanimous one, 1 for an even split over every class)."""

    @staticmethod
    def _from_matrix(matrix: LabelMatrix) -> NDArray[np.float64]:
        counts = matrix.class_counts()
        total = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
        k = max(len(matrix.classes), 2)
        return np.asarray(_measures.entropy(shares) / np.log(k), dtype=np.float64)


class CoverageGap(_MatrixSignal):
    """Items no function votes on (1; 0 for the others): where a person's label adds what
    the rules cannot."""

    @staticmethod
    def _from_matrix(matrix: LabelMatrix) -> NDArray[np.float64]:
        return np.asarray(~matrix.covered(), dtype=np.float64)


class LabelModelDisagreement(WeakSignalSampling):
    """Items where the label model and the end model disagree most (Active WeaSuL).

    Parameters
    ----------
    matrix : LabelMatrix
        The pool's votes: items no function voted on score 0 (the label model has only
        its prior there).
    label_proba : ndarray of shape (n_items, n_classes)
        The label model's probabilities, columns in the end model's class order.
    mix : float, default 0.5
    chunk_size : int, default 16384
    """

    def __init__(
        self,
        matrix: LabelMatrix,
        label_proba: NDArray[np.float64],
        *,
        mix: float = DEFAULT_MIX,
        chunk_size: int = 16384,
    ) -> None:
        super().__init__(mix=mix, chunk_size=chunk_size)
        label_proba = np.asarray(label_proba, dtype=np.float64)
        if label_proba.shape != (matrix.n_items, len(matrix.classes)):
            raise ValueError(
                f"label_proba must have shape ({matrix.n_items}, {len(matrix.classes)}). "
                f"Got {label_proba.shape}."
            )
        self.label_proba = label_proba
        self.covered = matrix.covered()

    @property
    def n_items(self) -> int:
        return int(self.label_proba.shape[0])

    def signal(self, block: IndexArray, proba: NDArray[np.float64]) -> NDArray[np.float64]:
        if proba.shape[1] != self.label_proba.shape[1]:
            raise QueryError(
                f"The end model has {proba.shape[1]} classes, the label model "
                f"{self.label_proba.shape[1]}."
            )
        label = np.clip(self.label_proba[block], 1e-12, 1.0)
        end = np.clip(proba, 1e-12, 1.0)
        kl = (end * np.log(end / label)).sum(axis=1)
        return np.where(self.covered[block], 1.0 - np.exp(-np.maximum(kl, 0.0)), 0.0)
