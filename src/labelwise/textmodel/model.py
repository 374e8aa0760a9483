"""TextModel: a trained labelwise model that labels raw texts, saved as a self-contained folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise import __version__
from labelwise._typing import ProbaArray
from labelwise.data.spans import Span, tokenize
from labelwise.features import SentenceEmbedder
from labelwise.learners.crf import CRFTagger
from labelwise.recipes.spans import ScoredSpan, predict_char_spans
from labelwise.tasks import IntentsAndEntities, Task, task_for
from labelwise.textmodel._featurizers import featurizer_from, featurizer_parts
from labelwise.textmodel._files import FORMAT, TAGGER, FolderReader, write_folder
from labelwise.textmodel._linear import classifier_from, classifier_parts, n_features_of


class TextModel:
    """A trained model that predicts from raw texts: featurizer, classifier and/or CRF tagger.

    What a retrain publishes and ``labelwise export-model`` writes. :meth:`save` writes a
    folder of ``model.json`` (the task, the featurizer, the learner's shape), ``model.npz``
    (TF-IDF vocabularies and idf weights, coefficients) and, for span tasks,
    ``tagger.npz`` (the CRF); nothing is pickled, and :meth:`load` reads the arrays with
    ``allow_pickle=False``. A loaded model gives the probabilities of the learner it was
    saved from, bit for bit.

    Parameters
    ----------
    task : Task
        What a label is (its kind and label list).
    featurizer : TfidfFeaturizer or SentenceEmbedder, optional
        Fitted; turns texts into the classifier's features. Required with ``classifier``.
    classifier : ProbabilisticClassifier or Committee, optional
        Fitted over LogisticRegression; its classes are ``task.labels``. Required unless
        the task is ``spans`` (intents+entities: the intent classifier).
    tagger : CRFTagger or BaggedCRF, optional
        Fitted; required for span tasks (a committee saves its full-data tagger).

    Examples
    --------
    >>> from labelwise.features import TfidfFeaturizer
    >>> from labelwise.learners import ProbabilisticClassifier
    >>> from labelwise.tasks import SingleLabel
    >>> texts = ["hello there", "hi friend", "goodbye now", "see you later"]
    >>> featurizer = TfidfFeaturizer().fit(texts)
    >>> clf = ProbabilisticClassifier(classes=["greet", "bye"])
    >>> clf = clf.fit(featurizer.transform(texts), ["greet", "greet", "bye", "bye"])
    >>> model = TextModel(SingleLabel(["greet", "bye"]), featurizer=featurizer, classifier=clf)
    >>> model.predict(["hello friend"])
    ['greet']
    >>> model.predict_proba(["hello friend"]).shape
    (1, 2)
    """

    def __init__(
        self,
        task: Task,
        *,
        featurizer: Any = None,
        classifier: Any = None,
        tagger: Any = None,
    ) -> None:
        # A value object of fitted parts (not an estimator): its invariants are checked here.
        if task.labels is None:
            raise ValueError(f"{task!r} has no label list; a model needs the task's labels.")
        intents = isinstance(task, IntentsAndEntities)
        if (classifier is None) == (not task.has_spans or intents):
            raise ValueError(
                f"A {task.kind} model "
                + ("needs a classifier." if classifier is None else "has no classifier.")
            )
        if classifier is not None and featurizer is None:
            raise ValueError("A classifier needs the featurizer that made its features.")
        if task.has_spans != (tagger is not None):
            raise ValueError(
                f"A {task.kind} model "
                + ("needs a tagger." if task.has_spans else "has no tagger.")
            )
        if classifier is not None:
            if [str(c) for c in classifier.classes_] != list(task.labels):
                raise ValueError(
                    f"The classifier's classes {list(classifier.classes_)[:10]} are not the "
                    f"task's labels {list(task.labels)[:10]}."
                )
            if bool(classifier.multilabel) != task.per_class_proba:
                raise ValueError(
                    f"A {task.kind} model needs a multilabel={task.per_class_proba} learner."
                )
        self.task = task
        self.featurizer = featurizer
        self.classifier = classifier
        # A bagged committee answers single-model calls with its full-data tagger.
        self.tagger = getattr(tagger, "full_", tagger)

    @property
    def classes(self) -> tuple[str, ...]:
        """The columns of :meth:`predict_proba` (``()`` for a spans model)."""
        return () if self.classifier is None else tuple(self.task.labels or ())

    # -- predictions ----------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> ProbaArray:
        """Class probabilities, shape (n_texts, n_classes), columns in :attr:`classes` order.

        Single-label rows sum to 1; multi-label columns are independent per-label
        probabilities; intents+entities gives the intents'.
        """
        texts = _texts(texts)
        if self.classifier is None:
            raise ValueError(
                "A spans model has no classes to give probabilities for; use predict_spans."
            )
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float64)
        proba: ProbaArray = self.classifier.predict_proba(self.featurizer.transform(texts))
        return proba

    def predict_spans(self, texts: Sequence[str]) -> list[list[ScoredSpan]]:
        """Per text, the tagger's entities as character spans with a confidence each."""
        texts = _texts(texts)
        if self.tagger is None:
            raise ValueError(f"A {self.task.kind} model tags no spans; use predict_proba.")
        return predict_char_spans(self.tagger, [tokenize(text) for text in texts])

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """Per text, the predicted label as the task stores it.

        A name (single-label: the most probable class), a list of names (multi-label:
        every label with probability >= 0.5), ``{"spans": [...]}`` or
        ``{"intent": name, "spans": [...]}``.
        """
        texts = _texts(texts)
        return self.decide(
            None if self.classifier is None else self.predict_proba(texts),
            None if self.tagger is None else self.predict_spans(texts),
        )

    def decide(
        self, proba: ProbaArray | None, spans: Sequence[Sequence[ScoredSpan]] | None = None
    ) -> list[Any]:
        """:meth:`predict`'s values from :meth:`predict_proba`'s and :meth:`predict_spans`'s
        output (pass what the model gives, None for what it does not), without predicting
        again; the decision is the learner's ``predict``."""
        decided: Any = None
        if proba is not None:
            if self.task.per_class_proba:
                decided = (proba >= 0.5).astype(np.int8)
            else:
                decided = np.asarray(self.classes, dtype=object)[np.argmax(proba, axis=1)]
        if spans is None:
            return self.task.predicted_values(decided)
        found = [[Span(s.start, s.end, s.label) for s in sentence] for sentence in spans]
        if decided is None:
            return self.task.predicted_values(found)
        return self.task.predicted_values(list(zip(decided, found, strict=True)))

    # -- files ----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the model to the folder ``directory`` (created when missing).

        Raises
        ------
        FileExistsError
            The folder already holds a model and ``overwrite`` is false.
        TypeError
            A part that cannot be saved as plain data (not TF-IDF or the packaged MiniLM;
            not logistic regression; a CRF with embedding features).
        """
        task = self.task
        meta: dict[str, Any] = {
            "format": FORMAT,
            "created_by": f"labelwise {__version__}",
            "task": {
                "kind": task.kind,
                "labels": list(task.labels or ()),
                "entity_types": None if task.entity_types is None else list(task.entity_types),
            },
            "featurizer": None,
            "classifier": None,
            "tagger": None,
        }
        arrays: dict[str, Any] = {}
        if self.classifier is not None:
            n_features = _n_features(self.featurizer, self.classifier)
            meta["featurizer"], featurizer_arrays = featurizer_parts(self.featurizer, n_features)
            meta["classifier"], classifier_arrays = classifier_parts(self.classifier, n_features)
            arrays = featurizer_arrays | classifier_arrays
        if self.tagger is not None:
            if not isinstance(self.tagger, CRFTagger):
                raise TypeError(
                    f"A saved model's tagger is a CRFTagger; got {type(self.tagger).__name__}."
                )
            if self.tagger.embeddings is not None:
                raise TypeError(
                    "A CRF with embedding features cannot be saved whole (its embeddings function is code)."
                )
            meta["tagger"] = {"file": TAGGER, "classes": list(self.tagger.classes_)}
        write_folder(Path(directory), meta, arrays, tagger=self.tagger, overwrite=overwrite)

    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], *, embedder: SentenceEmbedder | None = None
    ) -> TextModel:
        """Read a folder written by :meth:`save`.

        Parameters
        ----------
        directory : path-like
        embedder : SentenceEmbedder, optional
            Used by a MiniLM model instead of a new one (to share one loaded model or a
            cache); it must embed with the package version the model was trained with.

        Raises
        ------
        ModelFileError
            A missing, damaged or foreign file, naming the file and the field at fault.
        """
        reader = FolderReader(directory)
        kind = reader.field("task.kind", str)
        labels = reader.strings("task.labels")
        types = (
            None
            if reader.meta["task"].get("entity_types") is None
            else reader.strings("task.entity_types")
        )
        try:
            task = task_for(kind, labels, types)
        except ValueError as exc:
            raise reader.error(str(exc), field="task.kind") from None
        featurizer = classifier = tagger = None
        if reader.meta.get("classifier") is not None:
            with reader.opened():
                featurizer = featurizer_from(reader, embedder=embedder)
                classifier = classifier_from(reader, labels, _read_n_features(reader, featurizer))
        if reader.meta.get("tagger") is not None:
            tagger = _load_tagger(reader)
        try:
            return cls(task, featurizer=featurizer, classifier=classifier, tagger=tagger)
        except ValueError as exc:
            raise reader.error(f"does not describe a usable model: {exc}") from None

    def __repr__(self) -> str:
        parts = [repr(self.task)]
        if self.featurizer is not None:
            parts.append(type(self.featurizer).__name__)
        if self.classifier is not None:
            parts.append(type(self.classifier).__name__)
        if self.tagger is not None:
            parts.append(type(self.tagger).__name__)
        return f"TextModel({', '.join(parts)})"


def load_model(
    directory: str | os.PathLike[str], *, embedder: SentenceEmbedder | None = None
) -> TextModel:
    """Read a saved model folder (:meth:`TextModel.load`): ``load_model(d).predict_proba(texts)``."""
    return TextModel.load(directory, embedder=embedder)


def _read_n_features(reader: FolderReader, featurizer: Any) -> int:
    n: int = featurizer.n_features_
    if n < 1:
        raise reader.error("gives no features", field="featurizer")
    return n


def _n_features(featurizer: Any, classifier: Any) -> int:
    """How many features the featurizer gives, without embedding anything if it can."""
    n = (
        getattr(featurizer, "n_features_", None)
        if not isinstance(featurizer, SentenceEmbedder)
        else None
    )
    if n is None:
        n = n_features_of(classifier) or int(featurizer.transform(["width"]).shape[1])
    return int(n)


def _load_tagger(reader: FolderReader) -> CRFTagger:
    name = reader.field("tagger.file", str)
    if name != TAGGER:
        raise reader.error(f"must be {TAGGER!r}", field="tagger.file")
    path = reader.directory / TAGGER
    if not path.is_file():
        raise reader.error("missing", file=TAGGER)
    try:
        tagger = CRFTagger.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise reader.error(f"not a labelwise CRF model ({exc})", file=TAGGER) from None
    if list(tagger.classes_) != reader.strings("tagger.classes"):
        raise reader.error(f"does not match {TAGGER}'s entity types", field="tagger.classes")
    return tagger


def _texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string; wrap it: [text].")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be a str; got {type(text).__name__}.")
    return out
