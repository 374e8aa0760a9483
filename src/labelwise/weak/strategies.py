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

:class:`CombinedAnswerSampling` is another kind: it scores a probability strategy (margin,
entropy, least confidence) on the end model and the label model answering together, the
answer a project that trains with the rules as a second opinion gives.

The label matrix's rows are the pool's positions: its size must be the pool's. A label a
person gives such an item also checks every function that fired on it
(:func:`labelwise.weak.analyze` with the new gold).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray
from labelwise.exceptions import QueryError
from labelwise.strategies import _measures
from labelwise.strategies.base import PointwiseStrategy, UtilityStrategy
from labelwise.strategies.context import QueryContext
from labelwise.weak.combine import (
    DEFAULT_LABEL_WEIGHT,
    combined_proba,
    unseen_class_mass,
    with_unseen_classes,
)
from labelwise.weak.label_models import LabelModel
from labelwise.weak.matrix import LabelMatrix

__all__ = [
    "CombinedAnswerSampling",
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


class CombinedAnswerSampling(PointwiseStrategy):
    """``base`` scored on the end model and the labeling functions answering together.

    Where some function votes on an item, its probabilities are
    :func:`~labelwise.weak.combine.combined_proba` of the end model's and the label
    model's; elsewhere the end model's alone. Classes the end model never learned keep
    their Good-Turing share of the query's labels
    (:func:`~labelwise.weak.combine.with_unseen_classes`), so a rule's vote for one is not
    vetoed by a zero. Margin on that answer sends people where the model and the rules
    together are unsure, not to items the rules settle that the model alone doubts (on
    TREC-6, ranking by the end model's own margin instead cost 1.5 points at 200 actions,
    20 seeds).

    Parameters
    ----------
    base : UtilityStrategy
        A strategy that scores class probabilities: margin, entropy, least confidence.
    matrix : LabelMatrix
        The pool's votes: rows are pool positions, ``matrix.classes`` the end model's
        classes, which the learner's ``classes_`` name (label names) or index.
    label_model : LabelModel
        Fitted on ``matrix``'s functions.
    label_weight : float >= 0, default 1
        The label model's exponent (:func:`~labelwise.weak.combine.choose_label_weight`);
        0 gives ``base`` on the end model alone.
    learned : sequence, optional
        The classes the end model was trained on (as its ``classes_`` names them); the
        default is every class in ``classes_``. A learner that lists every class of the
        schema, trained or not (:class:`~labelwise.learners.ProbabilisticClassifier`),
        must be told, or its zeros for the others stand.
    chunk_size : int, default 16384

    Notes
    -----
    The learner must be single-label. Without the query's labels (``labels=None``) no
    class is opened: the end model's zeros stand.
    """

    def __init__(
        self,
        base: UtilityStrategy,
        matrix: LabelMatrix,
        label_model: LabelModel,
        *,
        label_weight: float = DEFAULT_LABEL_WEIGHT,
        learned: Sequence[Any] | None = None,
        chunk_size: int = 16384,
    ) -> None:
        super().__init__(chunk_size=chunk_size)
        self.base = base
        self.matrix = matrix
        self.label_model = label_model
        self.label_weight = label_weight
        self.learned = learned

    def prepare(self, ctx: QueryContext) -> tuple[NDArray[np.intp], NDArray[np.bool_], float]:
        """The end model's columns in ``matrix.classes``, the classes it learned, and the
        share the others keep."""
        owner = type(self).__name__
        if not isinstance(self.base, UtilityStrategy):
            raise QueryError(
                f"{owner} scores class probabilities: base must be a UtilityStrategy "
                f"(margin, entropy, least confidence). Got {type(self.base).__name__}."
            )
        if not self.label_weight >= 0:
            raise QueryError(f"{owner}: label_weight must be >= 0. Got {self.label_weight!r}.")
        if self.matrix.n_items != len(ctx.pool):
            raise QueryError(
                f"{owner} holds votes for {self.matrix.n_items} items but the pool has "
                f"{len(ctx.pool)}: build it from the pool's label matrix."
            )
        if getattr(ctx.learner, "multilabel", False):
            raise QueryError(f"{owner} combines single-label answers; the learner is multi-label.")
        k = len(self.matrix.classes)
        columns = _columns(getattr(ctx.learner, "classes_", ()), self.matrix.classes, owner)
        seen = np.zeros(k, dtype=bool)
        learned = (
            columns if self.learned is None else _columns(self.learned, self.matrix.classes, owner)
        )
        seen[learned] = True
        mass = 0.0 if ctx.labels is None else unseen_class_mass(list(ctx.labels), k)
        return columns, seen, mass

    def score_block(
        self,
        ctx: QueryContext,
        block: IndexArray,
        prepared: tuple[NDArray[np.intp], NDArray[np.bool_], float],
    ) -> NDArray[np.float64]:
        columns, seen, mass = prepared
        learner: Any = ctx.learner
        end = np.zeros((block.size, len(self.matrix.classes)))
        end[:, columns] = learner.predict_proba(ctx.pool.rows(block))
        votes = self.matrix.rows(block)
        proba = combined_proba(
            with_unseen_classes(end, seen, mass),
            self.label_model.predict_proba(votes),
            votes.covered(),
            label_weight=self.label_weight,
        )
        return self.base.score(proba)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base!r}, label_weight={self.label_weight!r})"


def _columns(learned: Any, classes: tuple[str, ...], owner: str) -> NDArray[np.intp]:
    """Where each of the learner's classes (label names, or indices into ``classes``)
    sits in ``classes``."""
    learned = np.asarray(learned).tolist()  # numpy scalars as Python's, for the message too
    index = {name: k for k, name in enumerate(classes)}
    if learned and all(isinstance(c, str) and c in index for c in learned):
        return np.array([index[c] for c in learned], dtype=np.intp)
    if learned and all(
        isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(classes) for c in learned
    ):
        return np.asarray(learned, dtype=np.intp)
    raise QueryError(
        f"{owner}: the learner's classes {learned[:5]!r} are neither the label matrix's "
        f"label names nor indices into its {len(classes)} classes."
    )
