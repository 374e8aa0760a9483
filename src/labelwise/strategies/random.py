"""Random sampling: the baseline every other strategy must beat."""

from __future__ import annotations

import numpy as np

from labelwise.strategies.base import Query, QueryStrategy
from labelwise.strategies.context import QueryContext


class RandomSampling(QueryStrategy):
    """Draw ``n`` unlabeled items uniformly without replacement; every score is 0."""

    requires_learner = False

    def _select(self, ctx: QueryContext, n: int) -> Query:
        chosen = ctx.rng.choice(ctx.unlabeled, size=n, replace=False).astype(np.intp)
        return Query(indices=chosen, scores=np.zeros(n), strategy=repr(self))
