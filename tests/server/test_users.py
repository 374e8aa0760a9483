from __future__ import annotations

import pytest

from tests.server.conftest import PASSWORD, assert_error


class TestMe:
    def test_shows_the_caller_without_secrets(self, client, world):
        body = client.get("/api/me", headers=world.annotator_headers).json()
        assert body["username"] == "ann"
        assert body["is_admin"] is False
        assert "password_hash" not in body


class TestCreateUser:
    def test_site_admin_adds_a_user_who_can_log_in(self, client, world):
        response = client.post(
            "/api/users",
            json={"username": "new", "password": PASSWORD},
            headers=world.admin_headers,
        )
        assert response.status_code == 201
        assert response.json()["username"] == "new"
        login = client.post("/api/auth/token", json={"username": "new", "password": PASSWORD})
        assert login.status_code == 200

    def test_annotator_is_forbidden(self, client, world):
        response = client.post(
            "/api/users",
            json={"username": "new", "password": PASSWORD},
            headers=world.annotator_headers,
        )
        assert_error(response, 403, "permission_denied")

    def test_taken_name_is_a_conflict(self, client, world):
        response = client.post(
            "/api/users",
            json={"username": "ann", "password": PASSWORD},
            headers=world.admin_headers,
        )
        assert_error(response, 409, "conflict")

    def test_a_case_variant_of_a_taken_name_is_a_conflict_naming_the_account(self, client, world):
        response = client.post(
            "/api/users",
            json={"username": "ROOT", "password": PASSWORD},
            headers=world.admin_headers,
        )
        error = assert_error(response, 409, "conflict")
        assert "'root' already exists" in error["message"] and "ignore case" in error["message"]
        login = client.post("/api/auth/token", json={"username": "Ann", "password": PASSWORD})
        assert login.status_code == 200, login.text

    @pytest.mark.parametrize(
        ("username", "password", "message"),
        [("new", "Password123!", "most common"), ("Grace Hopper", "grace hopper", "username")],
    )
    def test_weak_passwords_are_refused_and_nothing_is_stored(
        self, client, world, username, password, message
    ):
        response = client.post(
            "/api/users",
            json={"username": username, "password": password},
            headers=world.admin_headers,
        )
        assert message in assert_error(response, 422, "validation_error")["message"]
        names = [
            user["username"]
            for user in client.get("/api/users", headers=world.admin_headers).json()
        ]
        assert username not in names

    def test_short_password_is_refused(self, client, world):
        response = client.post(
            "/api/users",
            json={"username": "new", "password": "short"},
            headers=world.admin_headers,
        )
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == "password"
