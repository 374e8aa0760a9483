"""The ground-truth oracle used in simulation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise._typing import IndexArray


class SimulatedOracle:
    """Answers queries from known labels, as a perfect annotator would.

    Parameters
    ----------
    labels : sequence, length n_pool
        The true label of every pool item (a name, or a list of names if multi-label).
        ``None`` entries are answered ``None`` (the item is ignored).

    Attributes
    ----------
    n_queried_ : int
        How many labels were asked for so far: the labeling cost.
    """

    def __init__(self, labels: Sequence[Any]) -> None:
        self.labels = labels
        self.n_queried_ = 0

    def label(self, indices: IndexArray) -> list[Any]:
        idx = np.asarray(indices, dtype=np.intp)
        self.n_queried_ += int(idx.size)
        return [self.labels[int(i)] for i in idx]
