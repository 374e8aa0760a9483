"""The query-strategy contract and the chunked base class for pointwise utilities."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray, IndexLike, ProbaArray, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state
from labelwise.data.pool import Pool
from labelwise.exceptions import EmptyPoolError, NotFittedError, PoolExhaustedError, QueryError
from labelwise.scoring.base import LocalScorer, PoolScorer
from labelwise.strategies._select import Ranked, merge_ranked, position_keys
from labelwise.strategies.context import QueryContext


@dataclass(frozen=True)
class Query:
    """The answer to a query: which items to label next and why.

    Attributes
    ----------
    indices : ndarray of shape (n,)
        Pool positions, most informative first, distinct, all unlabeled.
    scores : ndarray of shape (n,)
        Utility of each chosen item (higher = more informative): the "why this item".
    strategy : str
        ``repr`` of the strategy, kept with every label for provenance.
    """

    indices: IndexArray
    scores: NDArray[np.float64]
    strategy: str

    def __len__(self) -> int:
        return int(self.indices.shape[0])


class QueryStrategy(ABC):
    """Choose ``n`` unlabeled pool positions to label next.

    Constructors store parameters only. :meth:`query` is written once, here: it checks its
    arguments, builds one :class:`~labelwise.strategies.context.QueryContext` and calls
    :meth:`_select`, the one method a strategy writes. Wrappers call their base's
    :meth:`_select` with the same (or a narrowed) context, so nothing is checked twice and
    every strategy sees the labels, whatever wraps it.
    """

    #: False for strategies that never look at a model (random): the loop may skip a fit.
    #: Wrappers answer for the strategies they wrap.
    requires_learner: bool = True
    #: The learner method beyond predict_proba the strategy needs ("member_proba" for
    #: committees); the CLI and simulation wrap the learner to provide it. Wrappers answer
    #: for the strategies they wrap.
    learner_capability: str | None = None

    def query(
        self,
        # Any learner object: classifiers, CRF taggers, fakes. Each strategy checks the
        # capability it needs (predict_proba, member_proba, predict_marginals) at query time.
        learner: Any,
        pool: Pool,
        labeled: IndexLike,
        unlabeled: IndexLike,
        n: int,
        *,
        labels: Sequence[Any] | None = None,
        random_state: RandomStateLike = None,
        scorer: PoolScorer | None = None,
    ) -> Query:
        """Return a :class:`Query` of ``min(n, len(unlabeled))`` distinct unlabeled positions.

        Parameters
        ----------
        learner : fitted learner or None
            Any object with the methods the strategy needs (``predict_proba`` for
            classification, ``predict_marginals`` for sequence strategies); None when the
            strategy needs no model (``requires_learner`` false).
        pool : Pool
        labeled : array-like of shape (n_labeled,)
        unlabeled : array-like of shape (n_unlabeled,)
            The positions to choose from: distinct, none of them labeled.
        n : int >= 1
        labels : sequence of shape (n_labeled,), optional
            The labels of ``labeled``, same order, in the form ``learner.fit`` accepts.
            Strategies that refit the learner (expected error reduction) need them.
        random_state : int, Generator or None
            The query's randomness; strategies with a ``random_state`` parameter of their
            own use it when this is None.
        scorer : PoolScorer, optional
            Where pointwise utilities are computed: in this process in chunks
            (:class:`~labelwise.scoring.LocalScorer`, the default) or on a Dask cluster
            (:class:`~labelwise.scoring.DaskScorer`). The answer is the same either way.
        """
        unlabeled, n = self._check_query_args(pool, labeled, unlabeled, n)
        labeled = np.asarray(labeled, dtype=np.intp).reshape(-1)
        if labels is not None and len(labels) != labeled.size:
            raise QueryError(
                f"labels must hold one label per labeled position: got {len(labels)} "
                f"labels for {labeled.size} positions."
            )
        own = self._own_random_state()
        rng = check_random_state(own if random_state is None else random_state)
        ctx = QueryContext(
            learner=learner,
            pool=pool,
            labeled=labeled,
            unlabeled=unlabeled,
            labels=labels,
            rng=rng,
            scorer=LocalScorer() if scorer is None else scorer,
        )
        return self._select(ctx, n)

    @abstractmethod
    def _select(self, ctx: QueryContext, n: int) -> Query:
        """The ``min(n, len(ctx.unlabeled))`` positions to label, best first.

        ``ctx`` is already checked and ``1 <= n <= len(ctx.unlabeled)``; parameters of the
        strategy itself are checked here.
        """

    def _own_random_state(self) -> RandomStateLike:
        """The seed :meth:`query` uses when it is given none (default: none, fresh entropy)."""
        return None

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"{type(self).__name__}({params})"

    def _check_query_args(
        self, pool: Pool, labeled: IndexLike, unlabeled: IndexLike, n: int
    ) -> tuple[IndexArray, int]:
        """Validate the common arguments; return ``unlabeled`` as intp and the batch size."""
        owner = type(self).__name__
        n = check_positive_int(n, "n", f"{owner}.query")
        n_pool = len(pool)
        if n_pool == 0:
            raise EmptyPoolError(f"{owner}.query was given an empty pool.")
        unlabeled = np.asarray(unlabeled, dtype=np.intp).reshape(-1)
        labeled = np.asarray(labeled, dtype=np.intp).reshape(-1)
        if unlabeled.size == 0:
            raise PoolExhaustedError(
                f"No unlabeled items are left in the pool of {n_pool} ({labeled.size} labeled)."
            )
        for name, idx in (("unlabeled", unlabeled), ("labeled", labeled)):
            if idx.size and (idx.min() < 0 or idx.max() >= n_pool):
                raise QueryError(f"{name} holds positions outside a pool of {n_pool} items.")
        counts = np.bincount(unlabeled, minlength=n_pool)
        if counts.max() > 1:
            raise QueryError(
                f"unlabeled holds repeated positions: {np.flatnonzero(counts > 1)[:10].tolist()}."
            )
        overlap = labeled[counts[labeled] > 0] if labeled.size else labeled
        if overlap.size:
            raise QueryError(f"Positions are both labeled and unlabeled: {overlap[:10].tolist()}.")
        return unlabeled, min(n, unlabeled.size)


class PointwiseStrategy(QueryStrategy):
    """Strategies that score each unlabeled item on its own, then take the top ``n``.

    Subclasses write :meth:`score_block` (and, if they need per-query set-up such as a pool
    statistic, :meth:`prepare`). The base class walks the unlabeled positions in chunks of
    ``chunk_size`` rows, so model outputs exist for one chunk at a time, and keeps a running
    top-``n`` (a partial sort per chunk) with a seeded tie-break. An item's key depends on
    the query's seed and its position only (``_select.position_keys``), so the ranking is
    the same whatever the chunk size, and per-partition top-``n`` lists merged by another
    top-``n`` give the whole pool's: the query context's scorer
    (:class:`~labelwise.scoring.LocalScorer` here, :class:`~labelwise.scoring.DaskScorer`
    on a cluster) decides where the chunks are scored, never what is chosen.

    Parameters
    ----------
    chunk_size : int, default 16384
    """

    def __init__(self, *, chunk_size: int = 16384) -> None:
        self.chunk_size = chunk_size

    def prepare(self, ctx: QueryContext) -> Any:  # noqa: ARG002
        """Per-query set-up handed to every :meth:`score_block` call (default: None)."""
        return None

    @abstractmethod
    def score_block(
        self, ctx: QueryContext, block: IndexArray, prepared: Any
    ) -> NDArray[np.float64]:
        """Utility of the items at ``block`` (n_block,), higher = more informative."""

    def _check_learner(self, learner: Any) -> None:
        if learner is None or not hasattr(learner, "predict_proba"):
            raise NotFittedError(
                f"{type(self).__name__} needs a fitted learner with predict_proba; "
                "start from a seed set or a cold-start strategy."
            )

    def _select(self, ctx: QueryContext, n: int) -> Query:
        check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)
        self._check_learner(ctx.learner)
        prepared = self.prepare(ctx)
        # One draw from the query's stream; each item's key then depends on its position
        # alone, so any chunking or partitioning of the pool ranks the same.
        seed = int(ctx.rng.integers(2**63))
        best = ctx.scorer.top(self, ctx, ctx.unlabeled, n, seed=seed, prepared=prepared)
        return Query(indices=best.positions, scores=best.scores, strategy=repr(self))

    def top_in_chunks(
        self, ctx: QueryContext, positions: IndexArray, n: int, *, seed: int, prepared: Any
    ) -> Ranked:
        """The ``n`` best of ``positions``, scored here in chunks of ``chunk_size`` rows
        with a running top-``n``; what a :class:`~labelwise.scoring.PoolScorer` runs on
        each part of the pool. Keys come from ``(seed, position)``
        (:func:`~labelwise.strategies._select.position_keys`)."""
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)
        best = Ranked.empty()
        for start in range(0, positions.size, chunk_size):
            block = positions[start : start + chunk_size]
            scores = self._score_span(ctx, block, prepared)
            if best.positions.size == n:
                # Below the n-th best so far an item can never rise; equal ones may (keys).
                contenders = scores >= best.scores[-1]
                block, scores = block[contenders], scores[contenders]
            best = merge_ranked([best, Ranked(block, scores, position_keys(seed, block))], n)
        return best

    def _score_span(
        self, ctx: QueryContext, block: IndexArray, prepared: Any
    ) -> NDArray[np.float64]:
        """Scores of ``block`` (ascending positions), read from one contiguous span of rows
        when the block has few holes: a view of the features instead of a gathered copy.
        The few labeled rows inside the span are scored and dropped."""
        span = int(block[-1] - block[0]) + 1 if block.size else 0
        if block.size > 1 and span <= block.size + block.size // 8 and (np.diff(block) > 0).all():
            first = int(block[0])
            scores = self.score_block(ctx, np.arange(first, first + span), prepared)
            return np.asarray(scores, dtype=np.float64)[block - first]
        return np.asarray(self.score_block(ctx, block, prepared), dtype=np.float64)

    def score_all(self, ctx: QueryContext, indices: IndexLike) -> NDArray[np.float64]:
        """Scores of every item at ``indices`` (n,), chunked; for wrappers that re-rank.

        :meth:`prepare` sees ``ctx`` as given (its ``unlabeled`` need not be ``indices``);
        ``ctx.scorer`` decides where the chunks are scored.
        """
        self._check_learner(ctx.learner)
        idx = np.asarray(indices, dtype=np.intp)
        check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)
        return ctx.scorer.scores(self, ctx, idx, prepared=self.prepare(ctx))

    def scores_in_chunks(
        self, ctx: QueryContext, positions: IndexArray, *, prepared: Any
    ) -> NDArray[np.float64]:
        """Scores of ``positions`` (n,), computed here in chunks of ``chunk_size`` rows."""
        chunk_size = check_positive_int(self.chunk_size, "chunk_size", type(self).__name__)
        out = np.empty(positions.size, dtype=np.float64)
        for start in range(0, positions.size, chunk_size):
            block = positions[start : start + chunk_size]
            out[start : start + block.size] = self.score_block(ctx, block, prepared)
        return out


class UtilityStrategy(PointwiseStrategy):
    """Pointwise strategies that need only the class probabilities of an item.

    Subclasses write :meth:`utility` only. Multi-label learners (``learner.multilabel``
    true) are scored per class as binary problems ``[p, 1 - p]``, averaged over classes.

    Parameters
    ----------
    chunk_size : int, default 16384
        At most ``chunk_size x n_classes`` probabilities exist at once.
    """

    #: True when :meth:`utility` of each item's two largest probabilities alone, as a
    #: (n, 2) matrix, equals its utility over every class (margin, least confidence);
    #: learners with ``predict_top_two`` then skip the rest.
    top_two_suffices: ClassVar[bool] = False

    @abstractmethod
    def utility(self, proba: ProbaArray) -> NDArray[np.float64]:
        """Utility of each row of ``proba`` (n_samples, n_classes); returns (n_samples,)."""

    def utility_of_top_two(self, top: NDArray[np.float64]) -> NDArray[np.float64]:
        """Utility from each item's two largest probabilities, largest first (n, 2), as
        ``predict_top_two`` gives them; for strategies whose ``top_two_suffices``. The
        default is :meth:`utility` of them; a strategy may skip finding the largest again."""
        return self.utility(top)

    def score(self, proba: ProbaArray, *, multilabel: bool = False) -> NDArray[np.float64]:
        """Utility for single- or multi-label probabilities, shape (n_samples,)."""
        if not multilabel:
            return self.utility(proba)
        flat = proba.reshape(-1)
        binary = np.stack([flat, 1.0 - flat], axis=1)
        return np.asarray(self.utility(binary).reshape(proba.shape).mean(axis=1), dtype=np.float64)

    def score_block(
        self,
        ctx: QueryContext,
        block: IndexArray,
        prepared: Any,  # noqa: ARG002
    ) -> NDArray[np.float64]:
        learner: Any = ctx.learner  # checked by _check_learner before any block
        multilabel = bool(getattr(learner, "multilabel", False))
        rows = ctx.pool.rows(block, joined=bool(getattr(learner, "reads_joined_rows", False)))
        if self.top_two_suffices and not multilabel and hasattr(learner, "predict_top_two"):
            top = np.asarray(learner.predict_top_two(rows), dtype=np.float64)
            return self.utility_of_top_two(top)
        proba = np.asarray(learner.predict_proba(rows), dtype=np.float64)
        return self.score(proba, multilabel=multilabel)
