"""ProbabilisticClassifier: probabilities over the full, fixed label schema."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from labelwise.exceptions import NotFittedError
from labelwise.learners.probabilistic import ProbabilisticClassifier, default_estimator
from tests.clustered import clustered_rows

CENTERS = np.array([[0.0, 5.0], [5.0, 0.0], [-5.0, -5.0]])


def blobs(n_per_class: int = 20, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three well separated clusters labeled a, b, c."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + rng.normal(scale=0.5, size=(n_per_class, 2)) for c in CENTERS])
    y = [name for name in "abc" for _ in range(n_per_class)]
    return X, y


def test_default_estimator() -> None:
    est = default_estimator()
    assert isinstance(est, LogisticRegression)
    assert (est.C, est.max_iter) == (10.0, 1000)


def test_predict_proba_covers_all_schema_columns() -> None:
    X, y = blobs()
    clf = ProbabilisticClassifier(classes=["d", "a", "b", "e", "c"]).fit(X, y)
    assert clf.classes_.tolist() == ["d", "a", "b", "e", "c"]
    proba = clf.predict_proba(CENTERS)
    assert proba.shape == (3, 5)
    assert proba.dtype == np.float64
    np.testing.assert_array_equal(proba[:, [0, 3]], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.argmax(proba, axis=1).tolist() == [1, 2, 4]
    assert proba[0, 1] > 0.95
    assert clf.predict(CENTERS).tolist() == ["a", "b", "c"]


def test_single_class_training_gives_probability_one() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 3))
    clf = ProbabilisticClassifier(classes=["x", "y", "z"]).fit(X, ["y"] * 4)
    proba = clf.predict_proba(rng.normal(size=(2, 3)))
    np.testing.assert_array_equal(proba, [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    assert clf.predict(X[:1]).tolist() == ["y"]
    assert clf.estimators_ == [None]


def test_unknown_label_in_y_raises_naming_it() -> None:
    X, _ = blobs(n_per_class=2)
    clf = ProbabilisticClassifier(classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="'zebra'"):
        clf.fit(X, ["a", "b", "zebra", "c", "a", "b"])


def test_empty_classes_and_empty_data_are_refused() -> None:
    X, y = blobs(n_per_class=2)
    with pytest.raises(ValueError, match="full label list"):
        ProbabilisticClassifier().fit(X, y)
    with pytest.raises(ValueError, match="zero labeled samples"):
        ProbabilisticClassifier(classes=["a"]).fit(np.zeros((0, 2)), [])


def test_x_and_y_length_mismatch() -> None:
    X, y = blobs(n_per_class=2)
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        ProbabilisticClassifier(classes=["a", "b", "c"]).fit(X, y[:5])


def test_not_fitted_error_before_fit() -> None:
    clf = ProbabilisticClassifier(classes=["a", "b"])
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict_proba(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((1, 2)))
    assert issubclass(NotFittedError, AttributeError)


def multilabel_data(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 fires when x0 > 0, class 1 when x1 > 0, class 2 never, class 3 always."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(80, 2))
    X = X + np.sign(X) * 0.5  # keep points away from the boundaries
    Y = np.zeros((80, 4), dtype=np.int8)
    Y[:, 0] = X[:, 0] > 0
    Y[:, 1] = X[:, 1] > 0
    Y[:, 3] = 1
    return X, Y


QUERIES = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
EXPECTED = [[1, 1, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 0, 1]]


def test_multilabel_with_indicator_matrix() -> None:
    X, Y = multilabel_data()
    clf = ProbabilisticClassifier(classes=["p", "q", "never", "always"], multilabel=True)
    clf.fit(X, Y.astype(bool))
    proba = clf.predict_proba(QUERIES)
    assert proba.shape == (4, 4)
    np.testing.assert_array_equal(proba[:, 2], 0.0)
    np.testing.assert_array_equal(proba[:, 3], 1.0)
    assert clf.estimators_[2] is None and clf.estimators_[3] is None
    assert proba[0, 0] > 0.9 and proba[3, 0] < 0.1
    pred = clf.predict(QUERIES)
    assert pred.dtype == np.int8
    assert pred.tolist() == EXPECTED


def test_multilabel_with_label_lists() -> None:
    X, Y = multilabel_data()
    names = ["p", "q", "never", "always"]
    lists = [[names[j] for j in np.flatnonzero(row)] for row in Y]
    clf = ProbabilisticClassifier(classes=names, multilabel=True).fit(X, lists)
    reference = ProbabilisticClassifier(classes=names, multilabel=True).fit(X, Y)
    np.testing.assert_allclose(clf.predict_proba(QUERIES), reference.predict_proba(QUERIES))
    assert clf.predict(QUERIES).tolist() == EXPECTED


def test_multilabel_unknown_label_raises() -> None:
    X = np.zeros((2, 2))
    clf = ProbabilisticClassifier(classes=["a", "b"], multilabel=True)
    with pytest.raises(ValueError, match="'c'"):
        clf.fit(X, [["a"], ["b", "c"]])


def test_sample_weight_changes_probabilities() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = ["a", "a", "b", "b"]
    query = np.array([[1.5]])
    est = LogisticRegression(C=1.0)
    plain = ProbabilisticClassifier(est, classes=["a", "b"]).fit(X, y)
    weights = np.array([1.0, 50.0, 1.0, 1.0])
    weighted = ProbabilisticClassifier(est, classes=["a", "b"]).fit(X, y, sample_weight=weights)
    p_plain = plain.predict_proba(query)[0, 0]
    p_weighted = weighted.predict_proba(query)[0, 0]
    assert p_plain == pytest.approx(0.5, abs=1e-3)
    assert p_weighted > p_plain + 0.1


class RecordingEstimator(LogisticRegression):  # type: ignore[misc]
    seen_weights: list[Any] = []

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RecordingEstimator:
        RecordingEstimator.seen_weights.append(sample_weight)
        super().fit(X, y, sample_weight=sample_weight)
        return self


def test_sample_weight_is_passed_to_every_multilabel_estimator() -> None:
    RecordingEstimator.seen_weights = []
    X, Y = multilabel_data()
    weights = np.linspace(1.0, 2.0, len(X))
    ProbabilisticClassifier(RecordingEstimator(), classes=list("pqnA"), multilabel=True).fit(
        X, Y, sample_weight=weights
    )
    assert len(RecordingEstimator.seen_weights) == 2  # the two non-constant columns
    for seen in RecordingEstimator.seen_weights:
        np.testing.assert_array_equal(seen, weights)


def test_estimator_is_cloned_not_fitted_in_place() -> None:
    X, y = blobs()
    est = LogisticRegression()
    clf = ProbabilisticClassifier(est, classes=["a", "b", "c"]).fit(X, y)
    assert not hasattr(est, "coef_")
    assert clf.estimators_[0] is not est
    assert clf.columns_.tolist() == [0, 1, 2]


def test_clone_round_trips_params() -> None:
    X, y = blobs()
    clf = ProbabilisticClassifier(LogisticRegression(C=0.5), classes=["a", "b", "c", "d"])
    clf.fit(X, y)
    copy = clone(clf)
    assert not hasattr(copy, "estimators_")
    params = copy.get_params()
    assert params["classes"] == ["a", "b", "c", "d"]
    assert params["multilabel"] is False
    assert params["estimator__C"] == 0.5
    copy.fit(X, y)
    np.testing.assert_allclose(copy.predict_proba(CENTERS), clf.predict_proba(CENTERS))
    copy.set_params(multilabel=True, estimator__C=2.0)
    assert copy.get_params()["multilabel"] is True
    assert copy.estimator.C == 2.0


def test_score_uses_schema_names() -> None:
    X, y = blobs()
    clf = ProbabilisticClassifier(classes=["a", "b", "c"]).fit(X, y)
    assert clf.score(X, np.asarray(y, dtype=object)) == 1.0


def test_multilabel_accepts_an_indicator_given_as_plain_lists() -> None:
    X = np.array([[0.0], [1.0], [2.0]])
    clf = ProbabilisticClassifier(classes=["a", "b", "c"], multilabel=True)
    clf.fit(X, [[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    assert clf.predict_proba(X).shape == (3, 3)


def test_float32_features_take_the_verified_softmax_path() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 8))
    y = np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, size=200)]
    clf = ProbabilisticClassifier(
        LogisticRegression(max_iter=500), classes=["a", "b", "c", "d", "e"]
    ).fit(X, y)
    assert clf.softmax_weights_ is not None
    fast = clf.predict_proba(X.astype(np.float32))
    np.testing.assert_allclose(fast, clf.predict_proba(X), atol=1e-5)
    assert fast.dtype == np.float64 and (fast[:, 4] == 0).all()


def test_a_model_that_is_not_a_softmax_never_takes_the_fast_path() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    y = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, size=200)]
    ovr = ProbabilisticClassifier(
        OneVsRestClassifier(LogisticRegression()), classes=["a", "b", "c"]
    ).fit(X, y)
    assert ovr.softmax_weights_ is None
    np.testing.assert_allclose(ovr.predict_proba(X.astype(np.float32)).sum(axis=1), 1.0)


# -- the two largest probabilities ----------------------------------------------------------


def _embedded(n_classes: int = 12, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, 16))
    y = np.arange(n) % n_classes
    x = (centres[y] + rng.normal(size=(n, 16))).astype(np.float32)
    return x, y


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_top_two_are_the_two_largest_probabilities(dtype):
    x, y = _embedded()
    clf = ProbabilisticClassifier(classes=list(range(14))).fit(x[:200], y[:200])
    rows = x[200:].astype(dtype)
    proba = clf.predict_proba(rows)
    ordered = np.sort(proba, axis=1)[:, ::-1]
    top = clf.predict_top_two(rows)
    assert top.shape == (200, 2) and top.dtype == np.float64
    # The fused float32 pass agrees with the softmax to float32 rounding.
    np.testing.assert_allclose(top, ordered[:, :2], rtol=0, atol=2e-6)
    assert (top[:, 0] >= top[:, 1]).all()


@pytest.mark.parametrize(("scale", "shift"), [(1.0, 0.0), (60.0, 0.0), (1.0, 500.0), (1.0, -500.0)])
def test_the_top_two_hold_for_logits_beyond_float32_exp(scale, shift):
    # Logits past exp's float32 range (about +-88) are shifted by each row's largest, as
    # a softmax is: a constant added to every logit changes no probability.
    x, y = _embedded()
    clf = ProbabilisticClassifier(classes=list(range(12))).fit(x[:200], y[:200])
    assert clf.softmax_weights_ is not None
    coef, intercept = clf.softmax_weights_
    clf.softmax_weights_ = (coef * scale, intercept * scale + shift)
    rows = x[200:]
    z = rows.astype(np.float64) @ (coef * scale).T.astype(np.float64) + intercept * scale
    proba = np.exp(z - z.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    expected = np.sort(proba, axis=1)[:, ::-1][:, :2]
    top = clf.predict_top_two(rows)
    assert np.isfinite(top).all()
    np.testing.assert_allclose(top, expected, rtol=0, atol=1e-5)


def test_the_top_two_of_models_without_a_softmax_come_from_their_probabilities():
    x, y = _embedded(n_classes=2)
    single = ProbabilisticClassifier(classes=[0, 1, 2]).fit(x[:50], np.zeros(50, dtype=int))
    np.testing.assert_array_equal(single.predict_top_two(x[:3]), [[1.0, 0.0]] * 3)
    binary = ProbabilisticClassifier(classes=[0, 1, 2]).fit(x[:100], y[:100])
    proba = binary.predict_proba(x[100:110])
    expected = np.sort(proba, axis=1)[:, ::-1][:, :2]
    np.testing.assert_array_equal(binary.predict_top_two(x[100:110]), expected)


def test_the_top_two_are_single_label_only():
    clf = ProbabilisticClassifier(classes=["a", "b"], multilabel=True)
    clf.fit(np.eye(4), [["a"], ["b"], ["a", "b"], []])
    with pytest.raises(ValueError, match="single-label"):
        clf.predict_top_two(np.eye(4))


# -- each row's result is its own, whatever else is computed with it ------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_a_row_s_probabilities_do_not_depend_on_the_rows_computed_with_it(dtype):
    """Bit for bit: rankings must not change with the chunk size or the partitioning.
    BLAS computes small products (and single rows) another way than large ones, and a
    matrix-vector row sum rounds by the number of rows, so each fails without fixed-size
    blocks and per-row sums; a block with one row past exp's range once shifted all."""
    x, y = clustered_rows(3000, 384, 10, seed=4)
    rng = np.random.default_rng([4, 1])
    clf = ProbabilisticClassifier(classes=list(range(10))).fit(x[:500], y[:500])
    rows = rng.normal(size=(9000, 384)).astype(dtype)
    rows[::97] *= 60  # logits past float32 exp's range, shifted
    whole_top, whole_proba = clf.predict_top_two(rows), clf.predict_proba(rows)
    for part in [slice(1, 4200), slice(4095, 9000), slice(17, 18), slice(8990, 9000)]:
        np.testing.assert_array_equal(clf.predict_top_two(rows[part]), whole_top[part])
        np.testing.assert_array_equal(clf.predict_proba(rows[part]), whole_proba[part])
    order = rng.permutation(9000)
    np.testing.assert_array_equal(clf.predict_top_two(rows[order]), whole_top[order])
    unaligned = np.frombuffer(bytearray(rows.nbytes + 2)[2:], dtype=dtype).reshape(rows.shape)
    unaligned[...] = rows
    np.testing.assert_array_equal(clf.predict_top_two(unaligned), whole_top)


