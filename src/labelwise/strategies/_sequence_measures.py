"""Pure sequence-labeling measures: token marginals of whole sentences -> one utility each.

Sentences differ in length, so token marginals travel padded: ``marginals`` of shape
(n_sentences, max_len, n_tags) with the real tokens of sentence ``i`` in
``marginals[i, :lengths[i]]``; committee marginals are (n_members, n_sentences, max_len,
n_tags). Padding may hold anything: it is masked out and never reaches a utility. Higher
utility = more informative; an empty sentence has utility 0 under every measure (there is
nothing to label). Everything is vectorised over sentences and tokens (no per-token
Python); the token-level quantities reuse :mod:`._measures` and :mod:`._committee_measures`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from labelwise.strategies import _committee_measures, _measures

Reduce = Literal["sum", "mean", "max"]
REDUCTIONS: tuple[str, ...] = ("sum", "mean", "max")


def pad_marginals(
    marginals: Sequence[NDArray[np.float64]],
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Stack per-sentence marginals into one zero-padded array.

    Parameters
    ----------
    marginals : sequence of n_sentences arrays of shape (n_tokens_i, n_tags) or, for a
        committee, (n_members, n_tokens_i, n_tags)

    Returns
    -------
    padded : ndarray of shape (n_sentences, max_len, n_tags) or
        (n_members, n_sentences, max_len, n_tags)
    lengths : ndarray of shape (n_sentences,)
    """
    arrays = [np.asarray(m, dtype=np.float64) for m in marginals]
    if not arrays:
        return np.zeros((0, 0, 0)), np.zeros(0, dtype=np.intp)
    ndim = arrays[0].ndim
    if ndim not in (2, 3) or any(a.ndim != ndim for a in arrays):
        raise ValueError(
            "marginals must all have shape (n_tokens, n_tags) or all "
            f"(n_members, n_tokens, n_tags). Got shapes {[a.shape for a in arrays[:5]]}."
        )
    lead, tags = arrays[0].shape[:-2], arrays[0].shape[-1]
    for a in arrays:
        if a.shape[:-2] != lead or a.shape[-1] != tags:
            raise ValueError(
                f"marginals disagree on members or tags: {a.shape} vs {arrays[0].shape}."
            )
    lengths = np.array([a.shape[-2] for a in arrays], dtype=np.intp)
    n, width = len(arrays), int(lengths.max())
    # Token-major copies, so one fancy assignment places every token of every sentence.
    flat = np.concatenate([np.moveaxis(a, -2, 0) for a in arrays], axis=0)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    padded = np.zeros((n, width, *lead, tags))
    padded[rows, cols] = flat
    if lead:
        padded = np.moveaxis(padded, 2, 0)  # (n_members, n, width, n_tags)
    return padded, lengths


def _mask(lengths: NDArray[np.intp], width: int) -> NDArray[np.bool_]:
    return np.arange(width)[None, :] < np.asarray(lengths)[:, None]


def reduce_tokens(
    values: NDArray[np.float64], lengths: NDArray[np.intp], reduce: str
) -> NDArray[np.float64]:
    """Reduce per-token values (n_sentences, max_len) over each sentence's real tokens.

    ``"sum"``, ``"mean"`` or ``"max"``; 0 for an empty sentence under each.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}. Got {reduce!r} instead.")
    lengths = np.asarray(lengths, dtype=np.intp)
    mask = _mask(lengths, values.shape[1])
    if reduce == "max":
        # Every per-token measure here is >= 0, so 0 is a safe floor for empty sentences.
        return np.asarray(np.where(mask, values, 0.0).max(axis=1, initial=0.0), dtype=np.float64)
    total = np.where(mask, values, 0.0).sum(axis=1)
    if reduce == "sum":
        return np.asarray(total, dtype=np.float64)
    return np.asarray(total / np.maximum(lengths, 1), dtype=np.float64)


_Measure = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _per_token(measure: _Measure, marginals: NDArray[np.float64]) -> NDArray[np.float64]:
    """Apply a ``(n_rows, n_tags) -> (n_rows,)`` measure to every token of a padded batch."""
    arr = np.asarray(marginals, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(
            f"marginals must have shape (n_sentences, max_len, n_tags). Got shape {arr.shape}."
        )
    n, width, tags = arr.shape
    return np.asarray(measure(arr.reshape(n * width, tags)), dtype=np.float64).reshape(n, width)


def sequence_least_confidence(path_proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1 - P(best path)`` per sentence, shape (n_sentences,).

    ``path_proba`` is the probability of each sentence's Viterbi path (1 for an empty
    sentence, so its utility is 0).
    """
    p = np.asarray(path_proba, dtype=np.float64)
    return np.asarray(np.clip(1.0 - p, 0.0, 1.0), dtype=np.float64)


