"""Query strategies for sequence labeling (entity spans): which sentences to annotate next.

Each strategy reads the block's token lists from ``pool.sequences``, asks the learner
(a :class:`labelwise.learners.crf.CRFTagger` or anything with the same methods) for path
probabilities or token marginals, and hands them to a pure measure in
:mod:`labelwise.strategies._sequence_measures`. ``pool.features`` is not read here; it is
what wrappers such as :class:`~labelwise.strategies.DeduplicatedBatch` compare sentences by.

Every strategy takes ``cost``: ``"sentence"`` (one label = one sentence) or ``"token"``
(the utility is divided by the sentence's token count, for a budget counted in tokens).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray, IndexLike, RandomStateLike
from labelwise._validation import check_positive_int, check_random_state, require_capability
from labelwise.data.pool import Pool
from labelwise.exceptions import NotFittedError
from labelwise.strategies import _sequence_measures as measures
from labelwise.strategies.base import PointwiseStrategy, Query, QueryStrategy
from labelwise.strategies.wrappers import _check_strategy, _Wrapper

_COSTS = ("sentence", "token")


class SequenceStrategy(PointwiseStrategy):
    """Pointwise strategies over whole sentences; subclasses write :meth:`sentence_utility`.

    Parameters
    ----------
    cost : {"sentence", "token"}, default "sentence"
        ``"token"`` divides each utility by the sentence's token count.
    chunk_size : int, default 1024
        Sentences scored at once: at most ``chunk_size x max_len x n_tags`` marginals
        (times ``n_members`` for committees) exist at a time.
    """

    #: The learner method the strategy calls.
    learner_capability: str | None = "predict_marginals"

    def __init__(self, *, cost: str = "sentence", chunk_size: int = 1024) -> None:
        super().__init__(chunk_size=chunk_size)
        self.cost = cost

    def _check_learner(self, learner: Any) -> None:
        if learner is None:
            raise NotFittedError(
                f"{type(self).__name__} needs a fitted sequence learner; "
                "start from a seed set or a cold-start strategy."
            )
        if self.cost not in _COSTS:
            raise ValueError(
                f"The 'cost' parameter of {type(self).__name__} must be one of {_COSTS}. "
                f"Got {self.cost!r} instead."
            )
        require_capability(
            learner, str(self.learner_capability), type(self).__name__, hint="use a CRFTagger"
        )

    @abstractmethod
    def sentence_utility(
        self, learner: Any, sequences: list[Any], lengths: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Utility of each sentence (n_sentences,), higher = more informative."""

    def score_block(
        self,
        learner: Any,
        pool: Pool,
        block: IndexArray,
        context: Any,  # noqa: ARG002
    ) -> NDArray[np.float64]:
        sequences = pool.sequences_at(block)
        lengths = np.array([len(s) for s in sequences], dtype=np.intp)
        utility = np.asarray(self.sentence_utility(learner, sequences, lengths), dtype=np.float64)
        if utility.shape != (block.size,):
            raise ValueError(
                f"{type(self).__name__} expected {block.size} utilities from "
                f"{type(learner).__name__}; got shape {utility.shape}."
            )
        if self.cost == "token":
            return measures.per_token_cost(utility, lengths)
        return utility


def _padded(marginals: Any, lengths: NDArray[np.intp], learner: Any) -> NDArray[np.float64]:
    """Per-sentence marginals padded into one array, checked against the token counts."""
    padded, found = measures.pad_marginals(marginals)
    if not np.array_equal(found, lengths):
        raise ValueError(
            f"{type(learner).__name__} returned marginals for {found.size} sentences of "
            f"{found[:5].tolist()}... tokens; expected {lengths.size} of {lengths[:5].tolist()}..."
        )
    return padded


