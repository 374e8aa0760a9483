from __future__ import annotations

from tests.server.conftest import PASSWORD, assert_error


class TestLogIn:
    def test_right_password_gives_a_bearer_token_that_works(self, client, factory):
        factory.user("ana")
        response = client.post("/api/auth/token", json={"username": "ana", "password": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.json()["username"] == "ana"

    def test_wrong_password_is_401(self, client, factory):
        factory.user("ana")
        response = client.post("/api/auth/token", json={"username": "ana", "password": "nope"})
        error = assert_error(response, 401, "authentication_failed")
        assert error["message"] == "Unknown user or wrong password."
        assert response.headers["WWW-Authenticate"] == "Bearer"

    def test_unknown_user_is_401_alike(self, client):
        response = client.post("/api/auth/token", json={"username": "bob", "password": PASSWORD})
        assert_error(response, 401, "authentication_failed")

    def test_missing_password_is_a_validation_error(self, client):
        response = client.post("/api/auth/token", json={"username": "ana"})
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == "password"


class TestLogOut:
    def test_revoked_token_stops_working(self, client, factory):
        headers = factory.headers(factory.user("ana"))
        assert client.delete("/api/auth/token", headers=headers).status_code == 204
        assert_error(client.get("/api/me", headers=headers), 401, "authentication_failed")


class TestBearerAuth:
    def test_no_token_is_401_with_challenge(self, client):
        response = client.get("/api/me")
        error = assert_error(response, 401, "authentication_failed")
        assert "bearer" in error["message"].lower()
        assert response.headers["WWW-Authenticate"] == "Bearer"

    def test_unknown_token_is_401(self, client):
        response = client.get("/api/me", headers={"Authorization": "Bearer lw_forged"})
        assert_error(response, 401, "authentication_failed")

    def test_other_scheme_is_401(self, client):
        response = client.get("/api/me", headers={"Authorization": "Basic YW5hOnB3"})
        assert_error(response, 401, "authentication_failed")
