"""The label matrix: sparse votes, applied in chunks, and only what changed re-applied."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.weak import (
    KeywordFunction,
    LabelingFunctionError,
    LabelMatrix,
    LabelMatrixBuilder,
    PythonFunction,
    RegexFunction,
    SimilarityFunction,
    apply_functions,
)

CLASSES = ("balance", "transfer", "oos")
TEXTS = [
    "what is my balance",
    "transfer money to mom",
    "send money and show the balance",
    "tell me a joke",
]


def functions():
    return [
        KeywordFunction("kw_balance", "balance", ["balance"]),
        KeywordFunction("kw_transfer", "transfer", ["transfer", "send money"]),
        RegexFunction("re_joke", "oos", r"\bjoke\b"),
    ]


def test_votes_are_class_indices_and_abstentions_are_not_stored():
    matrix = apply_functions(functions(), TEXTS, CLASSES)
    assert matrix.names == ("kw_balance", "kw_transfer", "re_joke")
    np.testing.assert_array_equal(
        matrix.dense(), [[0, -1, -1], [-1, 1, -1], [0, 1, -1], [-1, -1, 2]]
    )
    assert matrix.votes.nnz == 5 and matrix.votes.dtype == np.int32
    np.testing.assert_array_equal(matrix.dense(np.array([3, 0])), [[-1, -1, 2], [0, -1, -1]])


@pytest.mark.parametrize("chunk_size", [1, 3, 100])
def test_the_chunk_size_does_not_change_the_matrix(chunk_size):
    calls = []

    def vote(text):
        calls.append(text)
        return "oos" if "joke" in text else None

    lfs = [*functions(), PythonFunction("py", vote, ["oos"])]
    whole = apply_functions(lfs, TEXTS, CLASSES)
    chunked = apply_functions(lfs, TEXTS, CLASSES, chunk_size=chunk_size)
    np.testing.assert_array_equal(chunked.dense(), whole.dense())


def test_similarity_functions_get_the_rows_of_their_chunk():
    vectors = np.eye(4, 2)  # texts 0 and 1 point along the two axes, 2 and 3 are zero
    lf = SimilarityFunction("sim", "balance", np.array([[1.0, 0.0]]), 0.9)
    matrix = apply_functions([lf], TEXTS, CLASSES, vectors=vectors, chunk_size=1)
    np.testing.assert_array_equal(matrix.dense()[:, 0], [0, -1, -1, -1])


def test_the_builder_applies_only_new_items_and_changed_functions():
    builder = LabelMatrixBuilder(CLASSES)
    first = builder.update(functions(), TEXTS[:2])
    assert builder.applied_ == 3 * 2
    grown = builder.update(functions(), TEXTS)
    assert builder.applied_ == 3 * 2  # two new items, three functions
    np.testing.assert_array_equal(grown.dense()[:2], first.dense())
    # An edited function is applied to every item; a new one too; a dropped one goes.
    edited = [
        KeywordFunction("kw_balance", "balance", ["balance", "money"]),
        functions()[1],
        KeywordFunction("kw_hello", "oos", ["joke"]),
    ]
    after = builder.update(edited, TEXTS)
    assert builder.applied_ == 4 + 0 + 4
    assert after.names == ("kw_balance", "kw_transfer", "kw_hello")
    np.testing.assert_array_equal(after.dense(), apply_functions(edited, TEXTS, CLASSES).dense())


def test_a_failing_function_leaves_the_builder_as_it_was():
    builder = LabelMatrixBuilder(CLASSES)
    builder.update(functions(), TEXTS[:2])
    runaway = RegexFunction("runaway", "oos", r"(a|aa)+$", timeout=0.02)
    with pytest.raises(LabelingFunctionError, match="runaway"):
        builder.update([*functions(), runaway], [*TEXTS, "a" * 50 + "!"])
    again = builder.update(functions(), TEXTS)
    assert builder.applied_ == 3 * 2  # the first two items were still known
    np.testing.assert_array_equal(
        again.dense(), apply_functions(functions(), TEXTS, CLASSES).dense()
    )


def test_the_pool_only_grows():
    builder = LabelMatrixBuilder(CLASSES)
    builder.update(functions(), TEXTS)
    with pytest.raises(ValueError, match="only grows"):
        builder.update(functions(), TEXTS[:2])


def test_functions_must_vote_known_classes_under_unique_names():
    with pytest.raises(LabelingFunctionError, match=r"'kw' votes \['refund'\]"):
        apply_functions([KeywordFunction("kw", "refund", ["refund"])], TEXTS, CLASSES)
    with pytest.raises(LabelingFunctionError, match="Two labeling functions are named 'kw'"):
        apply_functions(
            [KeywordFunction("kw", "oos", ["a"]), KeywordFunction("kw", "oos", ["b"])],
            TEXTS,
            CLASSES,
        )


def test_from_dense_checks_its_values():
    matrix = LabelMatrix.from_dense([[0, -1], [1, 1]], ["a", "b"])
    assert matrix.names == ("lf0", "lf1") and matrix.n_items == 2 and matrix.n_functions == 2
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\) or -1"):
        LabelMatrix.from_dense([[2]], ["a", "b"])


def test_coverage_counts_and_a_row_subset():
    matrix = apply_functions(functions(), TEXTS, CLASSES)
    assert matrix.covered().tolist() == [True, True, True, True]
    np.testing.assert_array_equal(
        matrix.class_counts(), [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]]
    )
    part = matrix.rows(np.array([3, 0]))
    np.testing.assert_array_equal(part.dense(), matrix.dense(np.array([3, 0])))
    assert part.names == matrix.names and part.classes == matrix.classes
    sparse_one = LabelMatrix.from_dense([[-1, -1], [0, -1]], ["a", "b"])
    assert sparse_one.covered().tolist() == [False, True]
