"""The text-classification recipe: features, learner, strategy and cold start, by name.

``labelwise simulate`` and the retrain worker build from here, so what a simulation
measures is what a server project trains and ranks with. The defaults are the best
configuration measured on CLINC150 and TREC-6 (``benchmarks/best_configuration.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB

from labelwise.features.concatenated import ConcatenatedFeaturizer
from labelwise.features.tfidf import TfidfFeaturizer
from labelwise.initialization import RepresentativeSeedSet, ZeroShotSeedSet
from labelwise.learners import (
    MixedCommittee,
    NearestNeighborsClassifier,
    ProbabilisticClassifier,
    ZeroShotClassifier,
)
from labelwise.strategies import STRATEGIES, ClassBalanced, QueryStrategy

__all__ = [
    "BLOCK_WEIGHTS",
    "COLD_STARTS",
    "DEFAULT_C",
    "DEFAULT_CLASS_BALANCED",
    "DEFAULT_COLD_START",
    "DEFAULT_FEATURES",
    "DEFAULT_STRATEGY",
    "FEATURES",
    "LEARNERS",
    "SENTENCE_FEATURES",
    "classification_featurizer",
    "classification_committee",
    "classification_learner",
    "classification_strategy",
    "cold_start",
    "features_of",
    "pool_features",
    "sentence_columns",
]

#: Feature kinds by name: TF-IDF word and character n-grams (no model), MiniLM sentence
#: embeddings, or both side by side (:class:`ConcatenatedFeaturizer`, MiniLM first).
FEATURES = ("tfidf", "minilm", "minilm+tfidf")
#: Feature kinds that carry sentence embeddings (a zero-shot start needs them).
SENTENCE_FEATURES = frozenset({"minilm", "minilm+tfidf"})
DEFAULT_FEATURES = "minilm+tfidf"
#: Plain margin sampling from a random seed set. With MiniLM alone, class-balanced margin
#: from a zero-shot seed set led on CLINC150 (1,400 labels to 99% of full-data accuracy
#: against 1,533); beside TF-IDF it no longer does (3 seeds each, labels to 99% of the
#: learner's own full-data accuracy): CLINC150 1,850 against margin's 1,550 (both 1,317 to
#: 0.8464), TREC-6 1,317 against 1,417, SNIPS 350 against 317. Margin is the one within
#: 8% of the best on every set (``benchmarks/results/best_configuration*_minilm_tfidf.md``);
#: the class-balanced wrapper and the zero-shot start stay options.
DEFAULT_STRATEGY = "margin"
DEFAULT_CLASS_BALANCED = False
#: Seed-set pickers by name; "random" is the runner's own draw.
COLD_STARTS = ("random", "representative", "zero-shot")
DEFAULT_COLD_START = "random"
#: Inverse regularisation of the logistic regression (tuned on CLINC150's validation
#: split by ``benchmarks/label_efficiency.py``).
DEFAULT_C = 10.0
#: Each block's weight in ``minilm+tfidf`` (MiniLM, TF-IDF), both blocks unit length
#: first: equal. On CLINC150's validation split a heavier MiniLM block won with random
#: labels (``benchmarks/feature_weights.py``: weight 1 0.841, 2 0.856), but in active
#: learning on the test split weight 2 lost: full-data 0.859 against 0.867, and margin at
#: 1,250 labels 0.836 against 0.847 (3 seeds each)
#: (``benchmarks/results/best_configuration_minilm_tfidf_weight2.md``).
SENTENCE_WEIGHT = 1.0
#: The (MiniLM, TF-IDF) block weights of ``minilm+tfidf``.
BLOCK_WEIGHTS = (SENTENCE_WEIGHT, 1.0)


def _check_features(kind: str) -> None:
    if kind not in FEATURES:
        raise ValueError(f"Unknown features {kind!r}; choose from {', '.join(FEATURES)}.")


def classification_featurizer(
    kind: str, *, embedder: Any = None, tfidf: TfidfFeaturizer | None = None
) -> Any:
    """A featurizer of ``kind`` (one of :data:`FEATURES`), unfitted unless ``tfidf`` is.

    Parameters
    ----------
    kind : str
    embedder : SentenceEmbedder, optional
        The sentence model of ``minilm`` and ``minilm+tfidf`` (one with a cache, say);
        default ``SentenceEmbedder()``, the packaged MiniLM. Unused for ``tfidf``.
    tfidf : TfidfFeaturizer, optional
        The TF-IDF part of ``tfidf`` and ``minilm+tfidf`` (a fitted, frozen one, say);
        default a new ``TfidfFeaturizer()``. Unused for ``minilm``.
    """
    _check_features(kind)
    tfidf = TfidfFeaturizer() if tfidf is None else tfidf
    if kind == "tfidf":
        return tfidf
    sentence = embedder
    if sentence is None:
        from labelwise.features.sentence import SentenceEmbedder

        sentence = SentenceEmbedder()
    if kind == "minilm":
        return sentence
    return ConcatenatedFeaturizer([(sentence, BLOCK_WEIGHTS[0]), (tfidf, BLOCK_WEIGHTS[1])])


def pool_features(featurizer: Any, texts: Sequence[str], *, embeddings: Any = None) -> Any:
    """Fit ``featurizer`` (from :func:`classification_featurizer`) on the pool and return
    the pool's rows, shape (len(texts), n_features).

    Parameters
    ----------
    featurizer : TfidfFeaturizer, SentenceEmbedder or ConcatenatedFeaturizer
    texts : sequence of str
        The whole pool: TF-IDF statistics are the pool's.
    embeddings : array of shape (len(texts), width), optional
        The sentence rows of ``texts``, kept by a caller that embeds each item once
        (the retrain worker); they stand in for the sentence part instead of embedding
        the pool again.
    """
    for part in _parts(featurizer):
        if isinstance(part, TfidfFeaturizer):
            part.fit(texts)
    return features_of(featurizer, texts, embeddings=embeddings)


def features_of(featurizer: Any, texts: Sequence[str], *, embeddings: Any = None) -> Any:
    """Rows of ``texts`` from a featurizer fitted by :func:`pool_features` (a test set's,
    say); ``embeddings`` as there."""
    if isinstance(featurizer, ConcatenatedFeaturizer):
        return featurizer.join(
            [
                part.transform(texts)
                if isinstance(part, TfidfFeaturizer) or embeddings is None
                else embeddings
                for part, _ in featurizer.parts
            ]
        )
    if isinstance(featurizer, TfidfFeaturizer) or embeddings is None:
        return featurizer.transform(texts)
    return embeddings


def _parts(featurizer: Any) -> list[Any]:
    if isinstance(featurizer, ConcatenatedFeaturizer):
        return [part for part, _ in featurizer.parts]
    return [featurizer]


def sentence_columns(kind: str, width: int) -> slice | None:
    """The feature columns holding the sentence embedding (``width`` wide) for ``kind``:
    all of them for ``minilm``, the first block of ``minilm+tfidf``; None for ``tfidf``."""
    _check_features(kind)
    if kind == "tfidf":
        return None
    return slice(0, width)


def classification_learner(
    classes: Sequence[Any], *, c: float = DEFAULT_C, multilabel: bool = False
) -> ProbabilisticClassifier:
    """The recipe's learner, unfitted: logistic regression over the schema's classes."""
    return ProbabilisticClassifier(
        LogisticRegression(C=c, max_iter=1000), classes=classes, multilabel=multilabel
    )


#: The chooser's model by name: the recipe's logistic regression, or a committee of
#: different learners over ``minilm+tfidf`` (:func:`classification_committee`).
LEARNERS = ("logistic", "mixed-committee")


def classification_committee(
    classes: Sequence[Any], *, features: str, width: int, c: float = DEFAULT_C
) -> MixedCommittee:
    """Three different models as one chooser: the recipe's logistic regression on every
    column, complement naive Bayes on the TF-IDF block and 5-NN (cosine) on the sentence
    block of ``minilm+tfidf`` rows whose first ``width`` columns are the sentence embedding.

    Labels chosen by one model suit that model (Lowell et al. 2019); a committee of models
    that see the text differently is the candidate chooser when another model will train
    on the labels (``benchmarks/successor_models.py`` measures whether it helps).
    """
    if features != "minilm+tfidf":
        raise ValueError(
            "A committee of different learners reads both blocks of minilm+tfidf features; "
            f"the pool has {features}."
        )
    return MixedCommittee(
        [
            (classification_learner(classes, c=c), None),
            (
                ProbabilisticClassifier(ComplementNB(alpha=0.3), classes=classes),
                slice(width, None),
            ),
            (
                ProbabilisticClassifier(NearestNeighborsClassifier(5), classes=classes),
                slice(0, width),
            ),
        ]
    )


def classification_strategy(
    name: str,
    *,
    class_balanced: bool = False,
    around: Callable[[QueryStrategy], QueryStrategy] | None = None,
) -> QueryStrategy:
    """Strategy ``name`` (:data:`labelwise.strategies.STRATEGIES`) with its defaults;
    ``class_balanced`` spreads its batches over predicted classes (not random's).
    ``around`` wraps the strategy itself, inside the class balance (for instance in
    :class:`labelwise.weak.CombinedAnswerSampling`, the rules answering beside the model)."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}.")
    strategy = STRATEGIES[name]()
    if around is not None:
        strategy = around(strategy)
    if class_balanced and name != "random":
        strategy = ClassBalanced(strategy)
    return strategy


