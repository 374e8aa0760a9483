"""Pure committee measures: ``member_proba (n_members, n_samples, n_classes) -> (n_samples,)``.

Higher = more disagreement or uncertainty = more informative. All in nats, with
``0 log 0 = 0``; vectorised, no per-row Python.

``kl_max_disagreement`` and ``mutual_information`` are the same quantity written two ways:
``mean_m KL(p_m || p_bar) = H(p_bar) - mean_m H(p_m)``. They are computed independently
here, and agree to rounding.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from labelwise.strategies._measures import entropy


def _check_member_proba(member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    arr = np.asarray(member_proba, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(
            "member_proba must have shape (n_members, n_samples, n_classes). "
            f"Got shape {arr.shape}."
        )
    return arr


def _xlogy(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """``p * log(q)`` elementwise, 0 where ``p == 0`` (``0 log 0 = 0``)."""
    positive = p > 0
    return np.where(positive, p * np.log(np.where(positive, q, 1.0)), 0.0)


def vote_entropy(member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """Entropy of the members' hard votes, ``-sum_k (V_k / M) log(V_k / M)``.

    ``V_k`` counts the members whose most probable class is ``k`` (ties go to the lowest
    column, as ``argmax`` does). 0 when all members vote alike; ``log 2`` for an even
    two-way split; at most ``log(min(n_members, n_classes))``.

    Parameters
    ----------
    member_proba : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    utility : ndarray of shape (n_samples,), nats
    """
    arr = _check_member_proba(member_proba)
    n_members, n_samples, n_classes = arr.shape
    votes = np.argmax(arr, axis=2)  # (n_members, n_samples)
    # One bincount over "sample * n_classes + vote" tallies every sample's votes at once.
    flat = (np.arange(n_samples)[None, :] * n_classes + votes).reshape(-1)
    counts = np.bincount(flat, minlength=n_samples * n_classes).reshape(n_samples, n_classes)
    return entropy(counts / n_members)


def consensus_entropy(member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """Entropy of the consensus ``p_bar = mean_m p_m`` (soft vote entropy).

    Parameters
    ----------
    member_proba : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    utility : ndarray of shape (n_samples,), nats
    """
    return entropy(_check_member_proba(member_proba).mean(axis=0))


def kl_max_disagreement(member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """Largest ``KL(p_m || p_bar)`` over members: the most dissenting member's divergence.

    After McCallum & Nigam (1998), in the max form modAL uses. The *mean* over members of
    the same divergence equals BALD's mutual information exactly (``H(p_bar) - mean H(p_m)``),
    so the max is what makes this a distinct strategy: it flags items where a single
    member strongly disagrees with the consensus. 0 when all members agree, whatever their
    own uncertainty. ``p_bar_k >= p_mk / M``, so the divergence is always finite.

    Parameters
    ----------
    member_proba : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    utility : ndarray of shape (n_samples,), nats, >= 0
    """
    arr = _check_member_proba(member_proba)
    consensus = arr.mean(axis=0, keepdims=True)
    kl = (_xlogy(arr, arr) - _xlogy(arr, np.broadcast_to(consensus, arr.shape))).sum(axis=2)
    # Rounding can leave -1e-17 where members agree; a divergence is never negative.
    return np.asarray(np.maximum(kl.max(axis=0), 0.0), dtype=np.float64)


def mutual_information(member_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """BALD: ``H(p_bar) - mean_m H(p_m)``, the information the label carries about the model.

    Houlsby et al. (2011), "Bayesian active learning for classification and preference
    learning", with the committee as samples of the posterior. High only where the members
    are each confident yet disagree; 0 where they agree, even if each is uncertain.

    Parameters
    ----------
    member_proba : ndarray of shape (n_members, n_samples, n_classes)

    Returns
    -------
    utility : ndarray of shape (n_samples,), nats, >= 0
    """
    arr = _check_member_proba(member_proba)
    n_members, n_samples, n_classes = arr.shape
    expected = entropy(arr.reshape(n_members * n_samples, n_classes)).reshape(n_members, n_samples)
    # Jensen's inequality makes this >= 0; clip the rounding below it.
    mi = entropy(arr.mean(axis=0)) - expected.mean(axis=0)
    return np.asarray(np.maximum(mi, 0.0), dtype=np.float64)
