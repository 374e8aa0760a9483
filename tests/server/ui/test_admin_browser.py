"""The dashboard and admin pages in headless Chromium: layout at desktop and phone
widths, nothing blocked by the CSP, forms that work, and annotators refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.ui.helpers import helping_run, simulated_run
from tests.server.ui.test_browser import log_in

pytestmark = pytest.mark.browser


def _watch(page: Any) -> list[str]:
    """Script errors and CSP violations the page reports (both must stay empty)."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type in {"error", "warning"} else None,
    )
    return problems


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_dashboard_is_usable_at_desktop_and_phone_widths(
    new_page, live, factory, world, session_factory, settings, width, height
):
    from playwright.sync_api import expect

    project_id = simulated_run(factory, world, session_factory, settings, audit=0.5)
    page = new_page(viewport={"width": width, "height": height})
    problems = _watch(page)
    log_in(page, live.url, world.admin.username)
    response = page.goto(f"{live.url}/ui/projects/{project_id}/dashboard")
    assert response.status == 200
    expect(page.locator("#stat-labeled")).to_contain_text("12")
    expect(page.locator("svg.chart.curve")).to_be_visible()
    expect(page.locator("svg.histogram").first).to_be_visible()
    # The stylesheet applied (a blocked one would leave the bars unpainted, 150 px tall).
    assert page.locator("svg.bar").first.bounding_box()["height"] < 30
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width < 600:  # panels stack: the stopping signals sit below the learning curve
        curve = page.locator("#h-curve").bounding_box()
        signals = page.locator("#h-stopping").bounding_box()
        assert signals["y"] > curve["y"] + curve["height"]
    assert problems == []


def test_the_dashboard_says_whether_active_learning_is_helping(
    new_page, live, world, session_factory, settings
):
    from playwright.sync_api import expect

    project_id = helping_run(world, session_factory, settings, skipped=15)
    page = new_page(viewport={"width": 1280, "height": 800})
    problems = _watch(page)
    log_in(page, live.url, world.admin.username)
    assert page.goto(f"{live.url}/ui/projects/{project_id}/dashboard").status == 200
    expect(page.locator("#h-helping")).to_have_text("Is active learning helping?")
    expect(page.locator("#labels-saved")).to_contain_text("Random sampling would need about")
    expect(page.locator("#labels-saved")).to_contain_text("active learning used 6")
    expect(page.locator("#stat-audit-labels")).to_have_text("50")
    expect(page.locator("#helping-warnings")).to_contain_text(
        "Active learning may be chasing unlabelable or out-of-scope items"
    )
    # Right below the learning curve.
    curve = page.locator("#h-curve").bounding_box()
    helping = page.locator("#h-helping").bounding_box()
    assert helping["y"] > curve["y"]
    assert page.locator("#h-stopping").bounding_box()["y"] > helping["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert problems == []


def test_admin_saves_settings_and_adds_a_member(new_page, live, world):
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 390, "height": 844})
    problems = _watch(page)
    log_in(page, live.url, world.admin.username)
    page.goto(f"{live.url}/ui/projects/{world.project.id}/manage")
    page.select_option("select[name=strategy]", "entropy")
    page.fill("input[name=retrain_every]", "7")
    page.click("text=Save settings")
    expect(page.locator(".notice")).to_have_text("Settings saved.")
    expect(page.locator("input[name=retrain_every]")).to_have_value("7")
    page.fill("input[name=username]", world.outsider.username)
    page.click("text=Add or change")
    expect(page.locator("table").first).to_contain_text(world.outsider.username)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []


def test_annotator_is_refused_the_admin_pages(new_page, live, world):
    page = new_page()
    log_in(page, live.url, world.annotator.username)
    for path in (
        f"/ui/projects/{world.project.id}/dashboard",
        f"/ui/projects/{world.project.id}/manage",
        "/ui/admin/users",
    ):
        response = page.goto(live.url + path)
        assert response.status == 403, path
        assert "Not allowed" in page.locator("h1").text_content()
