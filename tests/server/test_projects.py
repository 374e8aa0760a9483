from __future__ import annotations

import pytest

from tests.server.conftest import assert_error


class TestListProjects:
    def test_annotator_sees_only_their_projects(self, client, factory, world):
        factory.project(world.admin, name="other")
        response = client.get("/api/projects", headers=world.annotator_headers)
        assert [p["name"] for p in response.json()] == ["intents"]

    def test_site_admin_sees_every_project(self, client, factory, world):
        factory.project(world.admin, name="other")
        response = client.get("/api/projects", headers=world.admin_headers)
        assert [p["name"] for p in response.json()] == ["intents", "other"]

    def test_outsider_sees_none(self, client, world):
        assert client.get("/api/projects", headers=world.outsider_headers).json() == []


class TestCreateProject:
    def test_site_admin_creates_a_project_with_default_settings(self, client, world):
        response = client.post(
            "/api/projects",
            json={"name": "topics", "labels": ["x", "y"], "settings": {"retrain_every": 5}},
            headers=world.admin_headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert body["labels"] == ["x", "y"]
        assert body["task"] == "single_label"
        assert body["settings"]["retrain_every"] == 5
        assert body["settings"]["strategy"] == "margin"

    def test_annotator_is_forbidden(self, client, world):
        response = client.post(
            "/api/projects", json={"name": "t", "labels": ["x"]}, headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")

    def test_duplicate_name_is_a_conflict(self, client, world):
        response = client.post(
            "/api/projects",
            json={"name": "intents", "labels": ["x", "y"]},
            headers=world.admin_headers,
        )
        assert_error(response, 409, "conflict")

    def test_service_validation_is_a_422_with_the_reason(self, client, world):
        response = client.post(
            "/api/projects",
            json={"name": "t", "labels": ["x", "x"]},
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "validation_error")
        assert "distinct" in error["message"]

    def test_unknown_task_names_the_field(self, client, world):
        response = client.post(
            "/api/projects",
            json={"name": "t", "labels": ["x", "y"], "task": "poetry"},
            headers=world.admin_headers,
        )
        assert assert_error(response, 422, "request_validation_error")["field"] == "task"


class TestReadProject:
    def test_member_reads_the_project(self, client, world):
        response = client.get(f"/api/projects/{world.project.id}", headers=world.annotator_headers)
        assert response.status_code == 200
        assert response.json()["name"] == "intents"

    def test_annotator_of_another_project_gets_404(self, client, factory, world):
        other = factory.project(world.admin, name="other")
        response = client.get(f"/api/projects/{other.id}", headers=world.annotator_headers)
        assert_error(response, 404, "not_found")

    def test_missing_project_is_404(self, client, world):
        assert_error(client.get("/api/projects/999", headers=world.admin_headers), 404, "not_found")

    def test_needs_a_token(self, client, world):
        response = client.get(f"/api/projects/{world.project.id}")
        assert_error(response, 401, "authentication_failed")


class TestUpdateSettings:
    def test_admin_merges_changes(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"strategy": "entropy"},
            headers=world.admin_headers,
        )
        assert response.status_code == 200
        settings = response.json()["settings"]
        assert settings["strategy"] == "entropy"
        assert settings["retrain_every"] == 20

    def test_bad_setting_is_a_422(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"no_such_knob": 1},
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "validation_error")
        assert "no_such_knob" in error["message"]

    @pytest.mark.parametrize("weight", [-0.5, 2, "half", None])
    def test_a_bad_weak_label_weight_is_a_422_naming_it(self, client, world, weight):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"weak_label_weight": weight},
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "validation_error")
        assert "weak_label_weight" in error["message"]

    def test_weak_label_weight_by_cv_without_a_weight_is_a_422_naming_it(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"weak_label_weight_by_cv": True},
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "validation_error")
        assert "weak_label_weight_by_cv" in error["message"]
        assert "above 0" in error["message"]

    def test_weak_labels_from_model_and_rules_with_cross_validation_is_a_422(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={
                "weak_label_weight": 0.5,
                "weak_label_weight_by_cv": True,
                "weak_labels_from": "model_and_rules",
            },
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "validation_error")
        assert "weak_label_weight_by_cv" in error["message"]
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"weak_label_weight": 0.5, "weak_labels_from": "model_and_rules"},
            headers=world.admin_headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["settings"]["weak_labels_from"] == "model_and_rules"

    def test_annotator_is_forbidden(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"strategy": "entropy"},
            headers=world.annotator_headers,
        )
        assert_error(response, 403, "permission_denied")

    def test_outsider_gets_404(self, client, world):
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"strategy": "entropy"},
            headers=world.outsider_headers,
        )
        assert_error(response, 404, "not_found")


class TestAddMember:
    def test_admin_adds_an_annotator_who_then_sees_the_project(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/members",
            json={"username": "out"},
            headers=world.admin_headers,
        )
        assert response.status_code == 200
        assert response.json() == {
            "project_id": world.project.id,
            "user_id": world.outsider.id,
            "role": "annotator",
        }
        listed = client.get("/api/projects", headers=world.outsider_headers).json()
        assert [p["id"] for p in listed] == [world.project.id]

    def test_promoted_member_may_administer(self, client, world):
        client.post(
            f"/api/projects/{world.project.id}/members",
            json={"username": "ann", "role": "admin"},
            headers=world.admin_headers,
        )
        response = client.patch(
            f"/api/projects/{world.project.id}/settings",
            json={"overlap": 2},
            headers=world.annotator_headers,
        )
        assert response.status_code == 200

    def test_unknown_user_is_a_422(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/members",
            json={"username": "ghost"},
            headers=world.admin_headers,
        )
        assert_error(response, 422, "validation_error")

    def test_annotator_is_forbidden(self, client, world):
        response = client.post(
            f"/api/projects/{world.project.id}/members",
            json={"username": "out"},
            headers=world.annotator_headers,
        )
        assert_error(response, 403, "permission_denied")
