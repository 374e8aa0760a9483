"""Hostile input at the edge: NUL characters, out-of-range integers, broken JSON.

Each once answered 500 (NUL and 32-bit ids on PostgreSQL, 64-bit overflows on SQLite);
each must be a 4xx that says what is wrong, with nothing stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from labelwise.store import Annotation, Project, User
from tests.server.conftest import PASSWORD, Factory, World, assert_error

NUL = "bad\x00value"


def _counts(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Project)) or 0,
            session.scalar(select(func.count()).select_from(User)) or 0,
            session.scalar(select(func.count()).select_from(Annotation)) or 0,
        )


def test_a_nul_in_any_string_field_is_refused_and_nothing_is_stored(
    client: TestClient,
    world: World,
    factory: Factory,
    session_factory: sessionmaker[Session],
) -> None:
    factory.items(world.project, [{"text": "hello"}])
    base = f"/api/projects/{world.project.id}"
    item_id = client.get(f"{base}/items", headers=world.admin_headers).json()["items"][0]["id"]
    requests: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/auth/token", {"username": NUL, "password": PASSWORD}, "username"),
        ("POST", "/api/auth/token", {"username": "root", "password": NUL}, "password"),
        ("POST", "/api/projects", {"name": NUL, "labels": ["a", "b"]}, "name"),
        ("POST", "/api/projects", {"name": "p2", "labels": ["a", NUL]}, "labels.1"),
        (
            "POST",
            "/api/projects",
            {"name": "p3", "labels": ["a", "b"], "guidelines": NUL},
            "guidelines",
        ),
        ("POST", "/api/users", {"username": NUL, "password": "long enough pw"}, "username"),
        ("POST", "/api/users", {"username": "neu", "password": "long " + NUL}, "password"),
        ("PUT", f"{base}/guidelines", {"guidelines": NUL}, "guidelines"),
        ("POST", f"{base}/members", {"username": NUL}, "username"),
        ("POST", f"{base}/annotations/flag", {"item_id": item_id, "comment": NUL}, "comment"),
        (
            "POST",
            f"{base}/annotations",
            {"item_id": item_id, "value": "greet", "client_key": NUL},
            "client_key",
        ),
        ("POST", f"{base}/annotations/skip", {"item_id": item_id, "client_key": NUL}, "client_key"),
        ("POST", f"{base}/flags/1/resolve", {"resolution": "label", "label": NUL}, "label"),
        ("POST", f"{base}/annotations", {"item_id": item_id, "value": NUL}, "value"),
    ]
    before = _counts(session_factory)
    with session_factory() as session:
        guidelines = session.get(Project, world.project.id).guidelines
    for method, url, body, field in requests:
        response = client.request(method, url, json=body, headers=world.admin_headers)
        error = assert_error(response, 422, "request_validation_error")
        assert error["field"] == field, (url, error)
        assert "NUL" in error["message"], error
    assert _counts(session_factory) == before
    with session_factory() as session:
        assert session.get(Project, world.project.id).guidelines == guidelines


def test_a_nul_in_a_query_parameter_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/projects/{world.project.id}/import",
        params={"text_field": NUL},
        files={"file": ("rows.jsonl", b'{"text": "a"}\n')},
        headers=world.admin_headers,
    )
    assert assert_error(response, 422, "request_validation_error")["field"] == "text_field"


@pytest.mark.parametrize("bad_id", [0, -1, 2**31, 2**63, 2**64])
def test_ids_outside_32_bits_answer_422_on_every_route(
    client: TestClient, world: World, bad_id: int
) -> None:
    base = f"/api/projects/{world.project.id}"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/projects/{bad_id}", None),
        ("GET", f"/api/projects/{bad_id}/items", None),
        ("GET", f"{base}/items/{bad_id}", None),
        ("GET", f"/api/projects/{bad_id}/labels", None),
        ("POST", f"{base}/annotations", {"item_id": bad_id, "value": "greet"}),
        ("POST", f"{base}/annotations", {"item_id": 1, "value": "greet", "lease_id": bad_id}),
        ("POST", f"{base}/annotations/skip", {"item_id": bad_id}),
        ("POST", f"{base}/annotations/flag", {"item_id": bad_id, "comment": "odd"}),
        ("POST", f"{base}/annotations/undo", {"annotation_id": bad_id}),
        ("POST", f"/api/projects/{bad_id}/queue/next", None),
        ("POST", f"{base}/flags/{bad_id}/resolve", {"resolution": "requeue"}),
    ]
    for method, url, body in requests:
        response = client.request(method, url, json=body, headers=world.admin_headers)
        error = assert_error(response, 422, "request_validation_error")
        assert "1" in error["message"] or "greater" in error["message"], error


def test_offsets_are_bounded_by_64_bits(client: TestClient, world: World) -> None:
    base = f"/api/projects/{world.project.id}"
    for path in ("items", "labels"):
        largest = client.get(f"{base}/{path}?offset={2**63 - 1}", headers=world.admin_headers)
        assert largest.status_code == 200, largest.text
        assert largest.json()["items"] == []
        beyond = client.get(f"{base}/{path}?offset={2**63}", headers=world.admin_headers)
        assert assert_error(beyond, 422, "request_validation_error")["field"] == "offset"


def test_a_body_that_is_not_json_is_located_by_line_and_column(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/api/projects",
        content=b'{"name": "p",\n "labels": [oops]}',
        headers={**world.admin_headers, "Content-Type": "application/json"},
    )
    error = assert_error(response, 422, "request_validation_error")
    assert "field" not in error  # a character position is not a field
    assert error["line"] == 2
    assert error["message"] == (
        "the request body is not valid JSON: Expecting value at line 2, column 13"
    )


def test_a_one_label_project_is_refused(client: TestClient, world: World) -> None:
    for labels in (["only"], ["a", "a"], ["a", " b"]):
        response = client.post(
            "/api/projects", json={"name": "solo", "labels": labels}, headers=world.admin_headers
        )
        assert response.status_code == 422, response.text
        assert "label" in response.json()["error"]["message"].lower()
    assert client.get("/api/projects", headers=world.admin_headers).json()[-1]["name"] != "solo"


def test_settings_without_an_upper_bound_are_refused(client: TestClient, world: World) -> None:
    url = f"/api/projects/{world.project.id}/settings"
    for changes in ({"lease_seconds": 10**12}, {"retrain_every": 10**12}, {"queue_size": 10**12}):
        response = client.patch(url, json=changes, headers=world.admin_headers)
        error = assert_error(response, 422, "validation_error")
        assert next(iter(changes)) in error["message"]
    # The project still serves: nothing of the refused settings was stored.
    factory_next = client.post(
        f"/api/projects/{world.project.id}/queue/next", headers=world.admin_headers
    )
    assert factory_next.status_code in (200, 204), factory_next.text


def test_a_wrong_method_names_every_allowed_one(client: TestClient, world: World) -> None:
    response = client.put("/api/auth/token", headers=world.admin_headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, POST"


@pytest.mark.usefixtures("world")
def test_the_pages_forms_refuse_a_nul_too(client: TestClient) -> None:
    response = client.post("/ui/login", data={"username": NUL, "password": PASSWORD})
    assert assert_error(response, 422, "request_validation_error")["field"] == "username"
    assert "NUL" in response.json()["error"]["message"]