# -- joined blocks: a dense sentence block beside sparse n-grams ----------------------------


def _joined_data(n: int = 6000, seed: int = 5):
    import scipy.sparse as sp

    from labelwise.data.joined import JoinedRows, join_blocks

    dense, y = clustered_rows(n, 48, 12, seed=seed)
    rng = np.random.default_rng([seed, 1])
    words = (rng.integers(0, 40, size=(n, 4)) + 25 * y[:, None]) % 300
    sparse = sp.csr_matrix(
        (np.ones(4 * n, dtype=np.float32), words.ravel(), np.arange(0, 4 * n + 1, 4)),
        shape=(n, 300),
    )
    sparse.sum_duplicates()
    weights = (0.8, 1.0)
    return JoinedRows([dense, sparse], weights), join_blocks([dense, sparse], weights), y


def test_joined_rows_are_scored_as_their_joined_matrix():
    joined, csr, y = _joined_data()
    clf = ProbabilisticClassifier(classes=list(range(14))).fit(csr[:600], y[:600])
    assert clf.softmax_weights_ is not None  # verified on sparse rows too
    np.testing.assert_allclose(clf.predict_proba(joined), clf.predict_proba(csr), atol=1e-6)
    np.testing.assert_allclose(clf.predict_top_two(joined), clf.predict_top_two(csr), atol=1e-6)
    assert (clf.predict(joined) == clf.predict(csr)).mean() > 0.999
    # Fitting on joined rows is fitting on the matrix they join into.
    refit = ProbabilisticClassifier(classes=list(range(14))).fit(
        type(joined)([b[:600] for b in joined.blocks], joined.weights), y[:600]
    )
    np.testing.assert_array_equal(refit.predict_proba(csr[:50]), clf.predict_proba(csr[:50]))


