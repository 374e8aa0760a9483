"""TfidfFeaturizer: word + character n-gram TF-IDF, rows unit-norm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.exceptions import LabelwiseError, NotFittedError
from labelwise.features.base import Featurizer
from labelwise.features.tfidf import TfidfFeaturizer

TEXTS = [
    "book a flight to paris",
    "book a flight to london",
    "what is my bank balance",
    "how much money is in my account",
    "tell me a joke",
]


def row_norms(matrix: sp.csr_matrix) -> np.ndarray:
    norms: np.ndarray = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return norms


def test_fit_transform_shape_and_type() -> None:
    featurizer = TfidfFeaturizer()
    X = featurizer.fit_transform(TEXTS)
    assert isinstance(featurizer, Featurizer)
    assert sp.issparse(X) and X.format == "csr"
    assert X.dtype == np.float64
    n_word = len(featurizer.vectorizers_[0].vocabulary_)
    n_char = len(featurizer.vectorizers_[1].vocabulary_)
    assert n_word > 0 and n_char > 0
    assert X.shape == (5, n_word + n_char)
    assert featurizer.transform(["a new text"]).shape == (1, n_word + n_char)


def test_max_features_caps_each_block() -> None:
    X = TfidfFeaturizer(max_features=10).fit_transform(TEXTS)
    assert X.shape == (5, 20)


def test_rows_are_unit_norm() -> None:
    featurizer = TfidfFeaturizer()
    X = featurizer.fit_transform(TEXTS)
    np.testing.assert_allclose(row_norms(X), 1.0, rtol=1e-12)
    Y = featurizer.transform(["book a flight to rome", "joke about my balance"])
    np.testing.assert_allclose(row_norms(Y), 1.0, rtol=1e-12)


def test_text_with_no_known_ngram_is_a_zero_row() -> None:
    featurizer = TfidfFeaturizer().fit(["aaa bbb"])
    Y = featurizer.transform(["zzz"])
    assert Y.nnz == 0


def test_row_with_unseen_words_but_known_characters_is_unit_norm() -> None:
    featurizer = TfidfFeaturizer().fit(["book a flight", "cancel my flight"])
    Y = featurizer.transform(["flights"])  # word block empty, char block not
    assert Y.nnz > 0
    np.testing.assert_allclose(row_norms(Y), 1.0, rtol=1e-9)


def test_transform_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        TfidfFeaturizer().transform(["hello"])
    assert issubclass(NotFittedError, LabelwiseError)


def test_similar_texts_are_more_similar_than_unrelated_ones() -> None:
    X = TfidfFeaturizer().fit_transform(TEXTS)
    sim = (X @ X.T).toarray()
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=1e-12)
    flights = sim[0, 1]
    assert flights > 0.5
    assert flights > sim[0, 2] + 0.3
    assert flights > sim[0, 4] + 0.3
    assert sim[2, 3] > sim[2, 4]


def test_typo_still_close_through_character_ngrams() -> None:
    featurizer = TfidfFeaturizer().fit(TEXTS)
    X = featurizer.transform(TEXTS)
    q = featurizer.transform(["bokk a fligth to paris"])
    sims = (X @ q.T).toarray().ravel()
    assert int(np.argmax(sims)) == 0


def test_lowercases() -> None:
    featurizer = TfidfFeaturizer().fit(TEXTS)
    a = featurizer.transform(["BOOK A FLIGHT"]).toarray()
    b = featurizer.transform(["book a flight"]).toarray()
    np.testing.assert_allclose(a, b)


def test_the_fitted_state_rebuilds_the_same_matrix_exactly() -> None:
    fitted = TfidfFeaturizer(max_features=50, min_df=1, sublinear_tf=False).fit(TEXTS)
    state = fitted.fitted_state()
    assert [len(terms) for terms, _ in state] == [len(v.vocabulary_) for v in fitted.vectorizers_]
    rebuilt = TfidfFeaturizer.from_fitted_state(
        state, max_features=50, min_df=1, sublinear_tf=False
    )
    assert rebuilt.n_features_ == fitted.n_features_
    new = ["book a trip to zürich", "", "unknown qqq words", "TELL ME A JOKE"]
    a, b = fitted.transform(new), rebuilt.transform(new)
    assert (a != b).nnz == 0 and a.shape == b.shape


def test_a_fitted_state_that_does_not_add_up_is_refused() -> None:
    (words, idf), chars = TfidfFeaturizer().fit(TEXTS).fitted_state()
    with pytest.raises(ValueError, match="Block 0 has"):
        TfidfFeaturizer.from_fitted_state([(words, idf[:-1]), chars])
    with pytest.raises(ValueError, match="Expected 2 blocks"):
        TfidfFeaturizer.from_fitted_state([chars])
    with pytest.raises(NotFittedError):
        TfidfFeaturizer().fitted_state()
