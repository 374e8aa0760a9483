"""The label matrix: every labeling function's vote on every item, sparse.

Row ``i`` is item ``i`` of the pool (positions, as everywhere in labelwise), column ``j``
labeling function ``j``. A stored value is the voted class's index plus one, so an
abstention is a structural zero and a matrix of rules that fire on a few items each stays
small. :class:`LabelMatrixBuilder` keeps the columns between calls and applies only what
changed: new items to every function, and new or edited functions to every item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from labelwise._validation import check_positive_int
from labelwise.weak.functions import LabelingFunction, LabelingFunctionError

__all__ = ["DEFAULT_CHUNK_SIZE", "LabelMatrix", "LabelMatrixBuilder", "apply_functions"]

#: Texts handed to a labeling function at once: bounds the memory of similarity and model
#: functions (a chunk's vectors and probabilities) on pools of millions.
DEFAULT_CHUNK_SIZE = 10_000


@dataclass(frozen=True)
class LabelMatrix:
    """Votes of ``names`` (columns) on the pool's items (rows).

    Attributes
    ----------
    votes : scipy.sparse.csr_matrix of shape (n_items, n_functions), int32
        Class index + 1 where a function voted, 0 (not stored) where it abstained.
    classes : tuple of str
        The label names, in index order.
    names : tuple of str
        The functions' names, in column order.
    """

    votes: sparse.csr_matrix
    classes: tuple[str, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.votes.shape[1] != len(self.names):
            raise ValueError(
                f"A label matrix of {self.votes.shape[1]} columns needs as many names; "
                f"got {len(self.names)}."
            )

    @property
    def n_items(self) -> int:
        return int(self.votes.shape[0])

    @property
    def n_functions(self) -> int:
        return int(self.votes.shape[1])

    def covered(self) -> NDArray[np.bool_]:
        """True for items at least one function voted on, shape (n_items,)."""
        return np.asarray(np.diff(self.votes.tocsr().indptr) > 0)

    def class_counts(self) -> NDArray[np.float64]:
        """Votes per item and class, shape (n_items, n_classes)."""
        coo = self.votes.tocoo()
        counts = np.zeros((self.n_items, len(self.classes)))
        np.add.at(counts, (coo.row, coo.data.astype(np.intp) - 1), 1.0)
        return counts

    def rows(self, positions: NDArray[np.intp]) -> LabelMatrix:
        """The votes on the items at ``positions`` only, in that order."""
        return LabelMatrix(self.votes[positions], self.classes, self.names)

    def dense(self, rows: NDArray[np.intp] | None = None) -> NDArray[np.intp]:
        """Votes as class indices, -1 for an abstention: shape (n_rows, n_functions)."""
        block = self.votes if rows is None else self.votes[rows]
        return np.asarray(block.toarray(), dtype=np.intp) - 1

    @classmethod
    def from_dense(
        cls, votes: Any, classes: Sequence[str], names: Sequence[str] | None = None
    ) -> LabelMatrix:
        """From class indices with -1 for an abstention (tests, hand-made matrices)."""
        arr = np.asarray(votes, dtype=np.int64)
        if arr.ndim != 2:
            raise ValueError(f"votes must have shape (n_items, n_functions). Got {arr.shape}.")
        if arr.size and (arr.min() < -1 or arr.max() >= len(classes)):
            raise ValueError(
                f"votes must be class indices in [0, {len(classes)}) or -1 (abstain). "
                f"Got values from {arr.min()} to {arr.max()}."
            )
        names = tuple(names) if names is not None else tuple(f"lf{j}" for j in range(arr.shape[1]))
        return cls(sparse.csr_matrix(arr + 1, dtype=np.int32), tuple(classes), names)


def _check_functions(functions: Sequence[LabelingFunction], classes: Sequence[str]) -> None:
    seen: set[str] = set()
    known = set(classes)
    for lf in functions:
        if lf.name in seen:
            raise LabelingFunctionError(
                f"Two labeling functions are named {lf.name!r}; names must be unique."
            )
        seen.add(lf.name)
        unknown = sorted(lf.labels - known)
        if unknown:
            raise LabelingFunctionError(
                f"Labeling function {lf.name!r} votes {unknown}, which are not among the "
                f"classes ({', '.join(sorted(known)[:10])}{', ...' if len(known) > 10 else ''})."
            )


def _column(
    lf: LabelingFunction,
    texts: Sequence[str],
    vectors: NDArray[np.floating[Any]] | None,
    index: dict[str, int],
    chunk_size: int,
    offset: int = 0,
) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
    """Rows (``offset``-shifted) where ``lf`` voted, and the class index + 1 of each vote."""
    rows: list[int] = []
    values: list[int] = []
    for start in range(0, len(texts), chunk_size):
        stop = min(start + chunk_size, len(texts))
        chunk_vectors = None if vectors is None else vectors[start:stop]
        votes = lf.apply(texts[start:stop], vectors=chunk_vectors)
        if len(votes) != stop - start:
            raise LabelingFunctionError(
                f"Labeling function {lf.name!r} returned {len(votes)} votes for "
                f"{stop - start} texts."
            )
        for i, vote in enumerate(votes):
            if vote is not None:
                rows.append(offset + start + i)
                values.append(index[vote] + 1)
    return np.asarray(rows, dtype=np.intp), np.asarray(values, dtype=np.int32)


def _assemble(
    columns: Sequence[tuple[NDArray[np.intp], NDArray[np.int32]]], n_items: int
) -> sparse.csr_matrix:
    rows = [r for r, _ in columns]
    cols = [np.full(r.size, j, dtype=np.intp) for j, (r, _) in enumerate(columns)]
    vals = [v for _, v in columns]
    if not columns:
        return sparse.csr_matrix((n_items, 0), dtype=np.int32)
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, len(columns)),
        dtype=np.int32,
    )


def apply_functions(
    functions: Sequence[LabelingFunction],
    texts: Sequence[str],
    classes: Sequence[str],
    *,
    vectors: NDArray[np.floating[Any]] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> LabelMatrix:
    """Apply every function to every text, ``chunk_size`` texts at a time.

    Parameters
    ----------
    functions : sequence of LabelingFunction
        Uniquely named; each votes only labels among ``classes``.
    texts : sequence of str, length n
    classes : sequence of str
    vectors : ndarray of shape (n, d), optional
        Unit-length embeddings of ``texts`` (needed by similarity functions).
    chunk_size : int, default 10,000

    Returns
    -------
    LabelMatrix of shape (n, len(functions))
    """
    return LabelMatrixBuilder(classes, chunk_size=chunk_size).update(
        functions, texts, vectors=vectors
    )


@dataclass
class _Column:
    fingerprint: str
    rows: NDArray[np.intp]
    values: NDArray[np.int32]


@dataclass
class LabelMatrixBuilder:
    """A label matrix kept up to date as items arrive and functions change.

    The pool is append-only (positions never move): each :meth:`update` applies the
    functions it already knows, unchanged, to the items added since, and new or edited
    functions (a new :meth:`LabelingFunction.fingerprint`) to every item.

    Parameters
    ----------
    classes : sequence of str
    chunk_size : int, default 10,000

    Attributes
    ----------
    applied_ : int
        (item, function) pairs evaluated by the last update.
    """

    classes: Sequence[str]
    chunk_size: int = DEFAULT_CHUNK_SIZE
    applied_: int = 0
    _columns: dict[str, _Column] = field(default_factory=dict)
    _n_items: int = 0

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        check_positive_int(self.chunk_size, "chunk_size", "LabelMatrixBuilder")

    def update(
        self,
        functions: Sequence[LabelingFunction],
        texts: Sequence[str],
        *,
        vectors: NDArray[np.floating[Any]] | None = None,
    ) -> LabelMatrix:
        """The matrix of ``functions`` over ``texts`` (the whole pool so far, in order)."""
        if len(texts) < self._n_items:
            raise ValueError(
                f"The pool only grows: this builder has seen {self._n_items} items, "
                f"got {len(texts)}."
            )
        if vectors is not None and len(vectors) != len(texts):
            raise ValueError(f"vectors has {len(vectors)} rows for {len(texts)} texts.")
        _check_functions(functions, self.classes)
        index = {c: k for k, c in enumerate(self.classes)}
        new_items = list(texts[self._n_items :])
        new_vectors = None if vectors is None else vectors[self._n_items :]
        applied = 0
        columns: dict[str, _Column] = {}
        for lf in functions:
            fingerprint = lf.fingerprint()
            known = self._columns.get(lf.name)
            if known is not None and known.fingerprint == fingerprint:
                rows, values = _column(
                    lf, new_items, new_vectors, index, self.chunk_size, offset=self._n_items
                )
                applied += len(new_items)
                known = _Column(
                    fingerprint,
                    np.concatenate([known.rows, rows]),
                    np.concatenate([known.values, values]),
                )
            else:
                rows, values = _column(lf, texts, vectors, index, self.chunk_size)
                applied += len(texts)
                known = _Column(fingerprint, rows, values)
            columns[lf.name] = known
        self._columns = columns
        self._n_items = len(texts)
        self.applied_ = applied
        ordered = [(columns[lf.name].rows, columns[lf.name].values) for lf in functions]
        return LabelMatrix(
            _assemble(ordered, len(texts)),
            tuple(self.classes),
            tuple(lf.name for lf in functions),
        )