def test_a_joined_row_s_probabilities_do_not_depend_on_the_rows_computed_with_it():
    from labelwise.data.joined import JoinedRows

    joined, csr, y = _joined_data()
    clf = ProbabilisticClassifier(classes=list(range(12))).fit(csr[:600], y[:600])
    whole_top, whole_proba = clf.predict_top_two(joined), clf.predict_proba(joined)
    for part in [slice(1, 4100), slice(4095, 6000), slice(17, 18)]:
        rows = JoinedRows([b[part] for b in joined.blocks], joined.weights)
        np.testing.assert_array_equal(clf.predict_top_two(rows), whole_top[part])
        np.testing.assert_array_equal(clf.predict_proba(rows), whole_proba[part])


def test_models_without_a_softmax_read_joined_rows_joined():
    joined, csr, y = _joined_data(n=400)
    ovr = ProbabilisticClassifier(
        OneVsRestClassifier(LogisticRegression()), classes=list(range(12))
    ).fit(csr[:200], y[:200])
    assert ovr.softmax_weights_ is None
    np.testing.assert_array_equal(ovr.predict_proba(joined), ovr.predict_proba(csr))
    np.testing.assert_array_equal(ovr.predict_top_two(joined), ovr.predict_top_two(csr))
    indicator = np.eye(12, dtype=int)[y]
    multi = ProbabilisticClassifier(classes=list(range(12)), multilabel=True)
    multi.fit(joined, indicator)
    np.testing.assert_array_equal(multi.predict_proba(joined), multi.predict_proba(csr))


def test_a_pickled_model_leaves_its_weight_blocks_behind():
    import pickle

    joined, csr, y = _joined_data(n=800)
    clf = ProbabilisticClassifier(classes=list(range(12))).fit(csr[:300], y[:300])
    expected = clf.predict_proba(joined)
    assert clf.__dict__["_weight_blocks"]  # kept between calls
    copy = pickle.loads(pickle.dumps(clf))
    assert "_weight_blocks" not in copy.__dict__
    np.testing.assert_array_equal(copy.predict_proba(joined), expected)
    # A refit (new weights) never reads the blocks kept from the old ones.
    clf.fit(csr[300:600], y[300:600])
    fresh = ProbabilisticClassifier(classes=list(range(12))).fit(csr[300:600], y[300:600])
    np.testing.assert_array_equal(clf.predict_proba(joined), fresh.predict_proba(joined))
