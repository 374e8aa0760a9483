"""The featurizer contract: texts in, a feature matrix out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, Self, runtime_checkable

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(n_done, n_total)`` while a featurizer works through a pool.

The library stays free of terminal code: the CLI passes a rich progress bar's update here.
"""


@runtime_checkable
class Featurizer(Protocol):
    """Turns texts into rows of a feature matrix of shape (n_texts, n_features)."""

    def fit(self, texts: Sequence[str]) -> Self: ...

    def transform(self, texts: Sequence[str]) -> Any: ...

    def fit_transform(self, texts: Sequence[str]) -> Any: ...
