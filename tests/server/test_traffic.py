"""The traffic and service-token routes: scopes, per-message errors, never a 500."""

from __future__ import annotations

import pytest

from tests.server.conftest import assert_error


def _service_token(client, world, scopes):
    response = client.post(
        f"/api/projects/{world.project.id}/service-tokens",
        json={"name": "prod bot", "scopes": scopes},
        headers=world.admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["scopes"] == sorted(scopes, key=["ingest", "feedback", "predict"].index)
    return body


def test_a_bot_ingests_with_its_token_and_gets_counts_and_errors(client, world):
    token = _service_token(client, world, ["ingest"])
    headers = {"Authorization": f"Bearer {token['token']}"}
    response = client.post(
        f"/api/projects/{world.project.id}/traffic",
        json={
            "messages": [
                {"text": "hi there", "external_id": "a", "prediction": "greet", "confidence": 0.4},
                {"text": "hi there", "external_id": "a"},
                {"text": "bye", "confidence": 2},
                {"text": "HI there"},
            ]
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "accepted": 2,
        "duplicate": 1,
        "rejected": 1,
        "new_items": 1,
        "repeats": 1,
        "errors": [
            {"index": 2, "field": "confidence", "message": "must be a number from 0 to 1, got 2"}
        ],
    }
    listed = client.get(
        f"/api/projects/{world.project.id}/service-tokens", headers=world.admin_headers
    ).json()
    assert [t["name"] for t in listed] == ["prod bot"] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None


def test_a_service_token_opens_nothing_else(client, world):
    token = _service_token(client, world, ["ingest", "feedback", "predict"])
    headers = {"Authorization": f"Bearer {token['token']}"}
    pid = world.project.id
    for method, path in [
        ("get", f"/api/projects/{pid}"),
        ("get", f"/api/projects/{pid}/items"),
        ("get", f"/api/projects/{pid}/export?format=jsonl"),
        ("post", f"/api/projects/{pid}/queue/next"),
        ("get", f"/api/projects/{pid}/service-tokens"),
        ("post", f"/api/projects/{pid}/jobs/retrain"),
        ("get", "/api/projects"),
        ("get", "/api/me"),
        ("get", f"/api/projects/{pid}/dashboard"),
    ]:
        response = getattr(client, method)(path, headers=headers)
        error = assert_error(response, 403, "permission_denied")
        assert "service token may only" in error["message"], path


def test_scopes_projects_and_revocation_are_enforced(client, world, factory):
    pid = world.project.id
    predict_only = _service_token(client, world, ["predict"])
    batch = {"messages": [{"text": "hello"}]}
    response = client.post(
        f"/api/projects/{pid}/traffic",
        json=batch,
        headers={"Authorization": f"Bearer {predict_only['token']}"},
    )
    assert "not ingest" in assert_error(response, 403, "permission_denied")["message"]
    other = factory.project(world.admin, name="other")
    ingest = _service_token(client, world, ["ingest"])
    bearer = {"Authorization": f"Bearer {ingest['token']}"}
    assert_error(
        client.post(f"/api/projects/{other.id}/traffic", json=batch, headers=bearer),
        403,
        "permission_denied",
    )
    revoked = client.delete(
        f"/api/projects/{pid}/service-tokens/{ingest['id']}", headers=world.admin_headers
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_error(
        client.post(f"/api/projects/{pid}/traffic", json=batch, headers=bearer),
        401,
        "authentication_failed",
    )


def test_people_need_the_admin_role_to_ingest_and_to_manage_tokens(client, world):
    pid = world.project.id
    batch = {"messages": [{"text": "hello"}]}
    assert_error(
        client.post(f"/api/projects/{pid}/traffic", json=batch, headers=world.annotator_headers),
        403,
        "permission_denied",
    )
    assert_error(
        client.post(
            f"/api/projects/{pid}/service-tokens",
            json={"name": "x", "scopes": ["ingest"]},
            headers=world.annotator_headers,
        ),
        403,
        "permission_denied",
    )
    assert_error(
        client.post(f"/api/projects/{pid}/traffic", json=batch, headers=world.outsider_headers),
        404,
        "not_found",
    )
    ok = client.post(f"/api/projects/{pid}/traffic", json=batch, headers=world.admin_headers)
    assert ok.status_code == 200 and ok.json()["new_items"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": []},
        {"messages": "hello"},
        {"messages": [{"text": "x"}], "extra": 1},
        {"messages": [{"text": "x"}] * 10_001},
    ],
)
def test_a_malformed_batch_is_a_422(client, world, body):
    response = client.post(
        f"/api/projects/{world.project.id}/traffic", json=body, headers=world.admin_headers
    )
    assert_error(response, 422, "request_validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "scopes": ["ingest"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
    ],
)
def test_a_malformed_token_request_is_a_422(client, world, body):
    response = client.post(
        f"/api/projects/{world.project.id}/service-tokens", json=body, headers=world.admin_headers
    )
    assert_error(response, 422, "request_validation_error")


def test_members_read_the_traffic_summary_and_bots_do_not(client, world):
    pid = world.project.id
    client.post(
        f"/api/projects/{pid}/traffic",
        json={"messages": [{"text": "hello", "confidence": 0.8}, {"text": "hello"}]},
        headers=world.admin_headers,
    )
    response = client.get(f"/api/projects/{pid}/traffic/summary", headers=world.annotator_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["messages"], body["texts"], body["coverage"]) == (2, 1, 1.0)
    assert body["most_asked"][0]["text"] == "hello" and body["most_asked"][0]["count"] == 2
    # Nothing audited is labeled yet: the live estimate says so rather than guessing.
    assert body["live"] == {
        "audited_texts": 0,
        "audited_messages": 0,
        "accuracy": None,
        "ci95": None,
        "effective_n": 0.0,
        "most_confused": [],
    }
    bot = _service_token(client, world, ["ingest"])
    response = client.get(
        f"/api/projects/{pid}/traffic/summary",
        headers={"Authorization": f"Bearer {bot['token']}"},
    )
    assert_error(response, 403, "permission_denied")
