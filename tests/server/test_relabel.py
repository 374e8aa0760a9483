"""GET /api/projects/{id}/relabel: open suspects for admins; reviews go through ``next``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import queue
from labelwise.service.transactions import begin_write
from labelwise.store import Item, RelabelSuspect
from tests.server.conftest import assert_error
from tests.server.ui.helpers import ui_login


@pytest.fixture
def suspect(world, factory, session_factory):
    """Two items the admin labeled; one of them suspected (given "bye", suggested "greet")."""
    factory.items(world.project, [{"text": "hello there"}, {"text": "see you"}])
    with session_factory() as session:
        items = session.scalars(select(Item).order_by(Item.position)).all()
        session.commit()
        labeled = [
            queue.submit_annotation(
                session,
                project_id=world.project.id,
                annotator=world.admin,
                item_id=item.id,
                value=value,
            )
            for item, value in zip(items, ["bye", "bye"], strict=True)
        ]
        begin_write(session)
        session.add(
            RelabelSuspect(
                project_id=world.project.id,
                item_id=items[0].id,
                annotation_id=labeled[0].id,
                annotator_id=world.admin.id,
                given_label="bye",
                suggested_label="greet",
                score=0.93,
                rank=0,
                status="open",
            )
        )
        session.commit()
        return items[0].id


def test_admins_list_open_suspects_ranked(client, world, suspect):
    response = client.get(f"/api/projects/{world.project.id}/relabel", headers=world.admin_headers)
    assert response.status_code == 200, response.text
    (row,) = response.json()
    assert row["item_id"] == suspect and row["text"] == "hello there"
    assert (row["given_label"], row["suggested_label"], row["rank"]) == ("bye", "greet", 0)
    assert row["annotator"] == "root" and row["score"] == pytest.approx(0.93)


@pytest.mark.usefixtures("suspect")
def test_annotators_outsiders_and_service_tokens_are_refused(client, world):
    path = f"/api/projects/{world.project.id}/relabel"
    assert_error(client.get(path, headers=world.annotator_headers), 403, "permission_denied")
    assert client.get(path, headers=world.outsider_headers).status_code in (403, 404)
    token = client.post(
        f"/api/projects/{world.project.id}/service-tokens",
        json={"name": "bot", "scopes": ["ingest", "feedback", "predict"]},
        headers=world.admin_headers,
    ).json()["token"]
    error = assert_error(
        client.get(path, headers={"Authorization": f"Bearer {token}"}), 403, "permission_denied"
    )
    assert "service token may only" in error["message"]
    assert_error(
        client.get(path + "?limit=0", headers=world.admin_headers), 422, "request_validation_error"
    )


def test_another_annotator_is_served_the_suspect_with_its_reason_and_resolves_it(
    client, world, suspect
):
    pid = world.project.id
    served = client.post(f"/api/projects/{pid}/queue/next", headers=world.annotator_headers)
    assert served.status_code == 200, served.text
    body = served.json()
    assert body["item_id"] == suspect
    assert body["reason"]["source"] == "relabel"
    assert "“bye”" in body["reason"]["explanation"] and "“greet”" in body["reason"]["explanation"]
    # The admin gave the label: never served it back for review.
    mine = client.post(f"/api/projects/{pid}/queue/next", headers=world.admin_headers)
    assert mine.status_code in (200, 204)
    assert mine.status_code == 204 or mine.json()["reason"]["source"] != "relabel"
    dashboard = client.get(f"/api/projects/{pid}/dashboard", headers=world.admin_headers).json()
    assert dashboard["relabel"] == {"open": 1, "kept": 0, "changed": 0, "annotators": []}


def test_a_review_through_the_api_shows_as_an_error_rate_on_the_dashboard(client, world, suspect):
    pid = world.project.id
    served = client.post(f"/api/projects/{pid}/queue/next", headers=world.annotator_headers)
    assert served.json()["reason"]["source"] == "relabel"
    response = client.post(
        f"/api/projects/{pid}/annotations",
        json={"item_id": suspect, "value": "greet"},
        headers=world.annotator_headers,
    )
    assert response.status_code == 201, response.text
    listed = client.get(f"/api/projects/{pid}/relabel", headers=world.admin_headers).json()
    assert listed == []
    relabel = client.get(f"/api/projects/{pid}/dashboard", headers=world.admin_headers).json()[
        "relabel"
    ]
    assert relabel["changed"] == 1 and relabel["open"] == 0
    (rate,) = relabel["annotators"]
    assert (rate["username"], rate["reviewed"], rate["changed"], rate["rate"]) == (
        "root",
        1,
        1,
        1.0,
    )
    ui_login(client, world.admin.username)
    page = client.get(f"/ui/projects/{pid}/dashboard")
    assert page.status_code == 200
    assert "Relabel queue" in page.text and "error-rates" in page.text
    # The changed label is what the export now carries for the item.
    export = client.get(f"/api/projects/{pid}/export?format=jsonl", headers=world.admin_headers)
    assert export.status_code == 200, export.text
    rows = [line for line in export.text.splitlines() if "hello there" in line]
    assert rows and '"greet"' in rows[0] and '"bye"' not in rows[0]
