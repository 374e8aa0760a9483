"""The feedback routes: bot reports (scope feedback), member triage, funnel, never a 500."""

from __future__ import annotations

import pytest

from tests.server.conftest import assert_error


def _bearer(client, world, scopes):
    response = client.post(
        f"/api/projects/{world.project.id}/service-tokens",
        json={"name": "prod bot", "scopes": scopes},
        headers=world.admin_headers,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def ingested(client, world):
    response = client.post(
        f"/api/projects/{world.project.id}/traffic",
        json={
            "messages": [
                {"text": "hi there", "external_id": "m-1", "prediction": "bye"},
                {"text": "see you", "external_id": "m-2", "prediction": "greet"},
            ]
        },
        headers=world.admin_headers,
    )
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("ingested")
def test_a_bot_reports_and_members_triage(client, world):
    pid = world.project.id
    bot = _bearer(client, world, ["feedback"])
    response = client.post(
        f"/api/projects/{pid}/feedback",
        json={
            "reports": [
                {"external_id": "m-1", "meant_label": "greet", "comment": "I said hi"},
                {"external_id": "nope"},
                {"text": "see ya", "channel": "web", "meant_label": "nonsense"},
                {"text": "see ya", "channel": "web", "prediction": "greet"},
            ]
        },
        headers=bot,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 2)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "external_id"),
        (2, "meant_label"),
    ]
    first, second = body["ids"]
    assert body["duplicates"] == 0

    listed = client.get(f"/api/projects/{pid}/feedback", headers=world.annotator_headers)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2 and {r["id"] for r in page["reports"]} == {first, second}
    report = next(r for r in page["reports"] if r["id"] == first)
    assert (report["external_id"], report["predicted"], report["meant_label"]) == (
        "m-1",
        "bye",
        "greet",
    )
    assert report["status"] == "open" and report["p_true"] is not None

    confirmed = client.post(
        f"/api/projects/{pid}/feedback/{first}/confirm",
        json={"label": "greet"},
        headers=world.annotator_headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed_label"] == "greet"
    assert confirmed.json()["reviewer"] == world.annotator.username
    again = client.post(
        f"/api/projects/{pid}/feedback/{first}/reject", headers=world.annotator_headers
    )
    assert_error(again, 409, "conflict")
    rejected = client.post(
        f"/api/projects/{pid}/feedback/{second}/reject", headers=world.admin_headers
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    funnel = client.get(f"/api/projects/{pid}/feedback/funnel", headers=world.annotator_headers)
    assert funnel.status_code == 200, funnel.text
    counts = funnel.json()
    assert (counts["reported"], counts["confirmed"], counts["rejected"], counts["fixed"]) == (
        2,
        1,
        1,
        0,
    )
    assert {c["channel"] for c in counts["channels"]} == {"", "web"}
    done = client.get(
        f"/api/projects/{pid}/feedback?status=confirmed&limit=1", headers=world.admin_headers
    )
    assert [r["id"] for r in done.json()["reports"]] == [first]


@pytest.mark.usefixtures("ingested")
def test_a_resent_report_with_a_key_is_a_duplicate(client, world):
    pid = world.project.id
    bot = _bearer(client, world, ["feedback"])
    batch = {"reports": [{"external_id": "m-1", "report_key": "k-9"}]}
    first = client.post(f"/api/projects/{pid}/feedback", json=batch, headers=bot).json()
    again = client.post(f"/api/projects/{pid}/feedback", json=batch, headers=bot).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert again["ids"] == first["ids"]
    listed = client.get(f"/api/projects/{pid}/feedback", headers=world.annotator_headers)
    assert listed.json()["total"] == 1


def test_scopes_decide_who_reports_and_who_reads(client, world):
    pid = world.project.id
    report = {"reports": [{"external_id": "m-1"}]}
    ingest_only = _bearer(client, world, ["ingest"])
    error = assert_error(
        client.post(f"/api/projects/{pid}/feedback", json=report, headers=ingest_only),
        403,
        "permission_denied",
    )
    assert "feedback" in error["message"]
    bot = _bearer(client, world, ["feedback"])
    assert client.post(f"/api/projects/{pid}/feedback", json=report, headers=bot).status_code == 200
    for method, path in [
        ("get", f"/api/projects/{pid}/feedback"),
        ("get", f"/api/projects/{pid}/feedback/funnel"),
        ("post", f"/api/projects/{pid}/feedback/1/reject"),
    ]:
        assert_error(getattr(client, method)(path, headers=bot), 403, "permission_denied")
    # People: members report and triage, outsiders see nothing.
    member = client.post(
        f"/api/projects/{pid}/feedback", json=report, headers=world.annotator_headers
    )
    assert member.status_code == 200
    assert_error(
        client.get(f"/api/projects/{pid}/feedback", headers=world.outsider_headers),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reports"),
        ({"reports": []}, "reports"),
        ({"reports": "hello"}, "reports"),
        ({"reports": [{"text": "x"}], "extra": 1}, "extra"),
        ({"reports": [{"text": "x"}] * 1001}, "reports"),
    ],
)
def test_a_malformed_batch_is_a_422_naming_the_field(client, world, body, field):
    response = client.post(
        f"/api/projects/{world.project.id}/feedback", json=body, headers=world.admin_headers
    )
    error = assert_error(response, 422, "request_validation_error")
    assert field in response.text, error


@pytest.mark.usefixtures("ingested")
@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "label"), ({"label": 5}, "label"), ({"label": "x", "more": 1}, "more")],
)
def test_a_malformed_confirm_is_a_422(client, world, body, field):
    pid = world.project.id
    [rid] = client.post(
        f"/api/projects/{pid}/feedback",
        json={"reports": [{"external_id": "m-2"}]},
        headers=world.admin_headers,
    ).json()["ids"]
    response = client.post(
        f"/api/projects/{pid}/feedback/{rid}/confirm", json=body, headers=world.admin_headers
    )
    assert_error(response, 422, "request_validation_error")
    assert field in response.text
    unknown = client.post(
        f"/api/projects/{pid}/feedback/{rid}/confirm",
        json={"label": "not a label"},
        headers=world.admin_headers,
    )
    assert unknown.status_code == 422 and "not a label" in unknown.text
    missing = client.post(
        f"/api/projects/{pid}/feedback/999999/reject", headers=world.admin_headers
    )
    assert_error(missing, 404, "not_found")
    for bad in ("0", "abc", str(2**40)):
        assert (
            client.post(
                f"/api/projects/{pid}/feedback/{bad}/reject", headers=world.admin_headers
            ).status_code
            == 422
        )
    assert (
        client.get(
            f"/api/projects/{pid}/feedback?status=maybe", headers=world.admin_headers
        ).status_code
        == 422
    )


@pytest.mark.usefixtures("ingested")
def test_nul_characters_are_refused_by_field_and_nothing_of_them_is_stored(client, world):
    pid = world.project.id
    nul = "bad\x00value"
    response = client.post(
        f"/api/projects/{pid}/feedback",
        json={
            "reports": [
                {"text": nul},
                {"text": "ok", "comment": nul},
                {"text": "ok", "channel": nul},
                {"text": "ok", "meant_label": nul},
                {"external_id": nul},
                {"text": "ok", "prediction": nul},
            ]
        },
        headers=world.admin_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 0
    assert [e["field"] for e in body["errors"]] == [
        "text",
        "comment",
        "channel",
        "meant_label",
        "external_id",
        "prediction",
    ]
    [rid] = client.post(
        f"/api/projects/{pid}/feedback",
        json={"reports": [{"external_id": "m-1"}]},
        headers=world.admin_headers,
    ).json()["ids"]
    confirm = client.post(
        f"/api/projects/{pid}/feedback/{rid}/confirm",
        json={"label": nul},
        headers=world.admin_headers,
    )
    assert_error(confirm, 422, "request_validation_error")
