"""Zero-shot classification from label names: a usable model before the first label exists."""

from __future__ import annotations

import copy
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin

from labelwise._typing import ProbaArray
from labelwise.exceptions import NotFittedError

_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")


def humanize_label(name: Any) -> str:
    """Turn a label identifier into words: ``book_flight`` / ``PlayMusic`` -> ``book flight``.

    Underscores and hyphens become spaces, camelCase boundaries are split (an acronym stays
    one word: ``HTTPError`` -> ``http error``), and the result is lower-cased with single
    spaces. Names that already are words (``oos``) come back unchanged.

    Examples
    --------
    >>> humanize_label("book_flight"), humanize_label("PlayMusic"), humanize_label("oos")
    ('book flight', 'play music', 'oos')
    """
    text = str(name).replace("_", " ").replace("-", " ")
    text = _CAMEL_ACRONYM.sub(" ", _CAMEL_LOWER_UPPER.sub(" ", text))
    return " ".join(text.lower().split())


class ZeroShotClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Classify sentence embeddings by their cosine similarity to embedded label texts.

    Every class gets a text (its description, or its humanised name) embedded with the
    same sentence model as the pool; an item's probabilities are a softmax over its cosine
    similarities to those label embeddings, sharpened by ``temperature``. No labeled data
    is needed, so this is the model for round zero, and the proposal source of
    :class:`~labelwise.initialization.ZeroShotSeedSet`.

    Parameters
    ----------
    embedder : SentenceEmbedder or object with ``transform(texts)``, optional
        Encodes the label texts; it must be the model that produced the pool's features.
        Default: ``SentenceEmbedder()`` (MiniLM), created inside :meth:`fit`, so nothing
        loads at import or construction. Pass an instance to share one loaded model
        across clones (``clone`` keeps the same embedder object; see
        :meth:`__sklearn_clone__`).
    classes : sequence
        The full, ordered label list (the schema); columns of :meth:`predict_proba`.
    descriptions : mapping of class to str, optional
        A sentence describing a class, used instead of its name where given.
    temperature : float, default 0.05
        Softmax temperature over cosine similarities (in [-1, 1]): smaller is sharper.
    label_template : str, default "{}"
        Format string applied to every label text (description or humanised name), e.g.
        ``"a request to {}"``; must contain one ``{}``.
    label_embeddings : array-like of shape (n_classes, n_features), optional
        Label vectors to use instead of embedding the label texts (tests, or vectors
        computed elsewhere); rows are L2-normalised in :meth:`fit`.
    columns : slice, optional
        The columns of ``X`` that hold the sentence embedding, when the features carry
        more beside it (:class:`~labelwise.features.ConcatenatedFeaturizer` puts MiniLM
        first: ``slice(0, 384)``); ``X`` may then be sparse. Default: all of ``X``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    label_texts_ : list of str
        The text embedded for each class (empty when ``label_embeddings`` was given).
    label_embeddings_ : ndarray of shape (n_classes, n_features)
        Unit rows, float64.
    embedder_ : the embedder used (None when ``label_embeddings`` was given)

    Examples
    --------
    >>> import numpy as np
    >>> clf = ZeroShotClassifier(classes=["a", "b"], label_embeddings=np.eye(2)).fit()
    >>> clf.predict(np.array([[0.9, 0.1], [0.2, 0.8]])).tolist()
    ['a', 'b']
    """

    def __init__(
        self,
        embedder: Any = None,
        *,
        classes: Sequence[Any] = (),
        descriptions: Mapping[Any, str] | None = None,
        temperature: float = 0.05,
        label_template: str = "{}",
        label_embeddings: Any = None,
        columns: slice | None = None,
    ) -> None:
        self.embedder = embedder
        self.classes = classes
        self.descriptions = descriptions
        self.temperature = temperature
        self.label_template = label_template
        self.label_embeddings = label_embeddings
        self.columns = columns

    def __sklearn_clone__(self) -> ZeroShotClassifier:
        """An unfitted copy that shares the *same* embedder object.

        ``sklearn.base.clone`` would deep-copy the embedder, and with it a loaded
        transformer (about 0.6 s for MiniLM) in every round of a loop; the embedder holds
        no per-fit state, so sharing it is safe. Other parameters are deep-copied.
        """
        params = {
            name: copy.deepcopy(value)
            for name, value in self.get_params(deep=False).items()
            if name != "embedder"
        }
        return type(self)(self.embedder, **params)

    def label_text(self, cls: Any) -> str:
        """The text embedded for class ``cls``: description or humanised name, templated."""
        descriptions = self.descriptions or {}
        text = descriptions[cls] if cls in descriptions else humanize_label(cls)
        return self.label_template.format(text)

    def fit(self, X: Any = None, y: Any = None, sample_weight: Any = None) -> Self:  # noqa: ARG002
        """Embed the label texts once; ``X``, ``y`` and ``sample_weight`` are ignored.

        The classifier is zero-shot: labels never change it. ``fit`` takes the learner
        arguments only so the loop and ``clone`` can treat it like any other learner.
        """
        owner = type(self).__name__
        self.classes_ = np.asarray(list(self.classes), dtype=object)
        n_classes = self.classes_.size
        if n_classes == 0:
            raise ValueError(f"{owner} needs the full label list in 'classes'.")
        names = self.classes_.tolist()
        if len(set(names)) != n_classes:
            repeated = sorted({repr(c) for c in names if names.count(c) > 1})
            raise ValueError(f"Class names must be distinct. Repeated: {', '.join(repeated)}.")
        self._check_temperature()
        unknown = sorted(repr(k) for k in (self.descriptions or {}) if k not in set(names))
        if unknown:
            raise ValueError(
                f"'descriptions' names classes that are not in 'classes': {', '.join(unknown[:10])}."
            )
        if self.label_embeddings is not None:
            vectors = np.asarray(self.label_embeddings, dtype=np.float64)
            self.label_texts_: list[str] = []
            self.embedder_: Any = None
        else:
            self._check_template()
            self.label_texts_ = [self.label_text(c) for c in names]
            self.embedder_ = self._make_embedder() if self.embedder is None else self.embedder
            vectors = np.asarray(self.embedder_.transform(self.label_texts_), dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != n_classes:
            raise ValueError(
                f"Label embeddings must have shape (n_classes={n_classes}, n_features). "
                f"Got shape {vectors.shape}."
            )
        norms = np.linalg.norm(vectors, axis=1)
        bad = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
        if bad.size:
            raise ValueError(
                "Label embeddings must be finite, non-zero vectors. "
                f"Bad rows for classes: {[names[i] for i in bad[:10]]}."
            )
        self.label_embeddings_ = vectors / norms[:, None]
        return self

    @staticmethod
    def _make_embedder() -> Any:
        # Imported here so importing the learners never pulls in the embedding stack.
        from labelwise.features.sentence import SentenceEmbedder

        return SentenceEmbedder()

    def _check_temperature(self) -> None:
        t = self.temperature
        if (
            isinstance(t, bool)
            or not isinstance(t, numbers.Real)
            or not math.isfinite(float(t))
            or t <= 0
        ):
            raise ValueError(
                f"The 'temperature' parameter of {type(self).__name__} must be a float in "
                f"(0, inf). Got {t!r} instead."
            )

    def _check_template(self) -> None:
        template = self.label_template
        try:
            ok = isinstance(template, str) and template.format("\0") != template.format("")
        except (IndexError, KeyError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"The 'label_template' parameter of {type(self).__name__} must be a format "
                f"string with one '{{}}' placeholder. Got {template!r} instead."
            )

    def predict_proba(self, X: Any) -> ProbaArray:
        """Softmax of cosine similarities over ``temperature``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Sentence embeddings from the embedder that encoded the labels (in ``columns``
            when set); rows need not be unit length (zero rows get uniform probabilities).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns in ``classes`` order.
        """
        if not hasattr(self, "label_embeddings_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit() first.")
        if self.columns is not None:
            if not isinstance(self.columns, slice):
                raise TypeError(
                    f"The 'columns' parameter of {type(self).__name__} must be a slice. "
                    f"Got {self.columns!r} instead."
                )
            X = X[:, self.columns]
            X = X.toarray() if sp.issparse(X) else X
        if sp.issparse(X):
            raise TypeError(
                f"{type(self).__name__} needs dense sentence embeddings, not a sparse matrix "
                "(sparse features such as TF-IDF live in a different space from label embeddings)."
            )
        X = np.asarray(X, dtype=np.float64)
        n_features = self.label_embeddings_.shape[1]
        if X.ndim != 2 or X.shape[1] != n_features:
            raise ValueError(
                f"X must have shape (n_samples, {n_features}), the width of the label "
                f"embeddings (embed the pool with the same model). Got shape {X.shape}."
            )
        self._check_temperature()
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        # A zero row has no direction: cosine 0 to every label, hence uniform probabilities.
        cosine = (X @ self.label_embeddings_.T) / np.where(norms > 0, norms, 1.0)
        logits = cosine / float(self.temperature)
        logits -= logits.max(axis=1, keepdims=True)  # exp never overflows; the max becomes 1
        proba: ProbaArray = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class name of each row, shape (n_samples,)."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
