"""Offline API docs, the recent list after a reload, "why this item", the flag review and
the phone layout, in headless Chromium (never ``playwright install``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from labelwise.service import queue
from labelwise.store import Project
from tests.server.ui.helpers import simulated_run
from tests.server.ui.test_browser import LABELS, log_in, open_project

pytestmark = pytest.mark.browser


def _outside(page: Any, live_url: str) -> list[str]:
    """Every request the page makes to another origin, refused (there is no internet)."""
    own = urlsplit(live_url).netloc
    outside: list[str] = []

    def route(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return outside


def _problems(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    return problems


def test_swagger_ui_and_redoc_render_without_the_internet(new_page, live):
    from playwright.sync_api import expect

    page = new_page()
    outside = _outside(page, live.url)
    problems = _problems(page)
    assert page.goto(live.url + "/docs").status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("labelwise", timeout=20000)
    expect(page.locator(".opblock-tag", has_text="flags")).to_be_visible()
    assert page.goto(live.url + "/redoc").status == 200
    expect(page.locator("h1", has_text="labelwise")).to_be_visible(timeout=20000)
    expect(page.get_by_text("Resolve Flag").first).to_be_attached()
    assert outside == []
    # Only ReDoc's "powered by" logo (an image on its CDN) is refused, and it is decoration;
    # no script, style or font the viewers need comes from elsewhere.
    refused = [p for p in problems if "Content Security Policy" in p]
    assert all("Loading the image" in p and "logo" in p for p in refused), refused


def test_after_a_reload_recent_decisions_show_their_text_and_edit_marks_the_label(
    new_page, live, factory, world
):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="reload", labels=LABELS[:12])
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(6)])
    page = new_page()
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    first = page.locator("#item-text").text_content()
    page.keyboard.press("3")
    expect(page.locator("#count-label")).to_have_text("1")
    page.reload()
    expect(page.locator("#item-text")).not_to_have_text("Loading…")
    row = page.locator("#recent li").first
    expect(row.locator(".text")).to_have_text(first)  # was "item #N" after a reload
    expect(row.locator(".what")).to_have_text(LABELS[2])
    row.locator(".edit").click()
    expect(page.locator("#item-text")).to_have_text(first)
    expect(page.locator("#editing")).to_contain_text(f"Currently: {LABELS[2]}")
    current = page.locator(f'#labels .label[data-label="{LABELS[2]}"]')
    expect(current).to_have_attribute("aria-pressed", "true")
    assert page.locator('#labels .label[aria-pressed="true"]').count() == 1


def test_why_this_item_is_said_in_words(new_page, live, factory, world, session_factory, settings):
    from playwright.sync_api import expect

    project_id = simulated_run(factory, world, session_factory, settings, audit=0.0)
    with session_factory() as session:  # items left for the page: the run labels all 12
        project = session.get_one(Project, project_id)
        factory.items(project, [{"text": f"hello number {i}"} for i in range(8)])
    page = new_page()
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project_id)
    why = page.locator("#why")
    expect(why).to_contain_text("Why this item: ")
    text = why.text_content() or ""
    assert "Sampling(" not in text and "score" not in text
    assert "torn between" in text or "at random" in text


def test_phone_keeps_the_actions_on_screen_and_hides_key_hints(new_page, live, factory, world):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="phone-actions", labels=LABELS[:40])
    factory.items(project, [{"text": "set an alarm for seven tomorrow morning " * 6}])
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    for button in ("#skip", "#undo", "#flag"):
        box = page.locator(button).bounding_box()
        assert box is not None
        assert 0 <= box["y"] and box["y"] + box["height"] <= 844, button  # no scrolling
        assert box["x"] + box["width"] <= 390
    expect(page.locator(".choice").first).to_be_in_viewport()
    expect(page.locator(".keys")).to_be_hidden()
    expect(page.locator("#skip kbd")).to_be_hidden()
    page.mouse.wheel(0, 2000)  # the bar stays at the bottom of the screen
    box = page.locator("#skip").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844


def test_desktop_keeps_the_key_hints(new_page, live, factory, world):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="desk", labels=LABELS[:5])
    factory.items(project, [{"text": "hello"}])
    page = new_page(viewport={"width": 1280, "height": 800})
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    expect(page.locator(".keys")).to_be_visible()
    expect(page.locator("#skip kbd")).to_be_visible()


def test_phone_dashboard_tables_scroll_sideways_with_a_visible_scrollbar(
    new_page, live, factory, world, session_factory, settings
):
    project_id = simulated_run(factory, world, session_factory, settings, audit=0.5)
    # A narrow window here; the phone emulation below checks the edge shadows.
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, live.url, world.admin.username)
    assert page.goto(f"{live.url}/ui/projects/{project_id}/dashboard").status == 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    wrappers = page.locator(".scroll:has(table)")
    assert wrappers.count() >= 2
    wide = 0
    for i in range(wrappers.count()):
        wrapper = wrappers.nth(i)
        box = wrapper.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        state = wrapper.evaluate(
            "el => ({sw: el.scrollWidth, cw: el.clientWidth, ox: getComputedStyle(el).overflowX,"
            " bar: getComputedStyle(el, '::-webkit-scrollbar').height})"
        )
        assert state["ox"] == "auto"
        if state["sw"] > state["cw"]:
            wide += 1
            # A styled (classic, never overlay) scrollbar; headless Chromium draws none
            # at all, so its style is what can be checked here.
            assert state["bar"] == "8px"
            wrapper.evaluate("el => { el.scrollLeft = 60; }")
            assert wrapper.evaluate("el => el.scrollLeft") > 0
    assert wide >= 1  # at 390 px some table is wider than its panel, and scrolls
    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(phone, live.url, world.admin.username)
    phone.goto(f"{live.url}/ui/projects/{project_id}/dashboard")
    shadow = phone.locator(".scroll:has(table)").first.evaluate(
        "el => getComputedStyle(el).backgroundImage"
    )
    assert shadow.count("gradient") == 4  # two covers that scroll away, two edge shadows
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_admin_resolves_a_flag_on_the_review_page(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="review", labels=LABELS[:4])
    factory.member(project, world.annotator)
    factory.items(project, [{"text": "what is the weather on mars"}, {"text": "hello"}])
    with session_factory() as session:
        served = queue.lease_next(session, project_id=project.id, annotator=world.annotator)
        assert served is not None
        queue.flag_item(
            session,
            project_id=project.id,
            annotator=world.annotator,
            item_id=served.item_id,
            comment="out of scope: not a banking question",
        )
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, live.url, world.admin.username)
    page.goto(f"{live.url}/ui/projects/{project.id}/manage")
    page.locator(".project-nav a", has_text="Flags").click()
    flag = page.locator(".flag").first
    expect(flag.locator(".comment")).to_have_text("out of scope: not a banking question")
    expect(flag.locator(".item-text")).to_have_text(served.text)
    flag.locator("select[name=label]").select_option(LABELS[1])
    flag.get_by_role("button", name="Label it").click()
    expect(page.locator(".notice")).to_have_text("Labeled.")
    expect(page.locator("#no-flags")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
