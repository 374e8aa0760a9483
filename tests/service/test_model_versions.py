"""Model versions: promoting one to production, comparing two, exporting one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from labelwise import load_model
from labelwise.features import TfidfFeaturizer
from labelwise.learners import ProbabilisticClassifier
from labelwise.service import model_versions, projects
from labelwise.service.errors import ConflictError, NotFoundError
from labelwise.service.transactions import begin_write
from labelwise.store import Event, ModelVersion, Project
from labelwise.tasks import SingleLabel
from labelwise.textmodel import TextModel
from tests.service.pool_factory import INTENTS, make_project, make_user


def saved_model(folder: Path, labels: list[str]) -> Path:
    """A small TF-IDF model over the factory's phrases, saved in ``folder``."""
    texts = [phrase for phrases in INTENTS.values() for phrase in phrases]
    names = [name for name, phrases in INTENTS.items() for _ in phrases]
    featurizer = TfidfFeaturizer().fit(texts)
    learner = ProbabilisticClassifier(classes=labels).fit(featurizer.transform(texts), names)
    TextModel(SingleLabel(labels), featurizer=featurizer, classifier=learner).save(folder)
    return folder


def add_version(
    session, project, version: int, *, metrics: dict[str, Any] | None = None, path: Any = None
) -> ModelVersion:
    begin_write(session)
    row = ModelVersion(
        project_id=project.id,
        version=version,
        label_count=10 * version,
        metrics=metrics or {},
        artifact_path=None if path is None else str(path),
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def setup(session, tmp_path):
    owner = make_user(session, "owner", admin=True)
    project, _ = make_project(session, owner, copies=1)
    for version in (1, 2):
        add_version(
            session,
            project,
            version,
            path=saved_model(tmp_path / f"v{version}", list(project.labels)),
        )
    return project, owner


def production_id(session, project):
    session.expire_all()
    value = session.get(Project, project.id).production_version_id
    session.commit()
    return value


class TestPromote:
    def test_it_sets_production_and_records_who_did(self, session, setup):
        project, owner = setup
        promoted = model_versions.promote(
            session, project_id=project.id, version=2, user_id=owner.id
        )
        assert promoted.production and promoted.version == 2
        listed = model_versions.list_versions(session, project_id=project.id)
        assert [(v.version, v.production, v.servable) for v in listed] == [
            (1, False, True),
            (2, True, True),
        ]
        model_versions.promote(session, project_id=project.id, version=1, user_id=owner.id)
        model_versions.promote(session, project_id=project.id, version=1, user_id=owner.id)
        assert model_versions.production_version(session, project_id=project.id).version == 1
        events = session.scalars(
            select(Event).where(Event.kind == "model_promoted").order_by(Event.id)
        ).all()
        # Promoting the version already in production again records nothing.
        assert [(e.payload["version"], e.payload["previous_version"]) for e in events] == [
            (2, None),
            (1, 2),
        ]
        assert {e.user_id for e in events} == {owner.id}
        session.commit()

    def test_unknown_versions_and_projects_are_not_found(self, session, setup):
        project, owner = setup
        with pytest.raises(NotFoundError, match="no model version 9"):
            model_versions.promote(session, project_id=project.id, version=9, user_id=owner.id)
        with pytest.raises(NotFoundError, match="Project 999"):
            model_versions.promote(session, project_id=999, version=1, user_id=owner.id)
        assert production_id(session, project) is None

    def test_a_version_saved_before_whole_models_cannot_be_promoted(self, session, setup, tmp_path):
        project, owner = setup
        legacy = tmp_path / "v3.npz"
        np.savez(legacy, coef=np.zeros((1, 3)))
        add_version(session, project, 3, path=legacy)
        with pytest.raises(ConflictError, match="published before whole models were saved"):
            model_versions.promote(session, project_id=project.id, version=3, user_id=owner.id)
        assert not model_versions.list_versions(session, project_id=project.id)[2].servable
        assert np.load(legacy)["coef"].shape == (1, 3)  # the old file stays readable

    def test_a_damaged_model_is_refused_without_naming_server_folders(
        self, session, setup, tmp_path
    ):
        project, owner = setup
        (tmp_path / "v2" / "model.npz").write_bytes(b"damaged")
        with pytest.raises(ConflictError) as caught:
            model_versions.promote(session, project_id=project.id, version=2, user_id=owner.id)
        message = str(caught.value)
        assert "Model version 2 cannot be used: model.npz" in message
        assert str(tmp_path) not in message
        assert production_id(session, project) is None


def ci(value: float, half: float) -> list[float]:
    return [value - half, value + half]


class TestCompare:
    def test_held_out_scores_side_by_side_with_the_difference(self, session, setup):
        project, _ = setup
        old, new = model_versions.list_versions(session, project_id=project.id)
        begin_write(session)
        session.get(ModelVersion, old.id).metrics = {
            "eval_accuracy": 0.70,
            "eval_ci95": ci(0.70, 0.05),
            "eval_n": 300,
            "audit_accuracy": 0.60,
            "audit_ci95": ci(0.60, 0.10),
            "audit_n": 80,
        }
        session.get(ModelVersion, new.id).metrics = {
            "eval_accuracy": 0.80,
            "eval_ci95": ci(0.80, 0.04),
            "eval_n": 300,
        }
        session.commit()
        comparison = model_versions.compare(session, project_id=project.id, a=1, b=2)
        assert (comparison.a.version, comparison.b.version) == (1, 2)
        evaluation, audit = comparison.scores
        assert (evaluation.held_out, evaluation.metric) == ("eval", "accuracy")
        assert evaluation.a.value == 0.70 and evaluation.b.n == 300
        assert evaluation.difference == pytest.approx(0.10)
        assert evaluation.difference_ci95 is not None
        low, high = evaluation.difference_ci95
        # Newcombe: the half widths combine in quadrature.
        assert low == pytest.approx(0.10 - np.hypot(0.04, 0.05))
        assert high == pytest.approx(0.10 + np.hypot(0.04, 0.05))
        # The newer version was never audited: its side and the difference are empty.
        assert audit.b is None and audit.difference is None and audit.difference_ci95 is None

    def test_span_f1_is_compared_for_span_projects(self, session, setup):
        project, _ = setup
        first, second = model_versions.list_versions(session, project_id=project.id)
        begin_write(session)
        for row, f1 in ((first, 0.5), (second, 0.4)):
            session.get(ModelVersion, row.id).metrics = {
                "eval_span_f1": f1,
                "eval_span_f1_ci95": None,
                "eval_n": 40,
            }
        session.commit()
        [score] = model_versions.compare(session, project_id=project.id, a=1, b=2).scores
        assert score.metric == "span_f1" and score.difference == pytest.approx(-0.1)
        assert score.a.ci95 is None and score.difference_ci95 is None

    def test_an_unknown_version_is_not_found(self, session, setup):
        project, _ = setup
        with pytest.raises(NotFoundError, match="no model version 7"):
            model_versions.compare(session, project_id=project.id, a=1, b=7)


class TestExport:
    def test_the_production_version_else_the_newest(self, session, setup, tmp_path):
        project, owner = setup
        exported = model_versions.export_model(
            session, project_id=project.id, directory=tmp_path / "out-latest"
        )
        assert exported.version == 2 and not exported.production
        model_versions.promote(session, project_id=project.id, version=1, user_id=owner.id)
        exported = model_versions.export_model(
            session, project_id=project.id, directory=tmp_path / "out-production"
        )
        assert exported.version == 1 and exported.production
        texts = ["hello friend", "is it sunny"]
        np.testing.assert_array_equal(
            load_model(tmp_path / "out-production").predict_proba(texts),
            load_model(tmp_path / "v1").predict_proba(texts),
        )

    def test_refusals(self, session, setup, tmp_path):
        project, owner = setup
        with pytest.raises(NotFoundError, match="no model version 5"):
            model_versions.export_model(
                session, project_id=project.id, directory=tmp_path / "x", version=5
            )
        model_versions.export_model(session, project_id=project.id, directory=tmp_path / "x")
        with pytest.raises(ConflictError, match="already holds a model"):
            model_versions.export_model(session, project_id=project.id, directory=tmp_path / "x")
        model_versions.export_model(
            session, project_id=project.id, directory=tmp_path / "x", overwrite=True
        )
        empty = projects.create_project(session, name="empty", labels=["a", "b"], owner=owner)
        with pytest.raises(ConflictError, match="has no model version yet"):
            model_versions.export_model(session, project_id=empty.id, directory=tmp_path / "y")
