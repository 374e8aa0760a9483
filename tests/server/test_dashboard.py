"""``GET /api/projects/{id}/dashboard``: is active learning helping?"""

from __future__ import annotations

import math

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.service.training import RetrainWorker
from labelwise.service.transactions import begin_write
from labelwise.store import ModelVersion
from tests.service.pool_factory import label_with_audit, make_project


def _url(project_id: int) -> str:
    return f"/api/projects/{project_id}/dashboard"


class TestReadDashboard:
    def test_the_labels_saved_and_the_signals(self, client, world, session_factory, settings):
        with session_factory() as session:
            project, truth = make_project(
                session, world.admin, name="helping", copies=8, settings={"audit_fraction": 0.2}
            )
            label_with_audit(session, project, world.admin, truth, n_audit=50, n_trained=6)
        RetrainWorker(session_factory, data_dir=settings.data_dir).run_pending()
        response = client.get(_url(project.id), headers=world.admin_headers)
        assert response.status_code == 200, response.text
        assert "Infinity" not in response.text and "NaN" not in response.text
        saved = response.json()["labels_saved"]
        assert saved["estimated"] is True and saved["reason"] is None
        assert (saved["audit_labels"], saved["model_labels"]) == (50, 6)
        assert saved["scored_on"] == "audit sample" and saved["level"] == 0.9
        assert math.isfinite(saved["random_labels"]) and 0 < saved["low"] <= saved["random_labels"]
        assert saved["high"] is None or saved["high"] >= saved["random_labels"]
        assert all(len(point) == 2 for point in saved["curve"])
        assert saved["text"].startswith("Random sampling would need about ")
        signals = response.json()["signals"]
        assert signals["active"] == {
            "decisions": 6,
            "labels": 6,
            "skips": 0,
            "flags": 0,
            "skip_rate": 0.0,
            "flag_rate": 0.0,
            "passed_rate": 0.0,
        }
        assert signals["audit"]["decisions"] == 50
        assert set(signals["audit_new_classes"]) == {"labels", "new", "share"}
        assert [p["version"] for p in signals["drift"]] == [1]
        assert signals["warnings"] == []

    def test_before_any_model_there_is_no_estimate(self, client, world):
        response = client.get(_url(world.project.id), headers=world.admin_headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["labels_saved"] is None
        assert body["signals"]["active"]["decisions"] == 0
        assert body["signals"]["active"]["skip_rate"] is None
        assert body["signals"]["active_new_classes"] == {"labels": 0, "new": 0, "share": None}

    def test_no_upper_bound_is_null(self, client, world, session_factory):
        unbounded = RandomLabelsEstimate(
            estimated=True,
            reason=None,
            model_labels=200,
            model_score=0.9,
            audit_labels=80,
            random_labels=900.0,
            low=450.0,
            high=math.inf,
            saving=4.5,
            saving_low=2.25,
            saving_high=math.inf,
            curve=[(10, 0.5), (80, 0.8)],
        )
        with session_factory() as session:
            begin_write(session)
            session.add(
                ModelVersion(
                    project_id=world.project.id,
                    version=1,
                    label_count=200,
                    metrics={"labels_saved": unbounded.to_dict()},
                )
            )
            session.commit()
        response = client.get(_url(world.project.id), headers=world.admin_headers)
        assert response.status_code == 200, response.text
        saved = response.json()["labels_saved"]
        assert saved["high"] is None and saved["saving_high"] is None
        assert saved["curve"] == [[10, 0.5], [80, 0.8]]
        assert "(90% interval: at least 450)" in saved["text"]

    def test_annotators_may_not_read_it(self, client, world):
        response = client.get(_url(world.project.id), headers=world.annotator_headers)
        assert response.status_code == 403
