"""Predictions from a project's model: the production version, or a named one.

The model is the version's saved :class:`~labelwise.textmodel.TextModel`, the very folder
``labelwise export-model`` copies out, so the endpoint and an exported model loaded
elsewhere give the same probabilities. Loaded models are kept in a small in-process
cache keyed by their folder (a version's folder never changes once published).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from labelwise._typing import ProbaArray
from labelwise.exceptions import MissingDependencyError, ModelFileError
from labelwise.features import SentenceEmbedder
from labelwise.recipes import ScoredSpan
from labelwise.service import model_versions
from labelwise.service.errors import ValidationError
from labelwise.service.importing import MAX_TEXT_CHARS
from labelwise.textmodel import TextModel, load_model

#: Texts one call may ask about: a bot batches, and a request stays short.
MAX_TEXTS = 1000
#: Loaded models kept per process (each holds its TF-IDF vocabulary and coefficients).
CACHE_SIZE = 8


@dataclass(frozen=True)
class Predictions:
    """What one version's model says about a batch of texts.

    Attributes
    ----------
    version : int
    production : bool
        Whether that version is the one in production.
    task : str
        The project's task kind.
    classes : list of str
        The columns of ``proba`` (empty for a spans project).
    values : list
        Per text, the predicted label as the task stores it (a name, a list of names,
        ``{"spans": [...]}`` or ``{"intent": ..., "spans": [...]}``).
    proba : ndarray of shape (n_texts, n_classes), or None for a spans project
    spans : list of lists of ScoredSpan, or None for classification
    """

    version: int
    production: bool
    task: str
    classes: list[str]
    values: list[Any]
    proba: ProbaArray | None
    spans: list[list[ScoredSpan]] | None


class ModelCache:
    """The last ``size`` models used, by folder; safe to share between request threads.

    MiniLM models share one embedder, so the sentence model is loaded once per process.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._models: OrderedDict[str, TextModel] = OrderedDict()
        self._lock = threading.Lock()
        self._embedder = SentenceEmbedder()  # loads nothing until a MiniLM model embeds

    def get(self, path: str) -> TextModel:
        """The model saved in ``path``, loaded on first use (ModelFileError if it cannot be)."""
        with self._lock:
            model = self._models.get(path)
            if model is not None:
                self._models.move_to_end(path)
                return model
        # Loaded outside the lock: another request's cached model need not wait for it.
        model = load_model(path, embedder=self._embedder)
        with self._lock:
            self._models[path] = model
            self._models.move_to_end(path)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return model

    def __contains__(self, path: str) -> bool:
        with self._lock:
            return path in self._models

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


#: The process's cache (the server's request threads share it).
MODELS = ModelCache()


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list; ValidationError naming the first that cannot be predicted."""
    if isinstance(texts, str):
        raise ValidationError("texts must be a list of strings, not one string.")
    out = list(texts)
    if not out:
        raise ValidationError("texts is empty: give at least one text.")
    if len(out) > MAX_TEXTS:
        raise ValidationError(f"At most {MAX_TEXTS:,} texts per request; got {len(out):,}.")
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise ValidationError(f"texts[{i}] must be a string; got {type(text).__name__}.")
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationError(
                f"texts[{i}] has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}."
            )
    return out


def predict(
    session: Session,
    *,
    project_id: int,
    texts: Sequence[str],
    version: int | None = None,
    cache: ModelCache | None = None,
) -> Predictions:
    """Labels and probabilities for ``texts`` from the production version (or ``version``).

    Raises
    ------
    ValidationError
        No texts, more than :data:`MAX_TEXTS`, or one that is not a string or too long.
    NotFoundError
        No such project or version.
    ConflictError
        No version named and none in production; or the version's model cannot serve
        (published before models were saved whole, damaged, or MiniLM missing here).
    """
    texts = check_texts(texts)
    # The version is read and the transaction ended: the model runs holding no
    # database connection.
    chosen, path = model_versions.serving_version(session, project_id=project_id, version=version)
    try:
        model = (cache or MODELS).get(path)
        proba = None if model.classifier is None else model.predict_proba(texts)
        spans = None if model.tagger is None else model.predict_spans(texts)
    except (ModelFileError, MissingDependencyError) as exc:
        raise model_versions.unreadable(chosen.version, exc) from None
    return Predictions(
        version=chosen.version,
        production=chosen.production,
        task=model.task.kind,
        classes=list(model.classes),
        values=model.decide(proba, spans),
        proba=proba,
        spans=spans,
    )