def cold_start(
    kind: str,
    *,
    features: str,
    classes: Sequence[Any],
    embedder: Any = None,
    width: int | None = None,
    descriptions: dict[Any, str] | None = None,
) -> Any:
    """The seed-set picker ``kind`` (one of :data:`COLD_STARTS`); None for ``random``.

    Parameters
    ----------
    kind : str
    features : str
        The pool's feature kind: a zero-shot start compares label names with the sentence
        embedding inside the pool's features, so it needs one of :data:`SENTENCE_FEATURES`.
    classes : sequence
        The schema's classes, whose names (or ``descriptions``) are embedded.
    embedder : SentenceEmbedder
        The model that embedded the pool (zero-shot only).
    width : int
        Columns of that embedding (zero-shot only; 384 for MiniLM).
    """
    if kind == "random":
        return None
    if kind == "representative":
        return RepresentativeSeedSet()
    if kind != "zero-shot":
        raise ValueError(f"Unknown cold start {kind!r}; choose from {', '.join(COLD_STARTS)}.")
    _check_features(features)
    if features not in SENTENCE_FEATURES:
        raise ValueError(
            f"A zero-shot cold start needs sentence features ({' or '.join(sorted(SENTENCE_FEATURES))}); "
            f"the pool has {features}."
        )
    if embedder is None or width is None:
        raise ValueError("A zero-shot cold start needs the pool's embedder and its width.")
    labels = ZeroShotClassifier(embedder, classes=list(classes), descriptions=descriptions).fit()
    # The label vectors, not the embedder: simulation workers then never carry the model.
    classifier = ZeroShotClassifier(
        classes=list(classes),
        label_embeddings=labels.label_embeddings_,
        columns=sentence_columns(features, width),
    ).fit()
    return ZeroShotSeedSet(classifier)