def mnlp(path_proba: NDArray[np.float64], lengths: NDArray[np.intp]) -> NDArray[np.float64]:
    """Maximum normalised log-probability, flipped: ``-(1/n_tokens) log P(best path)``.

    Shen et al. (2017): length normalisation stops least confidence from simply picking
    the longest sentences. In nats per token, >= 0; 0 for an empty sentence. A path
    probability of 0 (underflow) gives ``inf``, ranked first.
    """
    p = np.asarray(path_proba, dtype=np.float64)
    n = np.asarray(lengths, dtype=np.float64)
    with np.errstate(divide="ignore"):
        nll = -np.log(np.clip(p, 0.0, 1.0))
    return np.asarray(np.where(n > 0, nll / np.maximum(n, 1.0), 0.0), dtype=np.float64)


def token_entropy(
    marginals: NDArray[np.float64], lengths: NDArray[np.intp], reduce: str = "sum"
) -> NDArray[np.float64]:
    """Entropy (nats) of each token's marginal, reduced per sentence.

    Parameters
    ----------
    marginals : ndarray of shape (n_sentences, max_len, n_tags), padded
    lengths : ndarray of shape (n_sentences,)
    reduce : {"sum", "mean", "max"}
        ``sum`` is Settles & Craven's total token entropy (favours long sentences),
        ``mean`` normalises by length, ``max`` scores a sentence by its most uncertain token.

    Returns
    -------
    utility : ndarray of shape (n_sentences,)
    """
    return reduce_tokens(_per_token(_measures.entropy, marginals), lengths, reduce)


def worst_token_margin(
    marginals: NDArray[np.float64], lengths: NDArray[np.intp]
) -> NDArray[np.float64]:
    """``1 - (p_(1) - p_(2))`` at the sentence's least certain token, shape (n_sentences,).

    1 when some token's two best tags tie; 0 when every token is certain or the sentence
    is empty.
    """
    return reduce_tokens(_per_token(_measures.margin, marginals), lengths, "max")


def _per_token_committee(
    measure: _Measure, member_marginals: NDArray[np.float64]
) -> NDArray[np.float64]:
    m, n, width, tags = member_marginals.shape
    flat = member_marginals.reshape(m, n * width, tags)
    return np.asarray(measure(flat), dtype=np.float64).reshape(n, width)


def _check_members(member_marginals: NDArray[np.float64]) -> NDArray[np.float64]:
    arr = np.asarray(member_marginals, dtype=np.float64)
    if arr.ndim != 4:
        raise ValueError(
            "member_marginals must have shape (n_members, n_sentences, max_len, n_tags). "
            f"Got shape {arr.shape}."
        )
    return arr


def sequence_vote_entropy(
    member_marginals: NDArray[np.float64], lengths: NDArray[np.intp], reduce: str = "sum"
) -> NDArray[np.float64]:
    """Entropy of the members' per-token hard votes (each member's argmax tag), reduced.

    Parameters
    ----------
    member_marginals : ndarray of shape (n_members, n_sentences, max_len, n_tags), padded
    lengths : ndarray of shape (n_sentences,)
    reduce : {"sum", "mean", "max"}

    Returns
    -------
    utility : ndarray of shape (n_sentences,), nats
    """
    arr = _check_members(member_marginals)
    per_token = _per_token_committee(_committee_measures.vote_entropy, arr)
    return reduce_tokens(per_token, lengths, reduce)


def sequence_bald(
    member_marginals: NDArray[np.float64], lengths: NDArray[np.intp], reduce: str = "sum"
) -> NDArray[np.float64]:
    """Per-token mutual information ``H(mean_m p_m) - mean_m H(p_m)``, reduced (nats).

    Parameters
    ----------
    member_marginals : ndarray of shape (n_members, n_sentences, max_len, n_tags), padded
    lengths : ndarray of shape (n_sentences,)
    reduce : {"sum", "mean", "max"}

    Returns
    -------
    utility : ndarray of shape (n_sentences,), nats, >= 0
    """
    arr = _check_members(member_marginals)
    per_token = _per_token_committee(_committee_measures.mutual_information, arr)
    return reduce_tokens(per_token, lengths, reduce)


def per_token_cost(utility: NDArray[np.float64], lengths: NDArray[np.intp]) -> NDArray[np.float64]:
    """Utility per token, ``utility / n_tokens`` (an empty sentence keeps its utility)."""
    return np.asarray(
        np.asarray(utility, dtype=np.float64) / np.maximum(np.asarray(lengths), 1),
        dtype=np.float64,
    )