class SequenceLeastConfidence(SequenceStrategy):
    """Query sentences whose best tag path is least probable: ``1 - P(best path)``.

    Favours long sentences (more tokens, more ways to be wrong); :class:`MNLP` corrects that.
    """

    learner_capability = "best_path_proba"

    def sentence_utility(
        self,
        learner: Any,
        sequences: list[Any],
        lengths: NDArray[np.intp],  # noqa: ARG002
    ) -> NDArray[np.float64]:
        return measures.sequence_least_confidence(learner.best_path_proba(sequences))


class MNLP(SequenceStrategy):
    """Maximum normalised log-probability (Shen et al. 2017): ``-(1/n) log P(best path)``.

    Examples
    --------
    >>> import numpy as np
    >>> from labelwise.data import Pool
    >>> class Learner:
    ...     def best_path_proba(self, X):
    ...         return np.array([0.9, 0.5, 1.0])[: len(X)]
    >>> pool = Pool(np.zeros((3, 0)), sequences=[["a"], ["b", "c"], []])
    >>> MNLP().query(Learner(), pool, [], [0, 1, 2], 1).indices.tolist()
    [1]
    """

    learner_capability = "best_path_proba"

    def sentence_utility(
        self, learner: Any, sequences: list[Any], lengths: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        return measures.mnlp(learner.best_path_proba(sequences), lengths)


class TokenEntropy(SequenceStrategy):
    """Entropy of the token marginals, reduced per sentence (nats).

    Parameters
    ----------
    reduce : {"sum", "mean", "max"}, default "sum"
        Total token entropy (Settles & Craven 2008), its per-token mean, or the most
        uncertain token's.
    cost, chunk_size
        As for every :class:`SequenceStrategy`.
    """

    def __init__(
        self, *, reduce: str = "sum", cost: str = "sentence", chunk_size: int = 1024
    ) -> None:
        super().__init__(cost=cost, chunk_size=chunk_size)
        self.reduce = reduce

    def sentence_utility(
        self,
        learner: Any,
        sequences: list[Any],
        lengths: NDArray[np.intp],
    ) -> NDArray[np.float64]:
        padded = _padded(learner.predict_marginals(sequences), lengths, learner)
        return measures.token_entropy(padded, lengths, self.reduce)


class WorstTokenMargin(SequenceStrategy):
    """``1 - (p_(1) - p_(2))`` of the sentence's least certain token."""

    def sentence_utility(
        self,
        learner: Any,
        sequences: list[Any],
        lengths: NDArray[np.intp],
    ) -> NDArray[np.float64]:
        padded = _padded(learner.predict_marginals(sequences), lengths, learner)
        return measures.worst_token_margin(padded, lengths)


class SequenceCommittee(SequenceStrategy):
    """Committee disagreement over token marginals, reduced per sentence (nats).

    Reads ``learner.member_marginals`` (e.g. :class:`labelwise.learners.crf.BaggedCRF`).

    Parameters
    ----------
    measure : {"vote_entropy", "bald"}, default "vote_entropy"
        Entropy of the members' per-token tag votes, or per-token mutual information
        ``H(mean p) - mean H(p)``.
    reduce : {"sum", "mean", "max"}, default "sum"
    cost, chunk_size
        As for every :class:`SequenceStrategy`.
    """

    learner_capability = "member_marginals"

    def __init__(
        self,
        *,
        measure: str = "vote_entropy",
        reduce: str = "sum",
        cost: str = "sentence",
        chunk_size: int = 1024,
    ) -> None:
        super().__init__(cost=cost, chunk_size=chunk_size)
        self.measure = measure
        self.reduce = reduce

    def sentence_utility(
        self,
        learner: Any,
        sequences: list[Any],
        lengths: NDArray[np.intp],
    ) -> NDArray[np.float64]:
        padded = _padded(learner.member_marginals(sequences), lengths, learner)
        if padded.ndim == 3:  # no sentences at all: give the members axis back
            padded = padded[None]
        if self.measure == "vote_entropy":
            return measures.sequence_vote_entropy(padded, lengths, self.reduce)
        if self.measure == "bald":
            return measures.sequence_bald(padded, lengths, self.reduce)
        raise ValueError(
            "The 'measure' parameter of SequenceCommittee must be 'vote_entropy' or 'bald'. "
            f"Got {self.measure!r} instead."
        )


class EntityDiverseBatch(_Wrapper):
    """Don't spend one batch on the same entity string: skip a candidate whose predicted
    entities are all covered by items chosen before it in the batch.

    Asks ``base`` for ``min(len(unlabeled), oversample * n)`` candidates, best first,
    predicts their entities (``learner.predict_spans``) and walks them in order. An entity
    is its lowercased text (tokens joined by one space); type is ignored, so "Paris" as a
    city and as an artist counts once. A candidate is skipped when it has at least one
    predicted entity and every one of them is already covered; a candidate with no
    predicted entity is never skipped (it may hold entities the model misses). If fewer
    than ``n`` survive, ``base`` is asked again for twice as many, up to the whole
    unlabeled pool; past that, skipped candidates fill the batch in ``base`` order, so the
    batch always holds ``min(n, len(unlabeled))`` items.

    Parameters
    ----------
    base : QueryStrategy
    oversample : int >= 1, default 3
    """

    _keywords = ("oversample",)

    def __init__(self, base: QueryStrategy, *, oversample: int = 3) -> None:
        self.base = base
        self.oversample = oversample

    @property
    def requires_learner(self) -> bool:  # type: ignore[override]
        return True

    def query(
        self,
        learner: Any,
        pool: Pool,
        labeled: IndexLike,
        unlabeled: IndexLike,
        n: int,
        *,
        random_state: RandomStateLike = None,
    ) -> Query:
        unlabeled, n = self._check_query_args(pool, labeled, unlabeled, n)
        owner = type(self).__name__
        base = _check_strategy(self.base, "base", owner)
        oversample = check_positive_int(self.oversample, "oversample", owner)
        if learner is None:
            raise NotFittedError(f"{owner} needs a fitted learner to predict entities.")
        require_capability(learner, "predict_spans", owner, hint="use a CRFTagger")
        # One seed for every request, as DeduplicatedBatch does: a larger request extends
        # the smaller one's order.
        rng = check_random_state(random_state)
        seed = int(random_state) if isinstance(random_state, int) else int(rng.integers(2**63 - 1))
        request = min(unlabeled.size, oversample * n)
        while True:
            candidates = base.query(learner, pool, labeled, unlabeled, request, random_state=seed)
            keep = self._distinct(learner, pool, candidates.indices, n)
            if keep.size == n or request >= unlabeled.size:
                break
            request = min(unlabeled.size, 2 * request)
        if keep.size < n:
            skipped = np.setdiff1d(np.arange(candidates.indices.size), keep)
            keep = np.sort(np.concatenate([keep, skipped[: n - keep.size]]))
        return Query(
            indices=candidates.indices[keep].astype(np.intp),
            scores=np.asarray(candidates.scores, dtype=np.float64)[keep],
            strategy=repr(self),
        )

    @staticmethod
    def _distinct(learner: Any, pool: Pool, indices: IndexArray, n: int) -> IndexArray:
        """Positions (into ``indices``) kept by the greedy pass, at most ``n``."""
        sequences = pool.sequences_at(indices)
        spans = learner.predict_spans(sequences)
        covered: set[str] = set()
        kept: list[int] = []
        for j, (tokens, found) in enumerate(zip(sequences, spans, strict=True)):
            words = list(getattr(tokens, "tokens", tokens))
            names = {" ".join(words[s:e]).lower() for s, e, *_ in found}
            if names and names <= covered:
                continue
            covered |= names
            kept.append(j)
            if len(kept) == n:
                break
        return np.asarray(kept, dtype=np.intp)
