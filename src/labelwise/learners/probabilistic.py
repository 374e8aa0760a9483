"""A scikit-learn classifier whose probabilities always cover the full label schema."""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from labelwise._half import widen_into
from labelwise._typing import ProbaArray
from labelwise.data.joined import JoinedRows
from labelwise.exceptions import NotFittedError


def default_estimator() -> LogisticRegression:
    """Logistic regression tuned for L2-normalised sentence embeddings."""
    return LogisticRegression(C=10.0, max_iter=1000)


class ProbabilisticClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Wrap any scikit-learn estimator with ``predict_proba``; columns follow ``classes``.

    With 150 intents and 30 labeled so far, the wrapped estimator only sees 30 classes;
    this wrapper scatters its probabilities into the 150 schema columns (unseen classes
    get probability 0), so strategies never see columns shift between rounds. A labeled
    set with a single class yields probability 1 for it instead of a crash.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Cloned at every ``fit``. Default: ``LogisticRegression(C=10, max_iter=1000)``.
    classes : sequence
        The full, ordered label list (the schema).
    multilabel : bool, default False
        One binary estimator per class (one-vs-rest); ``y`` is then an indicator matrix
        of shape (n_samples, n_classes) or a list of label lists, and ``predict_proba``
        returns independent per-class probabilities.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    estimators_ : list
        The fitted estimator (single-label: one; multi-label: one per class, ``None``
        where the class was constant in the training labels).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> clf = ProbabilisticClassifier(classes=["a", "b", "c"]).fit(X, ["a", "a", "b", "b"])
    >>> clf.predict_proba(X).shape
    (4, 3)
    """

    #: Takes :class:`~labelwise.data.joined.JoinedRows` wherever it takes rows: a softmax
    #: model multiplies each block on its own (a dense block through BLAS), anything else
    #: reads them joined (``tocsr()``). Strategies ask a pool for joined rows for it.
    reads_joined_rows: ClassVar[bool] = True

    def __init__(
        self, estimator: Any = None, *, classes: Sequence[Any] = (), multilabel: bool = False
    ) -> None:
        self.estimator = estimator
        self.classes = classes
        self.multilabel = multilabel

    def _base(self) -> Any:
        return default_estimator() if self.estimator is None else self.estimator

    def fit(self, X: Any, y: Any, sample_weight: NDArray[np.float64] | None = None) -> Self:
        """Fit on feature rows ``X`` (n_samples, n_features) and labels ``y``.

        ``y`` holds names from ``classes`` (single-label), or an indicator matrix / label
        lists (multi-label). ``sample_weight`` (n_samples,) is passed on when given.
        """
        if isinstance(X, JoinedRows):
            X = X.tocsr()
        self.classes_ = np.asarray(list(self.classes), dtype=object)
        if self.classes_.size == 0:
            raise ValueError("ProbabilisticClassifier needs the full label list in 'classes'.")
        n_samples = X.shape[0]
        if n_samples == 0:
            raise ValueError("Cannot fit on zero labeled samples.")
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.multilabel:
            indicator = self._indicator(y)
            if indicator.shape[0] != n_samples:
                raise ValueError(f"X has {n_samples} rows but y has {indicator.shape[0]}.")
            self.estimators_: list[Any] = []
            self.constant_ = np.zeros(len(self.classes_))
            for j in range(len(self.classes_)):
                column = indicator[:, j]
                if column.min() == column.max():
                    self.estimators_.append(None)
                    self.constant_[j] = float(column[0])
                else:
                    self.estimators_.append(clone(self._base()).fit(X, column, **kwargs))
            return self
        codes = self._codes(y)
        if codes.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} rows but y has {codes.shape[0]}.")
        present = np.unique(codes)
        if present.size == 1:
            self.estimators_ = [None]
            self.columns_ = present
        else:
            with warnings.catch_warnings():
                # Early rounds hold few labels per class (151 intents, 150 labels); that is
                # normal here, not the "regression problem" sklearn suspects.
                warnings.filterwarnings("ignore", message="The number of unique classes is greater")
                estimator = clone(self._base()).fit(X, codes, **kwargs)
            self.estimators_ = [estimator]
            self.columns_ = np.asarray(estimator.classes_, dtype=np.intp)
        self.softmax_weights_ = _softmax_weights(self.estimators_[0], X)
        return self

    def _codes(self, y: Any) -> NDArray[np.intp]:
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        values = list(y)
        unknown = sorted({repr(v) for v in values if v not in lookup})
        if unknown:
            raise ValueError(
                f"y holds labels that are not in 'classes': {', '.join(unknown[:10])}."
            )
        return np.fromiter((lookup[v] for v in values), dtype=np.intp, count=len(values))

    def _indicator(self, y: Any) -> NDArray[np.int8]:
        try:
            arr = np.asarray(y)
        except ValueError:  # ragged label lists
            arr = np.asarray(y, dtype=object)
        numeric = arr.dtype == bool or np.issubdtype(arr.dtype, np.number)
        if arr.ndim == 2 and arr.shape[1] == len(self.classes_) and numeric:
            return arr.astype(np.int8)
        out = np.zeros((len(y), len(self.classes_)), dtype=np.int8)
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        for row, names in enumerate(y):
            for name in names:
                if name not in lookup:
                    raise ValueError(f"y holds a label that is not in 'classes': {name!r}.")
                out[row, lookup[name]] = 1
        return out

    def predict_proba(self, X: Any) -> ProbaArray:
        """Probabilities, shape (n_samples, n_classes), columns in ``classes`` order."""
        if not hasattr(self, "estimators_"):
            raise NotFittedError(
                "This ProbabilisticClassifier is not fitted yet; call fit(X, y) first."
            )
        X = self._readable(X)
        n_samples = X.shape[0]
        if self.multilabel:
            out = np.zeros((n_samples, len(self.classes_)), dtype=np.float64)
            for j, estimator in enumerate(self.estimators_):
                if estimator is None:
                    out[:, j] = self.constant_[j]
                else:
                    out[:, j] = estimator.predict_proba(X)[:, list(estimator.classes_).index(1)]
            return out
        estimator = self.estimators_[0]
        weights = getattr(self, "softmax_weights_", None)
        if estimator is None:
            proba = np.ones((n_samples, 1))
        elif weights is not None and _low_precision(X):
            proba = np.empty((n_samples, weights[0].shape[0]), dtype=np.float64)
            for start, stop, logits in self._logit_blocks(X):
                proba[start:stop] = _softmax(logits)
        else:
            proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        if self.columns_.size == len(self.classes_):
            return proba  # every class seen: columns already in schema order
        out = np.zeros((n_samples, len(self.classes_)), dtype=np.float64)
        out[:, self.columns_] = proba
        return out

    def predict_top_two(self, X: Any) -> NDArray[np.float64]:
        """The two largest class probabilities of each row, largest first, shape
        (n_samples, 2); the runner-up is 0 when there is one class.

        All margin and least-confidence sampling need. For a softmax model over float16 or
        float32 features it comes from the logits in one fused pass, without normalising
        every probability: ``p1 = 1 / sum_k exp(z_k - z_1)``, ``p2 = exp(z_2 - z_1) p1``
        (on 150 classes about twice as fast as :meth:`predict_proba` and a top-two over
        it). Single-label only.
        """
        if self.multilabel:
            raise ValueError("predict_top_two is for single-label models; this one is multi-label.")
        X = self._readable(X)
        weights = getattr(self, "softmax_weights_", None)
        if weights is None or self.estimators_[0] is None or not _low_precision(X):
            return _top_two(self.predict_proba(X))
        out = np.empty((X.shape[0], 2), dtype=np.float64)
        for start, stop, logits in self._logit_blocks(X):
            _top_two_of_logits(logits, out[start:stop])
        return out

    def _readable(self, X: Any) -> Any:
        """``X`` itself, or joined rows as one CSR matrix when this model cannot multiply
        their blocks apart (no verified softmax, or multi-label)."""
        if not isinstance(X, JoinedRows):
            return X
        weights = getattr(self, "softmax_weights_", None)
        if self.multilabel or weights is None or self.estimators_[0] is None:
            return X.tocsr()
        return X

    def _logit_blocks(self, X: Any) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
        weights = self.softmax_weights_
        assert weights is not None
        if isinstance(X, JoinedRows):
            return _joined_logit_blocks(X, weights, self._weight_columns)
        return _logit_blocks(X, weights)

    def _weight_columns(self, start: int, stop: int, *, sparse: bool) -> NDArray[np.float32]:
        """Columns ``start:stop`` of the softmax weights as one contiguous float32 array:
        (n_classes, width) for a dense block's product, transposed for a sparse block's.
        Kept between calls (a 50,000-column TF-IDF block is 30 MB to copy) for as long as
        the weights are the same array (a refit makes new ones), and left out of a pickle."""
        assert self.softmax_weights_ is not None
        coef = self.softmax_weights_[0]
        kept = self.__dict__.get("_weight_blocks")
        if kept is None or kept[0] is not coef:
            kept = (coef, {})
            self.__dict__["_weight_blocks"] = kept
        held: dict[tuple[int, int, bool], NDArray[np.float32]] = kept[1]
        key = (start, stop, sparse)
        if key not in held:
            columns = coef[:, start:stop]
            held[key] = np.ascontiguousarray(columns.T if sparse else columns)
        return held[key]

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state.pop("_weight_blocks", None)
        return state

    def predict(self, X: Any) -> NDArray[Any]:
        """Class names (n_samples,), or an indicator matrix (n_samples, n_classes) if multilabel."""
        proba = self.predict_proba(X)
        if self.multilabel:
            return (proba >= 0.5).astype(np.int8)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


_SCRATCH = threading.local()

#: At most this many bytes of float32 rows and logits in one block of :func:`_logit_blocks`.
_BLOCK_BYTES = 1 << 23


def _rows_per_block(n_features: int, n_classes: int) -> int:
    """Rows of one :func:`_logit_blocks` block: a power of two, so the strategies' default
    chunks (16,384 rows) hold whole blocks; 2,048 for 384 features and 150 classes. At
    most 4,096: a call for a few rows computes a whole block, and narrow rows would make
    that block long."""
    rows = min(4096, max(256, _BLOCK_BYTES // (4 * (n_features + n_classes))))
    return 1 << (rows.bit_length() - 1)


def _scratch(name: str, shape: tuple[int, int]) -> NDArray[np.float32]:
    """A float32 array of ``shape`` owned by this thread, reused across calls (its
    contents are garbage until written)."""
    size = shape[0] * shape[1]
    held: NDArray[np.float32] | None = getattr(_SCRATCH, name, None)
    if held is None or held.size < size:
        held = np.empty(size, dtype=np.float32)
        setattr(_SCRATCH, name, held)
    return held[:size].reshape(shape)


def _logit_blocks(
    X: NDArray[Any], weights: tuple[NDArray[np.float32], NDArray[np.float32]]
) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
    """``(start, stop, X[start:stop] @ coef.T + intercept)`` in float32, block after block
    of :func:`_rows_per_block` rows; each block's logits live in this thread's scratch
    and are overwritten by the next.

    Why blocks of one fixed size:

    - *Cache.* A block's float32 rows and logits are still in cache when the product and
      the passes after it read them. An exact margin top-1,000 over a million float16
      rows of 384 features and 150 classes, on 2 cores (1 MB L2 each, 32 MB shared L3),
      took 0.91 s with the product in 16,384-row chunks, 0.91 s in blocks of 512 rows,
      0.85 s of 1,024 and 0.84 s of 2,048. Fresh 10-25 MB arrays per call would cost
      page faults besides.
    - *Exact rankings.* A row's logits must not depend on which other rows share its
      product, or a ranking would change with the chunk size or the partitioning of the
      pool. BLAS picks its kernel by the matrix sizes (OpenBLAS computes products of up
      to a million multiply-adds, and single rows, another way), but a product of a fixed
      number of rows computes each row the same wherever it sits. So every product has
      exactly :func:`_rows_per_block` rows, a short last block padded with zeros. A call
      for a few rows pays for a whole block: 1.3 ms for 384 features and 150 classes.
    """
    n, n_features = X.shape
    coef, intercept = weights
    step = _rows_per_block(n_features, coef.shape[0])
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = X[start:stop]
        if rows.shape[0] < step or not (rows.dtype == np.float32 and _blas_ready(rows)):
            padded = _scratch("rows", (step, n_features))
            widen_into(rows, padded[: stop - start])
            padded[stop - start :] = 0.0
            rows = padded
        logits = np.matmul(rows, coef.T, out=_scratch("logits", (step, coef.shape[0])))
        logits = logits[: stop - start]
        logits += intercept
        yield start, stop, logits


def _joined_logit_blocks(
    X: JoinedRows,
    weights: tuple[NDArray[np.float32], NDArray[np.float32]],
    columns: Callable[..., NDArray[np.float32]],
) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
    """:func:`_logit_blocks` of joined rows, each block multiplied on its own: a dense
    block through BLAS in products of one fixed size (as :func:`_logit_blocks`), a sparse
    block by SciPy's sparse product (which sums each row by itself, in its stored order).
    ``columns(start, stop, sparse=...)`` gives the weights of a block's columns."""
    n = len(X)
    n_classes = weights[0].shape[0]
    dense_width = sum(w for w, b in zip(X.widths, X.blocks, strict=True) if not sp.issparse(b))
    step = _rows_per_block(max(dense_width, 1), n_classes)
    for start in range(0, n, step):
        stop = min(n, start + step)
        logits = _scratch("logits", (step, n_classes))[: stop - start]
        logits[...] = weights[1]
        for first, rows in X.scaled(start, stop):
            width = rows.shape[1]
            if sp.issparse(rows):
                logits += rows @ columns(first, first + width, sparse=True)
                continue
            if rows.shape[0] < step:  # scaled() made a fresh float32 copy: full blocks use it
                padded = _scratch("rows", (step, width))
                padded[: stop - start] = rows
                padded[stop - start :] = 0.0
                rows = padded
            part = _scratch("part", (step, n_classes))
            np.matmul(rows, columns(first, first + width, sparse=False).T, out=part)
            logits += part[: stop - start]
        yield start, stop, logits


