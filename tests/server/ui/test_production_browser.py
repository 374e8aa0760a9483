"""Production work in headless Chromium: a reviewer triages five user reports (confirm
with the right label, or reject), and an admin creates an intent from a cluster."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from labelwise.service import feedback, traffic
from labelwise.store import Annotation, FeedbackReport, FeedbackStatus, Item, Project
from tests.server.cluster_factory import make_cluster
from tests.server.ui.test_admin_browser import _watch
from tests.server.ui.test_browser import log_in

pytestmark = pytest.mark.browser

REPORTS = [
    # (text, what production answered, what the user meant, the right decision)
    ("good morning to you", "bye", "greet", ("confirm", "greet")),
    ("catch you later", "greet", "bye", ("confirm", "bye")),
    ("hello hello", "greet", None, ("reject", None)),
    ("farewell friend", "greet", None, ("confirm", "bye")),
    ("hey there", "greet", "bye", ("reject", None)),
]


def _report_all(session_factory: Any, project_id: int) -> None:
    with session_factory() as session:
        traffic.ingest_traffic(
            session,
            project_id=project_id,
            messages=[
                {"text": text, "external_id": f"m{i}", "prediction": predicted}
                for i, (text, predicted, _, _) in enumerate(REPORTS)
            ],
        )
        receipt = feedback.report_feedback(
            session,
            project_id=project_id,
            reports=[
                {"external_id": f"m{i}", "channel": "web", "comment": "not what I meant"}
                | ({"meant_label": meant} if meant else {})
                for i, (_, _, meant, _) in enumerate(REPORTS)
            ],
        )
        assert receipt.rejected == 0, receipt


def test_a_reviewer_triages_five_reports(new_page, live, world, session_factory):
    from playwright.sync_api import expect

    _report_all(session_factory, world.project.id)
    page = new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    log_in(page, live.url, world.annotator.username)
    page.goto(f"{live.url}/ui/projects/{world.project.id}/feedback")
    expect(page.locator("[data-report-id]")).to_have_count(5)
    for text, _, meant, (action, label) in REPORTS:
        row = page.locator("[data-report-id]", has_text=text)
        field = row.locator("input[name=label]")
        # "What I meant" is offered; the reviewer keeps it, types another, or rejects.
        expect(field).to_have_value(meant or "")
        if action == "confirm":
            if label != meant:
                field.fill(label)
            row.locator(".confirm").click()
        else:
            row.locator(".reject").click()
        expect(page.locator("[data-report-id]", has_text=text)).to_have_count(0)
    expect(page.locator("#no-reports")).to_be_visible()
    expect(page.locator("#feedback-funnel")).to_contain_text("5 reported")
    expect(page.locator("#feedback-funnel")).to_contain_text("3 confirmed")
    expect(page.locator("#feedback-funnel")).to_contain_text("2 rejected")
    assert problems == []

    with session_factory() as session:
        decided = {
            text: (status, confirmed)
            for text, status, confirmed in session.execute(
                select(Item.text, FeedbackReport.status, FeedbackReport.confirmed_label).join(
                    Item, Item.id == FeedbackReport.item_id
                )
            )
        }
        labels = sorted(
            session.scalars(select(Annotation.value).where(Annotation.undone_at.is_(None)))
        )
    assert decided == {
        text: (
            FeedbackStatus.CONFIRMED if action == "confirm" else FeedbackStatus.REJECTED,
            label,
        )
        for text, _, _, (action, label) in REPORTS
    }
    # A confirmation is a human label; a rejection labels nothing.
    assert labels == ["bye", "bye", "greet"]


def test_an_admin_creates_an_intent_from_a_cluster(new_page, live, world, session_factory):
    from playwright.sync_api import expect

    texts = ["what's the weather", "will it rain today", "is it sunny outside", "weather now"]
    with session_factory() as session:
        traffic.ingest_traffic(
            session, project_id=world.project.id, messages=[{"text": t} for t in texts]
        )
    cluster_id, members = make_cluster(session_factory, world.project, texts, "weather_rain")
    page = new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    log_in(page, live.url, world.admin.username)
    page.goto(f"{live.url}/ui/projects/{world.project.id}/clusters")
    cluster = page.locator(f"[data-cluster-id='{cluster_id}']")
    expect(cluster.locator("input[name=name]")).to_have_value("weather_rain")
    cluster.locator("input[name=name]").fill("weather")
    # One member is not about the weather's future: untick it before confirming.
    cluster.locator("label", has_text="weather now").locator("input").uncheck()
    cluster.locator(".create-intent").click()
    expect(page.locator(f"[data-cluster-id='{cluster_id}']")).to_have_count(0)
    expect(page.locator("#no-clusters")).to_be_visible()
    assert problems == []

    with session_factory() as session:
        project = session.get_one(Project, world.project.id)
        rows = session.execute(
            select(Annotation.item_id, Annotation.value).where(
                Annotation.project_id == project.id, Annotation.undone_at.is_(None)
            )
        ).all()
    labeled = {row[0]: row[1] for row in rows}
    assert "weather" in project.labels
    assert labeled == dict.fromkeys(members[:3], "weather")
