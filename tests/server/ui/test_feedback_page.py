"""The feedback triage page: members see ranked reports, confirm or reject, CSRF checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import feedback
from labelwise.store import FeedbackReport, FeedbackStatus
from tests.server.ui.helpers import XSS_TEXT, ui_login


@pytest.fixture
def reports(world, session_factory):
    with session_factory() as session:
        receipt = feedback.report_feedback(
            session,
            project_id=world.project.id,
            reports=[
                {"text": XSS_TEXT, "prediction": "bye", "meant_label": "greet", "channel": "app"},
                {"text": "see you later", "prediction": "greet", "comment": "wrong!"},
            ],
        )
    return receipt.ids


def _page(client, world, query=""):
    return client.get(f"/ui/projects/{world.project.id}/feedback{query}")


def test_members_see_the_reports_with_stable_hooks(client, world, reports):
    ui_login(client, world.annotator.username)
    response = _page(client, world)
    assert response.status_code == 200
    html = response.text
    for rid in reports:
        assert f'data-report-id="{rid}"' in html
    assert XSS_TEXT not in html and "see you later" in html and "wrong!" in html
    assert html.count('class="primary confirm"') == 2 and html.count('class="reject"') == 2
    assert 'name="label"' in html and 'value="greet"' in html  # "what I meant" prefilled
    assert f'href="/ui/projects/{world.project.id}/feedback"' in html  # in the project nav


def test_confirm_and_reject_from_the_page(client, world, reports, session_factory):
    csrf = ui_login(client, world.annotator.username)
    url = f"/ui/projects/{world.project.id}/feedback"
    refused = client.post(f"{url}/{reports[0]}", data={"action": "confirm", "label": "greet"})
    assert refused.status_code in (400, 403, 422)
    bad = client.post(
        f"{url}/{reports[0]}", data={"action": "confirm", "label": "nope", "csrf_token": csrf}
    )
    assert bad.status_code == 422 and "nope" in bad.text
    done = client.post(
        f"{url}/{reports[0]}",
        data={"action": "confirm", "label": "greet", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    client.post(f"{url}/{reports[1]}", data={"action": "reject", "csrf_token": csrf})
    with session_factory() as session:
        statuses = session.scalars(select(FeedbackReport.status).order_by(FeedbackReport.id)).all()
    assert statuses == [FeedbackStatus.CONFIRMED, FeedbackStatus.REJECTED]
    again = client.post(f"{url}/{reports[1]}", data={"action": "reject", "csrf_token": csrf})
    assert again.status_code == 409
    reviewed = _page(client, world, "?show=reviewed").text
    assert "Confirmed as “greet”" in reviewed and "Rejected" in reviewed
    assert _page(client, world).text.count("data-report-id") == 0


@pytest.mark.usefixtures("reports")
def test_outsiders_get_403_and_the_dashboard_shows_the_funnel(client, world):
    ui_login(client, world.outsider.username)
    assert _page(client, world).status_code == 403
    ui_login(client, world.admin.username)
    dashboard = client.get(f"/ui/projects/{world.project.id}/dashboard")
    assert dashboard.status_code == 200
    assert 'id="feedback-funnel"' in dashboard.text and "User feedback" in dashboard.text
