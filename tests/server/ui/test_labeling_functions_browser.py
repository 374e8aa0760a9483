"""The labeling functions page in headless Chromium: write a keyword function, watch its
numbers follow a new human label, and accept a suggested function."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import projects, queue
from labelwise.store import Item
from tests.server.ui.test_admin_browser import _watch
from tests.server.ui.test_browser import log_in

pytestmark = pytest.mark.browser


def test_create_a_keyword_function_see_it_follow_labels_and_accept_a_suggestion(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    factory.items(
        world.project,
        [
            {"text": "hello there"},
            {"text": "hello again"},
            {"text": "bye now", "label": "bye"},
            {"text": "bye for now", "label": "bye"},
            {"text": "bye then", "label": "bye"},
            {"text": "what is this"},
        ],
    )
    with session_factory() as session:
        # Keyword functions only: with sentence features the page would also suggest
        # similarity functions, and the live server would load MiniLM for them (seconds
        # on two cores; the service and route tests cover those with a fake embedder).
        projects.update_settings(
            session, project_id=world.project.id, changes={"features": "tfidf"}
        )
    page = new_page(viewport={"width": 1280, "height": 800})
    problems = _watch(page)
    log_in(page, live.url, world.admin.username)
    page.goto(f"{live.url}/ui/projects/{world.project.id}/dashboard")
    page.get_by_role("link", name="Labeling functions").first.click()
    expect(page.locator("#no-functions")).to_be_visible()

    form = page.locator("#lf-new")
    form.locator("input[name=name]").fill("kw_hello")
    form.locator("select[name=kind]").select_option("keyword")
    form.locator("select[name=label]").select_option("greet")
    form.locator("input[name=keywords]").fill("hello")
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#lf-preview .hits")).to_have_text("2")
    expect(page.locator("#no-functions")).to_be_visible()  # a preview saves nothing
    page.locator("#lf-new").get_by_role("button", name="Save").click()

    row = page.locator("tr[data-name=kw_hello]")
    expect(row.locator(".coverage")).to_contain_text("33%")
    expect(row.locator(".accuracy")).to_contain_text("no labeled hits")

    with session_factory() as session:
        item_id = session.scalar(select(Item.id).where(Item.text == "hello there"))
        queue.submit_annotation(
            session,
            project_id=world.project.id,
            annotator=world.admin,
            item_id=item_id,
            value="greet",
        )
    page.reload()
    expect(page.locator("tr[data-name=kw_hello] .accuracy")).to_contain_text("100%")
    expect(page.locator("tr[data-name=kw_hello] .accuracy")).to_contain_text("1/1")

    suggestion = page.locator("li.suggestion[data-key=kw_bye_bye]")
    expect(suggestion).to_contain_text("precision 100%")
    suggestion.get_by_role("button", name="Accept").click()
    expect(page.locator("[role=status]")).to_contain_text("Suggestion accepted")
    accepted = page.locator("tr[data-name=kw_bye_bye]")
    expect(accepted).to_contain_text("suggested")
    expect(accepted.locator(".accuracy")).to_contain_text("3/3")
    expect(page.locator("li.suggestion[data-key=kw_bye_bye]")).to_have_count(0)
    assert problems == []
