"""Self-training on the unlabeled pool."""

import numpy as np
import pytest

from labelwise.data import LabelSchema, Pool
from labelwise.learners import ProbabilisticClassifier, SelfTrainingClassifier
from labelwise.loop import ActiveLearningLoop
from labelwise.strategies import MarginSampling


def blobs(n_per=100, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-2, 1, (n_per, 2)), rng.normal(2, 1, (n_per, 2))])
    y = np.array(["a"] * n_per + ["b"] * n_per, dtype=object)
    return X, y


def test_confident_pool_items_become_pseudo_labels():
    X, y = blobs()
    labeled = np.array([0, 1, 100, 101])
    clf = SelfTrainingClassifier(
        ProbabilisticClassifier(classes=["a", "b"]), threshold=0.9, max_ratio=10
    )
    clf.fit(X[labeled], y[labeled], X_unlabeled=X)
    assert 0 < clf.n_pseudo_ <= 40
    assert clf.predict_proba(X).shape == (200, 2)
    assert (clf.predict(X) == y).mean() > 0.9


def test_cap_and_threshold():
    X, y = blobs()
    base = ProbabilisticClassifier(classes=["a", "b"])
    capped = SelfTrainingClassifier(base, threshold=0.5, max_ratio=1.0).fit(
        X[[0, 100]], y[[0, 100]], X_unlabeled=X
    )
    assert capped.n_pseudo_ == 2
    none = SelfTrainingClassifier(base, threshold=1.0).fit(
        X[[0, 100]], y[[0, 100]], X_unlabeled=X[:0]
    )
    assert none.n_pseudo_ == 0
    with pytest.raises(ValueError, match="'threshold' parameter of SelfTrainingClassifier"):
        SelfTrainingClassifier(base, threshold=0).fit(X[:2], y[:2])


def test_loop_passes_unlabeled_rows_but_never_stores_pseudo_labels():
    X, y = blobs()
    schema = LabelSchema(["a", "b"])
    loop = ActiveLearningLoop(
        SelfTrainingClassifier(
            ProbabilisticClassifier(classes=schema.classes), threshold=0.8, max_ratio=5
        ),
        MarginSampling(),
        schema=schema,
        batch_size=4,
        random_state=0,
    )
    state = loop.start(Pool(X), [0, 1, 100, 101], list(y[[0, 1, 100, 101]]))
    assert loop.learner_.n_pseudo_ > 0
    assert state.n_labeled == 4
    q = loop.query(Pool(X), state)
    assert len(q) == 4
