"""CRFTagger and BaggedCRF: a real CRFsuite model on a SNIPS slice, and constructed cases."""

import copy
from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.base import clone

from labelwise.data.spans import tag_segments
from labelwise.exceptions import NotFittedError
from labelwise.learners import BaggedCRF, CRFTagger
from labelwise.learners.crf import _gazetteer_index, _gazetteer_marks
from tests.shared_rows import shared_rows


@pytest.fixture(scope="module")
def snips():
    rows = shared_rows("snips", "train")
    # The file is sorted by intent: a seeded sample covers all seven.
    pick = np.random.default_rng(0).choice(len(rows), size=400, replace=False)
    sample = [rows[i] for i in pick]
    return (
        [r["tokens"] for r in sample[:300]],
        [r["tags"] for r in sample[:300]],
        [r["tokens"] for r in sample[300:]],
        [r["tags"] for r in sample[300:]],
    )


@pytest.fixture(scope="module")
def fitted(snips):
    X, y, _, _ = snips
    return CRFTagger(max_iterations=40).fit(X, y)


def test_reaches_a_sane_token_accuracy_on_held_out_sentences(snips, fitted):
    _, _, X_test, y_test = snips
    predicted = fitted.predict(X_test)
    flat_true = [t for seq in y_test for t in seq]
    flat_pred = [t for seq in predicted for t in seq]
    accuracy = np.mean(np.array(flat_true) == np.array(flat_pred))
    all_o = np.mean(np.array(flat_true) == "O")
    # 300 sentences over 7 intents and ~40 slot types: about 0.83 (all-O scores ~0.5).
    assert accuracy > max(0.75, all_o + 0.2)
    assert [len(p) for p in predicted] == [len(x) for x in X_test]


def test_vocabulary_is_o_then_b_i_per_sorted_type(snips, fitted):
    _, y, _, _ = snips
    types = sorted({t[2:] for seq in y for t in seq if t != "O"})
    assert fitted.classes_ == types
    assert fitted.tags_ == ["O"] + [f"{p}-{t}" for t in types for p in "BI"]


def test_marginals_are_distributions_over_tags(snips, fitted):
    _, _, X_test, _ = snips
    marginals = fitted.predict_marginals(X_test[:20])
    for x, marg in zip(X_test[:20], marginals, strict=True):
        assert marg.shape == (len(x), len(fitted.tags_))
        np.testing.assert_allclose(marg.sum(axis=1), 1.0, atol=1e-9)
        assert (marg >= 0).all()
    # Column k is tag tags_[k]: the Viterbi tag is nearly always the most probable one.
    predicted = fitted.predict(X_test[:20])
    agree = [
        fitted.tags_[int(k)] == t
        for marg, tags in zip(marginals, predicted, strict=True)
        for k, t in zip(marg.argmax(axis=1), tags, strict=True)
    ]
    assert np.mean(agree) > 0.95


def test_best_path_proba_is_a_probability_below_every_token_marginal(snips, fitted):
    _, _, X_test, _ = snips
    proba = fitted.best_path_proba(X_test[:20])
    assert proba.shape == (20,)
    assert ((proba > 0) & (proba <= 1)).all()
    column = {t: k for k, t in enumerate(fitted.tags_)}
    for p, marg, tags in zip(
        proba, fitted.predict_marginals(X_test[:20]), fitted.predict(X_test[:20]), strict=True
    ):
        on_path = marg[np.arange(len(tags)), [column[t] for t in tags]]
        assert p <= on_path.min() + 1e-9


def test_predict_spans_are_the_viterbi_entities_with_a_confidence(snips, fitted):
    _, _, X_test, _ = snips
    spans = fitted.predict_spans(X_test[:30])
    for found, tags in zip(spans, fitted.predict(X_test[:30]), strict=True):
        assert [(s, e, t) for s, e, t, _ in found] == tag_segments(tags)
        assert all(0 < c <= 1 for *_, c in found)


def test_empty_sentences_work_everywhere(snips, fitted):
    X = [[], ["play", "jazz"], []]
    assert fitted.predict(X)[0] == [] and fitted.predict(X)[2] == []
    marginals = fitted.predict_marginals(X)
    assert marginals[0].shape == (0, len(fitted.tags_))
    assert fitted.best_path_proba(X)[[0, 2]].tolist() == [1.0, 1.0]
    assert fitted.predict_spans(X)[0] == []
    Xs, ys, _, _ = snips
    tagger = CRFTagger(max_iterations=5).fit([[], *Xs[:20]], [[], *ys[:20]])
    assert tagger.predict([[]]) == [[]]


def test_fit_on_no_tokens_predicts_o_with_certainty():
    tagger = CRFTagger().fit([[], []], [[], []])
    assert tagger.tags_ == ["O"] and tagger.classes_ == []
    assert tagger.predict([["a", "b"]]) == [["O", "O"]]
    np.testing.assert_array_equal(tagger.predict_marginals([["a"]])[0], [[1.0]])


@dataclass
class Tokenized:
    tokens: tuple[str, ...]


