"""Simulations of a deployed bot's labeling work, on a labeled data set replayed as
production traffic: label errors found by the relabel queue, new intents discovered in
the out-of-scope stream, a daily label budget over a repeating stream, and user feedback
triaged by expected impact.

Each module exposes one ``simulate(data, *, seed)`` function that takes a
:class:`ProductionData` (features and labels of a train and a test split, indexes only)
and returns a :class:`SimulationOutcome`: named figures, each with its target and whether
it was met. ``benchmarks/continuous.py`` runs them on CLINC150 and prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ProductionData:
    """A labeled data set split in two, as the simulations replay it.

    Attributes
    ----------
    train_texts, test_texts : list of str
        The utterances (the stream and the held-out test set).
    X_train, X_test : ndarray of shape (n, d), float32
        Their feature rows (L2-normalised sentence embeddings in the benchmark).
    y_train, y_test : ndarray of shape (n,), str
        Their gold labels.
    out_of_scope : str or None
        The label of out-of-scope utterances, when the data set has one.
    """

    train_texts: list[str]
    test_texts: list[str]
    X_train: NDArray[np.float32]
    X_test: NDArray[np.float32]
    y_train: NDArray[np.str_]
    y_test: NDArray[np.str_]
    out_of_scope: str | None = None

    def __post_init__(self) -> None:
        for name, X, y, texts in (
            ("train", self.X_train, self.y_train, self.train_texts),
            ("test", self.X_test, self.y_test, self.test_texts),
        ):
            if not (X.shape[0] == y.shape[0] == len(texts)):
                raise ValueError(
                    f"{name}: {X.shape[0]} feature rows, {y.shape[0]} labels and "
                    f"{len(texts)} texts; they must match"
                )


@dataclass(frozen=True)
class Figure:
    """One measured number, with the target it is held to (None: reported only).

    ``higher_is_better`` says which side of the target passes.
    """

    name: str
    value: float
    target: float | None = None
    higher_is_better: bool = True

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


@dataclass(frozen=True)
class SimulationOutcome:
    """What one simulation run measured."""

    simulation: str
    seed: int
    figures: list[Figure]
    details: dict[str, Any] = field(default_factory=dict)


__all__ = ["Figure", "ProductionData", "SimulationOutcome"]
