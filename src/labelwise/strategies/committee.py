"""Query-by-committee (vote entropy, consensus entropy, KL max-disagreement) and BALD.

All four read ``learner.member_proba(X)``, shape (n_members, n_samples, n_classes), from
a learner such as :class:`labelwise.learners.Committee`, one chunk of the pool at a time.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelwise._typing import IndexArray
from labelwise._validation import require_capability
from labelwise.strategies import _committee_measures
from labelwise.strategies.base import PointwiseStrategy
from labelwise.strategies.context import QueryContext

_HINT = "wrap the learner in labelwise.learners.Committee"


class CommitteeStrategy(PointwiseStrategy):
    """Pointwise strategies that need every committee member's probabilities.

    Subclasses write :meth:`measure` only. Multi-label learners (``learner.multilabel``
    true) are scored per class as binary problems ``[p, 1 - p]``, averaged over classes,
    as :class:`~labelwise.strategies.UtilityStrategy` does.

    Parameters
    ----------
    chunk_size : int, default 16384
        At most ``n_members x chunk_size x n_classes`` probabilities exist at once.
    """

    learner_capability = "member_proba"

    @abstractmethod
    def measure(self, member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
        """Utility of each sample of ``member_proba`` (n_members, n_samples, n_classes)."""

    def score(
        self, member_proba: NDArray[np.float64], *, multilabel: bool = False
    ) -> NDArray[np.float64]:
        """Utility for single- or multi-label member probabilities, shape (n_samples,)."""
        if not multilabel:
            return self.measure(member_proba)
        n_members, n_samples, n_classes = member_proba.shape
        flat = member_proba.reshape(n_members, n_samples * n_classes)
        binary = np.stack([flat, 1.0 - flat], axis=2)
        per_class = self.measure(binary).reshape(n_samples, n_classes)
        return np.asarray(per_class.mean(axis=1), dtype=np.float64)

    def _check_learner(self, learner: Any) -> None:
        if learner is None:
            super()._check_learner(learner)  # raises NotFittedError: no model yet
        require_capability(learner, "member_proba", type(self).__name__, hint=_HINT)

    def score_block(
        self,
        ctx: QueryContext,
        block: IndexArray,
        prepared: Any,  # noqa: ARG002
    ) -> NDArray[np.float64]:
        learner: Any = ctx.learner  # has member_proba: checked by _check_learner
        member_proba = np.asarray(learner.member_proba(ctx.pool.rows(block)), dtype=np.float64)
        if member_proba.ndim != 3 or member_proba.shape[1] != block.size:
            raise ValueError(
                f"{type(learner).__name__}.member_proba must return shape "
                f"(n_members, {block.size}, n_classes) for {block.size} rows. "
                f"Got shape {member_proba.shape}."
            )
        return self.score(member_proba, multilabel=bool(getattr(learner, "multilabel", False)))


class VoteEntropy(CommitteeStrategy):
    """Query items whose members' hard votes are most split: entropy of the votes (nats)."""

    def measure(self, member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
        return _committee_measures.vote_entropy(member_proba)


class ConsensusEntropy(CommitteeStrategy):
    """Query items whose mean member probability has the highest entropy (nats)."""

    def measure(self, member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
        return _committee_measures.consensus_entropy(member_proba)


class KLMaxDisagreement(CommitteeStrategy):
    """Query items whose members diverge most from their consensus.

    Utility ``mean_m KL(p_m || p_bar)`` in nats (McCallum & Nigam 1998). This equals BALD's
    mutual information over the same committee, so the two rank items alike.
    """

    def measure(self, member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
        return _committee_measures.kl_max_disagreement(member_proba)


class BALD(CommitteeStrategy):
    """Bayesian active learning by disagreement: ``H(p_bar) - mean_m H(p_m)`` (nats).

    The committee's members stand in for posterior samples (Houlsby et al. 2011). Items
    on which every member is unsure but all agree score 0: their labels would not tell
    the members apart.
    """

    def measure(self, member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
        return _committee_measures.mutual_information(member_proba)
