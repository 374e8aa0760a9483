"""The stream budget over HTTP: settings, the served reason, the dashboard field."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from labelwise.service import stream_budget, traffic_groups
from tests.server.conftest import assert_error
from tests.server.ui.helpers import ui_login


def _embed(texts):
    # One axis per distinct text: nothing is a near-copy of anything else.
    out = np.zeros((len(texts), len(texts) + 1))
    out[np.arange(len(texts)), np.arange(len(texts))] = 1.0
    return out


def test_admitted_traffic_is_served_with_reason_stream_and_shown_on_the_dashboard(
    client, world, session_factory
):
    pid = world.project.id
    response = client.patch(
        f"/api/projects/{pid}/settings",
        json={"label_budget": 2, "budget_period": "week", "audit_fraction": 0},
        headers=world.admin_headers,
    )
    assert response.status_code == 200, response.text
    texts = [f"production question number {k}" for k in range(6)]
    response = client.post(
        f"/api/projects/{pid}/traffic",
        json={"messages": [{"text": t} for t in texts]},
        headers=world.admin_headers,
    )
    assert response.status_code == 200, response.text
    now = datetime.now(UTC)
    with session_factory() as session:
        traffic_groups.run_grouping(session, project_id=pid, embed=_embed, threshold=0.9)
        session.commit()
        stream_budget.score_and_admit(session, project_id=pid, embed=_embed, now=now)

    served = client.post(f"/api/projects/{pid}/queue/next", headers=world.annotator_headers)
    assert served.status_code == 200, served.text
    body = served.json()
    assert body["text"] in texts
    assert body["reason"]["source"] == "stream"

    dash = client.get(f"/api/projects/{pid}/dashboard", headers=world.admin_headers)
    assert dash.status_code == 200, dash.text
    panel = dash.json()["stream_budget"]
    assert panel["budget"] == 2 and panel["period"] == "week"
    assert 1 <= panel["admitted"] <= 2
    assert panel["threshold"] is not None

    ui_login(client, world.admin.username)
    html = client.get(f"/ui/projects/{pid}/dashboard").text
    assert "Stream budget" in html
    assert f"{panel['admitted']} / 2" in html


def test_no_budget_means_no_panel(client, world):
    dash = client.get(f"/api/projects/{world.project.id}/dashboard", headers=world.admin_headers)
    assert dash.status_code == 200
    assert dash.json()["stream_budget"] is None
    ui_login(client, world.admin.username)
    assert "Stream budget" not in client.get(f"/ui/projects/{world.project.id}/dashboard").text


@pytest.mark.parametrize(
    "body", [{"label_budget": -1}, {"budget_period": "month"}, {"stream_share": 2}]
)
def test_bad_budget_settings_are_a_422(client, world, body):
    response = client.patch(
        f"/api/projects/{world.project.id}/settings", json=body, headers=world.admin_headers
    )
    error = assert_error(response, 422, "validation_error")
    assert next(iter(body)) in error["message"]