def _blas_ready(rows: NDArray[Any]) -> bool:
    """Rows NumPy hands to BLAS as they are (NumPy multiplies others with a loop of its own,
    which rounds differently)."""
    return bool(rows.flags.c_contiguous and rows.flags.aligned)


def _top_two_of_logits(z: NDArray[np.float32], out: NDArray[np.float64]) -> None:
    """Write each row's two largest softmax probabilities of logits ``z`` (n, n_classes),
    largest first, into ``out`` (n, 2); ``z`` is overwritten.

    ``p = exp(z_k) / sum_j exp(z_j)``, unshifted while a row's largest logit is in the
    range where float32 ``exp`` neither overflows (their sum included) nor underflows to
    0; a row outside it is shifted by its largest, as a softmax is. Each row's result
    depends on that row alone, bit for bit, whatever block it is computed in and wherever
    in the block: rankings must not change with the chunk size or the partitioning
    (BLAS's matrix-vector product sums a row in an order that depends on the number of
    rows, so the row sums are an ``einsum``). Passes chosen by measurement (1M rows x 150
    classes, one core): the row sums as an ``einsum`` (14 ms, against 44 ms for
    ``sum(axis=1)``), the runner-up as a second ``argmax`` (29 ms, against 55 ms for
    ``max(axis=1)``), and no shift (36 ms).
    """
    n, n_classes = z.shape
    if not z.flags.c_contiguous:
        z = np.ascontiguousarray(z)
    flat = z.reshape(-1)  # a view of z, written through below
    # Flat positions of each row's largest: a 1-d take is cheaper than z[rows, best].
    best = z.argmax(axis=1) + np.arange(0, n * n_classes, n_classes)
    largest = flat[best]
    # exp(88.7) is float32's largest; the sum of n_classes terms must stay below it too.
    high = 87.0 - math.log(n_classes)
    far = np.flatnonzero((largest > high) | (largest < -80.0))
    if far.size:
        z[far] -= largest[far, None]
    np.exp(z, out=z)
    total = np.einsum("ij->i", z)
    np.divide(flat[best], total, out=out[:, 0])
    flat[best] = 0.0  # the runner-up is the largest of the rest (exp is never negative)
    second = z.argmax(axis=1) + np.arange(0, n * n_classes, n_classes)
    np.divide(flat[second], total, out=out[:, 1])


