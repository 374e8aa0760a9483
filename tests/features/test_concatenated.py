"""ConcatenatedFeaturizer: unit blocks, weighted, side by side; join reuses kept rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.exceptions import NotFittedError
from labelwise.features import ConcatenatedFeaturizer, TfidfFeaturizer

TEXTS = ["book a flight", "cancel my flight", "what's the weather", "play some jazz"]


class Dense:
    """A pretrained stand-in: fixed rows of very different scale, no fit."""

    def transform(self, texts: list[str]) -> np.ndarray:
        return np.asarray([[100.0 * len(t), 3.0, 0.0] for t in texts], dtype=np.float32)


def test_each_block_is_unit_length_then_weighted() -> None:
    featurizer = ConcatenatedFeaturizer([(Dense(), 2.0), (TfidfFeaturizer(), 0.5)]).fit(TEXTS)
    X = featurizer.transform(TEXTS)
    assert sp.issparse(X) and X.dtype == np.float64
    tfidf = TfidfFeaturizer().fit(TEXTS).transform(TEXTS)
    assert X.shape == (len(TEXTS), 3 + tfidf.shape[1])
    dense = X[:, :3].toarray()
    np.testing.assert_allclose(np.linalg.norm(dense, axis=1), 2.0)
    np.testing.assert_allclose(np.linalg.norm(X[:, 3:].toarray(), axis=1), 0.5)
    np.testing.assert_allclose(X[:, 3:].toarray(), 0.5 * tfidf.toarray())


def test_join_gives_transform_from_rows_kept_elsewhere() -> None:
    dense = Dense()
    featurizer = ConcatenatedFeaturizer([(dense, 1.0), (TfidfFeaturizer(), 1.0)]).fit(TEXTS)
    tfidf = featurizer.parts[1][0]
    joined = featurizer.join([dense.transform(TEXTS), tfidf.transform(TEXTS)])
    assert (joined != featurizer.transform(TEXTS)).nnz == 0
    with pytest.raises(ValueError, match="2 parts but 1 blocks"):
        featurizer.join([dense.transform(TEXTS)])
    with pytest.raises(ValueError, match="differ in rows"):
        featurizer.join([dense.transform(TEXTS[:2]), tfidf.transform(TEXTS)])


def test_a_text_empty_in_one_block_keeps_the_other() -> None:
    featurizer = ConcatenatedFeaturizer([(Dense(), 1.0), (TfidfFeaturizer(), 1.0)]).fit(TEXTS)
    row = featurizer.transform(["§§§"]).toarray()[0]
    assert np.linalg.norm(row[:3]) == pytest.approx(1.0)
    assert not row[3:].any()


def test_width_is_known_only_when_every_part_knows_its_own() -> None:
    both = ConcatenatedFeaturizer([(TfidfFeaturizer(), 1.0), (TfidfFeaturizer(), 1.0)]).fit(TEXTS)
    assert both.n_features_ == both.transform(TEXTS).shape[1]
    with pytest.raises(AttributeError, match="width only once"):
        _ = ConcatenatedFeaturizer([(Dense(), 1.0)]).n_features_


def test_an_unfitted_part_says_so() -> None:
    with pytest.raises(NotFittedError):
        ConcatenatedFeaturizer([(TfidfFeaturizer(), 1.0)]).transform(TEXTS)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "at least one"),
        ([TfidfFeaturizer()], "must be a \\(featurizer, weight\\) pair"),
        ([(object(), 1.0)], "has no transform"),
        ([(TfidfFeaturizer(), 0.0)], "positive finite number"),
        ([(TfidfFeaturizer(), float("nan"))], "positive finite number"),
        ([(TfidfFeaturizer(), True)], "positive finite number"),
    ],
)
def test_bad_parts_are_named(parts: list[Any], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        ConcatenatedFeaturizer(parts).fit(TEXTS)
