"""The classification recipe: what simulate and the retrain worker both build from."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.cli._simulate import resolve_cold_start
from labelwise.cli.simulate import simulate
from labelwise.data import Pool
from labelwise.features import ConcatenatedFeaturizer, TfidfFeaturizer
from labelwise.initialization import RepresentativeSeedSet, ZeroShotSeedSet
from labelwise.learners import MixedCommittee
from labelwise.recipes.classification import (
    DEFAULT_CLASS_BALANCED,
    DEFAULT_COLD_START,
    DEFAULT_FEATURES,
    DEFAULT_STRATEGY,
    classification_committee,
    classification_featurizer,
    classification_learner,
    classification_strategy,
    cold_start,
    features_of,
    pool_features,
)
from labelwise.strategies import ClassBalanced, MarginSampling, RandomSampling

TEXTS = ["book a flight to paris", "cancel my flight", "what's the weather", "play jazz"]
CLASSES = ["book_flight", "cancel", "weather", "play_music"]


class WordEmbedder:
    """Rows that count a few words: "flight", "weather", "play", "cancel" (no model)."""

    model_id = "words"
    words = ("flight", "weather", "play", "cancel")

    def __init__(self) -> None:
        self.seen: list[str] = []

    def transform(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        rows = [[float(w in t.lower().replace("_", " ")) for w in self.words] for t in texts]
        return np.asarray(rows, dtype=np.float32) + 0.01


def test_the_defaults_are_the_measured_best_configuration() -> None:
    assert (DEFAULT_FEATURES, DEFAULT_STRATEGY) == ("minilm+tfidf", "margin")
    assert not DEFAULT_CLASS_BALANCED and DEFAULT_COLD_START == "random"
    # labelwise simulate's options say the same without importing the recipe for --help.
    options = inspect.signature(simulate).parameters
    assert options["class_balanced"].default == DEFAULT_CLASS_BALANCED
    assert resolve_cold_start(options["cold_start"].default, DEFAULT_FEATURES) == (
        DEFAULT_COLD_START
    )


def test_each_feature_kind() -> None:
    assert isinstance(classification_featurizer("tfidf"), TfidfFeaturizer)
    embedder = WordEmbedder()
    assert classification_featurizer("minilm", embedder=embedder) is embedder
    both = classification_featurizer("minilm+tfidf", embedder=embedder)
    assert isinstance(both, ConcatenatedFeaturizer)
    assert both.parts[0][0] is embedder and isinstance(both.parts[1][0], TfidfFeaturizer)
    with pytest.raises(ValueError, match="Unknown features 'bert'; choose from tfidf, minilm"):
        classification_featurizer("bert")


def test_kept_embeddings_stand_in_for_the_sentence_part() -> None:
    embedder = WordEmbedder()
    featurizer = classification_featurizer("minilm+tfidf", embedder=embedder)
    X = pool_features(featurizer, TEXTS, embeddings=embedder.transform(TEXTS))
    assert embedder.seen == TEXTS  # embedded once, by the caller
    fresh = classification_featurizer("minilm+tfidf", embedder=WordEmbedder())
    assert (X != fresh.fit_transform(TEXTS)).nnz == 0
    new = ["a flight please"]
    rows = features_of(featurizer, new, embeddings=embedder.transform(new))
    assert (rows != featurizer.transform(new)).nnz == 0
    tfidf = classification_featurizer("tfidf")
    assert (pool_features(tfidf, TEXTS) != TfidfFeaturizer().fit_transform(TEXTS)).nnz == 0
    minilm = classification_featurizer("minilm", embedder=embedder)
    np.testing.assert_array_equal(pool_features(minilm, TEXTS), embedder.transform(TEXTS))


def test_learner_and_strategy() -> None:
    learner = classification_learner(CLASSES, c=3.0, multilabel=True)
    assert learner.estimator.C == 3.0 and learner.multilabel
    assert list(learner.classes) == CLASSES
    balanced = classification_strategy("margin", class_balanced=True)
    assert isinstance(balanced, ClassBalanced) and isinstance(balanced.base, MarginSampling)
    assert isinstance(classification_strategy("margin"), MarginSampling)
    # Random stays random: spreading a random batch over classes is another strategy.
    assert isinstance(classification_strategy("random", class_balanced=True), RandomSampling)
    with pytest.raises(ValueError, match="Unknown strategy 'magic'"):
        classification_strategy("magic")


def test_zero_shot_start_reads_the_sentence_block_of_concatenated_features() -> None:
    embedder = WordEmbedder()
    featurizer = classification_featurizer("minilm+tfidf", embedder=embedder)
    pool = Pool(pool_features(featurizer, TEXTS), TEXTS)
    assert sp.issparse(pool.features)
    start = cold_start(
        "zero-shot", features="minilm+tfidf", classes=CLASSES, embedder=embedder, width=4
    )
    assert isinstance(start, ZeroShotSeedSet)
    assert start.classifier.embedder is None  # label vectors only: workers carry no model
    picked = start.select(pool, 4, random_state=0)
    assert sorted(picked.indices.tolist()) == [0, 1, 2, 3]
    # Each class's most typical item: "book flight" names flight (item 0 or 1), weather
    # names item 2, play music item 3.
    proba = start.classifier.predict_proba(pool.features)
    assert proba.argmax(axis=1)[2:].tolist() == [2, 3]


def test_other_cold_starts_and_refusals() -> None:
    assert cold_start("random", features="tfidf", classes=CLASSES) is None
    assert isinstance(
        cold_start("representative", features="tfidf", classes=CLASSES), RepresentativeSeedSet
    )
    with pytest.raises(ValueError, match="needs sentence features"):
        cold_start("zero-shot", features="tfidf", classes=CLASSES)
    with pytest.raises(ValueError, match="needs the pool's embedder"):
        cold_start("zero-shot", features="minilm", classes=CLASSES)
    with pytest.raises(ValueError, match="Unknown cold start 'lucky'"):
        cold_start("lucky", features="minilm", classes=CLASSES)


def test_the_committee_reads_each_block_with_a_different_model() -> None:
    embedder = WordEmbedder()
    featurizer = classification_featurizer("minilm+tfidf", embedder=embedder)
    X = pool_features(featurizer, TEXTS)
    committee = classification_committee(CLASSES, features="minilm+tfidf", width=4, c=3.0)
    assert isinstance(committee, MixedCommittee)
    assert [columns for _, columns in committee.members] == [None, slice(4, None), slice(0, 4)]
    kinds = [type(learner.estimator).__name__ for learner, _ in committee.members]
    assert kinds == ["LogisticRegression", "ComplementNB", "NearestNeighborsClassifier"]
    assert committee.members[0][0].estimator.C == 3.0
    committee.fit(X, CLASSES)  # four labels: fewer than the 5 neighbours
    assert committee.member_proba(X).shape == (3, 4, 4)
    with pytest.raises(ValueError, match="reads both blocks of minilm\\+tfidf"):
        classification_committee(CLASSES, features="minilm", width=4)