def _low_precision(X: Any) -> bool:
    """Dense float16 or float32 rows, or joined blocks: those the float32 softmax path
    serves (a store keeps the dense block of joined rows in float32)."""
    if isinstance(X, JoinedRows):
        return True
    return isinstance(X, np.ndarray) and X.dtype in (np.float16, np.float32)


def _top_two(proba: ProbaArray) -> NDArray[np.float64]:
    """Each row's two largest values of ``proba`` (n, n_classes), largest first: (n, 2)."""
    out = np.zeros((proba.shape[0], 2), dtype=np.float64)
    if proba.shape[1] == 0:
        return out
    rows = np.arange(proba.shape[0])
    best = proba.argmax(axis=1)
    out[:, 0] = proba[rows, best]
    if proba.shape[1] > 1:
        rest = np.array(proba, dtype=np.float64)
        rest[rows, best] = -np.inf
        out[:, 1] = rest.max(axis=1)
    return out


def _softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
    """Row softmax, in place and in the logits' own precision."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def _softmax_weights(
    estimator: Any, X: Any
) -> tuple[NDArray[np.float32], NDArray[np.float32]] | None:
    """``(coef, intercept)`` in float32 when ``estimator.predict_proba`` is a softmax of a linear map.

    Scoring a pool of a million float32 embeddings is dominated by the matrix product;
    sklearn upcasts it to float64, which costs about 2.5x. The identity is checked on a few
    training rows (so a one-vs-rest or otherwise different model never takes this path),
    and the float32 path serves float16 and float32 features and joined blocks only (sparse
    rows alone keep sklearn's float64 path).
    """
    coef = getattr(estimator, "coef_", None)
    intercept = getattr(estimator, "intercept_", None)
    if coef is None or intercept is None or np.ndim(coef) != 2 or coef.shape[0] < 3:
        return None
    probe = (
        sp.csr_matrix(X[:32], dtype=np.float64)
        if sp.issparse(X)
        else np.asarray(X[:32], dtype=np.float64)
    )
    expected = estimator.predict_proba(probe)
    logits = np.asarray(probe @ coef.T, dtype=np.float64) + intercept
    if not np.allclose(_softmax(logits), expected, rtol=0, atol=1e-9):
        return None
    return np.asarray(coef, dtype=np.float32), np.asarray(intercept, dtype=np.float32)