def test_objects_with_tokens_are_accepted(fitted):
    plain = [["play", "some", "jazz"]]
    assert fitted.predict([Tokenized(tuple(plain[0]))]) == fitted.predict(plain)


def test_clone_and_deepcopy(fitted):
    fresh = clone(fitted)
    assert fresh.get_params() == fitted.get_params()
    assert not hasattr(fresh, "model_")
    copied = copy.deepcopy(fitted)  # no CRFsuite object is held, so this works
    assert copied.predict([["play", "jazz"]]) == fitted.predict([["play", "jazz"]])


def test_training_is_deterministic(snips):
    X, y, X_test, _ = snips
    first = CRFTagger(max_iterations=20).fit(X[:100], y[:100])
    second = CRFTagger(max_iterations=20).fit(X[:100], y[:100])
    assert first.predict(X_test) == second.predict(X_test)
    np.testing.assert_array_equal(
        np.concatenate(first.predict_marginals(X_test)),
        np.concatenate(second.predict_marginals(X_test)),
    )


def test_save_and_load_round_trip(tmp_path, snips, fitted):
    _, _, X_test, _ = snips
    path = tmp_path / "model.npz"
    fitted.save(path)
    loaded = CRFTagger.load(path)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.tags_ == fitted.tags_
    assert loaded.predict(X_test) == fitted.predict(X_test)
    np.testing.assert_array_equal(
        np.concatenate(loaded.predict_marginals(X_test)),
        np.concatenate(fitted.predict_marginals(X_test)),
    )


def test_load_refuses_other_files_and_missing_embeddings(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, model=np.zeros(3, dtype=np.uint8), meta=np.array('{"format": "x"}'))
    with pytest.raises(ValueError, match="not a labelwise CRF model"):
        CRFTagger.load(other)
    tagger = CRFTagger(embeddings=lambda tokens: np.ones((len(tokens), 2))).fit(
        [["a", "b"]], [["B-x", "O"]]
    )
    tagger.save(tmp_path / "emb.npz")
    with pytest.raises(ValueError, match="pass the same embeddings"):
        CRFTagger.load(tmp_path / "emb.npz")


# -- gazetteer and embeddings -----------------------------------------------------------


def _made_up_words(rng, n):
    letters = np.array(list("bcdfghjklmnpqrstvwz"))
    return ["".join(rng.choice(letters, size=6)) for _ in range(n)]


def test_gazetteer_features_decide_unseen_words():
    # After "play", a song (in the gazetteer) is B-song and any other word is O; the
    # test words are new, so only gazetteer membership can tell them apart.
    rng = np.random.default_rng(0)
    songs, others = _made_up_words(rng, 22), _made_up_words(rng, 22)
    X = [["play", w] for w in songs[:20] + others[:20]]
    y = [["O", "B-song"]] * 20 + [["O", "O"]] * 20
    test = [["play", songs[20]], ["play", songs[21]], ["play", others[20]], ["play", others[21]]]
    expected = [["O", "B-song"]] * 2 + [["O", "O"]] * 2
    with_gazetteer = CRFTagger(gazetteer={"song": songs}).fit(X, y).predict(test)
    without = CRFTagger().fit(X, y).predict(test)
    assert with_gazetteer == expected
    assert without != expected


def test_sentence_context_decides_a_type_from_a_word_outside_the_window():
    # "x" is a playlist when the sentence says "add", an album when it says "play"; the
    # verb sits four tokens away, outside the default window of two.
    X = [["add", "a", "b", "c", "x"], ["play", "a", "b", "c", "x"]] * 10
    y = [["O"] * 4 + ["B-playlist"], ["O"] * 4 + ["B-album"]] * 10
    test = [["add", "d", "e", "f", "x"], ["play", "d", "e", "f", "x"]]
    with_context = CRFTagger().fit(X, y)
    assert [tags[-1] for tags in with_context.predict(test)] == ["B-playlist", "B-album"]
    without = CRFTagger(sentence_context=False).fit(X, y).predict(test)
    assert without[0][-1] == without[1][-1]


def test_sentence_context_survives_save_and_load(tmp_path):
    tagger = CRFTagger(sentence_context=False).fit([["play", "jazz"]], [["O", "B-genre"]])
    tagger.save(tmp_path / "m.npz")
    assert CRFTagger.load(tmp_path / "m.npz").sentence_context is False


def test_gazetteer_marks_take_the_longest_match_lowercased():
    index = _gazetteer_index({"city": ["new york", "New York City", ("york",)]})
    marks = _gazetteer_marks(["in", "new", "york", "city", "and", "york"], index)
    assert marks == [
        [],
        ["gaz:city=B"],
        ["gaz:city=I"],
        ["gaz:city=I"],
        [],
        ["gaz:city=B"],
    ]


