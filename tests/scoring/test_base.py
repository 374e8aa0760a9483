"""The scorer a query is given decides where chunks are scored, at any wrapper depth."""

from __future__ import annotations

import numpy as np

from labelwise.scoring import LocalScorer, PoolScorer
from labelwise.strategies import ClassBalanced, ClusterMargin, MarginSampling
from tests.strategies.fakes import FixedProbaLearner, index_pool


class RecordingScorer(PoolScorer):
    """Scores in this process and counts the calls it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.local = LocalScorer()

    def top(self, strategy, ctx, positions, n, *, seed, prepared):
        self.calls.append(("top", positions.size))
        return self.local.top(strategy, ctx, positions, n, seed=seed, prepared=prepared)

    def scores(self, strategy, ctx, positions, *, prepared):
        self.calls.append(("scores", positions.size))
        return self.local.scores(strategy, ctx, positions, prepared=prepared)


def _learner(n: int) -> FixedProbaLearner:
    p = np.random.default_rng(0).uniform(0.05, 0.95, n)
    return FixedProbaLearner(np.c_[p, 1 - p])


def test_the_default_scorer_is_local_and_gives_what_an_explicit_one_gives():
    pool, learner = index_pool(200), _learner(200)
    args = (learner, pool, [0, 1], np.arange(2, 200), 10)
    default = MarginSampling(chunk_size=7).query(*args, random_state=2)
    local = MarginSampling(chunk_size=7).query(*args, random_state=2, scorer=LocalScorer())
    assert default.indices.tolist() == local.indices.tolist()


def test_wrappers_hand_their_base_the_query_s_scorer():
    pool, learner = index_pool(100), _learner(100)
    for strategy, call in [
        (ClassBalanced(MarginSampling()), "top"),
        (ClusterMargin(random_state=0), "scores"),
    ]:
        scorer = RecordingScorer()
        strategy.query(learner, pool, [], np.arange(100), 5, random_state=0, scorer=scorer)
        assert scorer.calls == [(call, 100)]
