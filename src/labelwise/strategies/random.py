"""Random sampling: the baseline every other strategy must beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise._typing import IndexLike, RandomStateLike
from labelwise._validation import check_random_state
from labelwise.data.pool import Pool
from labelwise.strategies.base import Query, QueryStrategy


class RandomSampling(QueryStrategy):
    """Draw ``n`` unlabeled items uniformly without replacement; every score is 0."""

    requires_learner = False

    def query(
        self,
        learner: Any,  # noqa: ARG002 - part of the contract; random sampling ignores it
        pool: Pool,
        labeled: IndexLike,
        unlabeled: IndexLike,
        n: int,
        *,
        random_state: RandomStateLike = None,
    ) -> Query:
        unlabeled, n = self._check_query_args(pool, labeled, unlabeled, n)
        rng = check_random_state(random_state)
        chosen = rng.choice(unlabeled, size=n, replace=False).astype(np.intp)
        return Query(indices=chosen, scores=np.zeros(n), strategy=repr(self))