def test_embedding_features_accept_token_and_sentence_vectors():
    X, y = [["a", "b"], ["b", "a"]], [["B-x", "O"], ["O", "B-x"]]
    per_token = CRFTagger(embeddings=lambda t: np.eye(2)[[int(w == "a") for w in t]]).fit(X, y)
    assert per_token.predict(X) == y
    sentence = CRFTagger(embeddings=lambda _t: np.ones(3)).fit(X, y)
    assert len(sentence.predict(X)[0]) == 2
    bad = CRFTagger(embeddings=lambda t: np.ones((len(t) + 1, 2)))
    with pytest.raises(ValueError, match=r"must return shape \(2, d\) or \(d,\)"):
        bad.fit(X, y)


# -- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        ([["a", "b"]], [["O"]], "Sentence 0 has 2 tokens but 1 tags"),
        ([["a"]], [["X-t"]], "Tag 0 of sentence 0 must be 'O', 'B-<type>'"),
        ([["a"]], [], "X has 1 sentences but y has 0"),
        (["ab"], [["O", "O"]], "Sentence 0 must be a sequence of token strings"),
        ([["a", 3]], [["O", "O"]], "Token 1 of sentence 0 must be a str"),
    ],
)
def test_bad_input_is_refused_with_its_position(X, y, message):
    with pytest.raises((ValueError, TypeError), match=message):
        CRFTagger().fit(X, y)


@pytest.mark.parametrize(("param", "value"), [("c1", -1.0), ("max_iterations", 0), ("window", -1)])
def test_bad_parameters_are_refused_with_their_value(param, value):
    with pytest.raises(ValueError, match=f"'{param}' parameter .* {value}"):
        CRFTagger(**{param: value}).fit([["a"]], [["O"]])


def test_unfitted_use_raises_not_fitted():
    with pytest.raises(NotFittedError):
        CRFTagger().predict([["a"]])
    with pytest.raises(NotFittedError):
        BaggedCRF().member_marginals([["a"]])


def test_predicted_spans_read_tags_strictly_as_the_span_metrics_do():
    # A stray I- opens nothing, so a suggestion is never a span the scorer would ignore.
    assert tag_segments(["B-a", "I-a", "O", "I-b", "I-b", "B-b", "I-a"]) == [
        (0, 2, "a"),
        (5, 6, "b"),
    ]


# -- the committee ----------------------------------------------------------------------


def test_bagged_members_are_aligned_to_one_vocabulary(snips):
    X, y, X_test, _ = snips
    bag = BaggedCRF(
        CRFTagger(max_iterations=15), n_members=3, sample_fraction=0.3, random_state=0
    ).fit(X[:120], y[:120])
    members = bag.member_marginals(X_test[:10])
    assert [mm.shape for mm in members] == [(3, len(x), len(bag.tags_)) for x in X_test[:10]]
    for mm in members:
        np.testing.assert_allclose(mm.sum(axis=2), 1.0, atol=1e-9)
    # A member whose sample missed a type gives its tags probability 0.
    missing = [
        (k, t)
        for k, member in enumerate(bag.members_)
        for t in set(bag.classes_) - set(member.classes_)
    ]
    assert missing, "the sample fraction should leave some type out of some member"
    stacked = np.concatenate(members, axis=1)
    for k, t in missing:
        assert (stacked[k][:, bag.tags_.index(f"B-{t}")] == 0).all()
    assert bag.predict(X_test[:5]) == bag.full_.predict(X_test[:5])


def test_bagged_crf_is_reproducible_and_checks_its_fraction(snips):
    X, y, X_test, _ = snips
    make = lambda: BaggedCRF(CRFTagger(max_iterations=5), n_members=2, random_state=3)  # noqa: E731
    a = make().fit(X[:40], y[:40]).member_marginals(X_test[:5])
    b = make().fit(X[:40], y[:40]).member_marginals(X_test[:5])
    for x, z in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, z)
    with pytest.raises(ValueError, match="'sample_fraction' .* Got 1.5"):
        BaggedCRF(sample_fraction=1.5).fit(X[:5], y[:5])


def test_word_clusters_decide_unseen_words_and_survive_save_and_load(tmp_path):
    # As with the gazetteer: new words after "play" are songs only if their cluster says
    # so, and the clusters (learned on a pool) cover words the labels never showed.
    rng = np.random.default_rng(1)
    songs, others = _made_up_words(rng, 22), _made_up_words(rng, 22)
    clusters = dict.fromkeys(songs, ("song",)) | dict.fromkeys(others, ("other",))
    X = [["play", w] for w in songs[:20] + others[:20]]
    y = [["O", "B-song"]] * 20 + [["O", "O"]] * 20
    test = [["play", songs[20]], ["play", songs[21]], ["play", others[20]], ["play", others[21]]]
    expected = [["O", "B-song"]] * 2 + [["O", "O"]] * 2
    tagger = CRFTagger(word_clusters=clusters).fit(X, y)
    assert tagger.predict(test) == expected
    assert CRFTagger().fit(X, y).predict(test) != expected
    tagger.save(tmp_path / "m.npz")
    loaded = CRFTagger.load(tmp_path / "m.npz")
    assert {w: tuple(c) for w, c in loaded.word_clusters.items()} == clusters
    assert loaded.predict(test) == expected
