"""The span view in headless Chromium, against a fake of the queue API (FakeQueueApi):
select with the mouse, the keyboard and taps, accept suggestions, fix a boundary, undo,
and inert markup. These drive the page's script alone, with items made up to hit each
case; test_spans_live_browser.py runs the view against the real queue and worker."""

from __future__ import annotations

from typing import Any

import pytest

from labelwise.store import TaskType
from tests.conftest import fresh_database_url
from tests.server.ui.helpers import (
    FakeQueueApi,
    drag_tokens,
    marked_spans,
    token,
    token_offsets,
)
from tests.server.ui.test_browser import log_in, open_project

pytestmark = pytest.mark.browser

TYPES = ("artist", "track", "playlist", "city")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    # The queue is faked, so the store behind the page is not under test: one database.
    return fresh_database_url(request, "sqlite", tmp_path)


def item(text: str, **extra: Any) -> dict[str, Any]:
    return {"text": text, "tokens": token_offsets(text, text.split()), **extra}


def test_label_spans_with_mouse_keyboard_and_suggestions_then_undo(new_page, live, factory, world):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="ner", labels=TYPES, task=TaskType.SPANS)
    paris = {"start": 14, "end": 19, "label": "city", "confidence": 0.62}
    queens = {"start": 0, "end": 5, "label": "artist", "confidence": 0.91}
    api = FakeQueueApi(
        [
            item("play Yesterday by the Beatles"),
            item("Queen live in Paris", span_suggestions=[queens, paris]),
            item(
                "weather in New York City tomorrow",
                span_suggestions=[{"start": 11, "end": 19, "label": "city", "confidence": 0.4}],
                reason={
                    "explanation": "Least sure of “New York”",
                    "focus": {"start": 11, "end": 19},
                },
            ),
            item("book a table in Rome"),
            item("nothing to see here"),
        ]
    )
    page = new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live.url, world.admin.username)
    api.install(page, project.id)
    open_project(page, live.url, project.id)
    count = page.locator("#count-label")
    expect(page.locator("#types .type")).to_have_count(4)

    # Mouse: drag over the tokens, then a number key gives the type.
    expect(page.locator("#item-text")).to_have_text("play Yesterday by the Beatles")
    drag_tokens(page, 1, 1)
    page.keyboard.press("2")
    drag_tokens(page, 3, 4)
    page.keyboard.press("1")
    assert marked_spans(page) == [
        {"start": 5, "end": 14, "label": "track"},
        {"start": 18, "end": 29, "label": "artist"},
    ]
    page.keyboard.press("Enter")
    expect(count).to_have_text("1")

    # Suggestions are dashed with their confidence; "a" accepts them all.
    expect(page.locator(".ent.suggested .tag").last).to_have_attribute("data-confidence", "62%")
    page.keyboard.press("a")
    expect(page.locator(".ent.suggested")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(count).to_have_text("2")

    # A suggestion one token short: accept, click it, Shift+Right moves its end.
    expect(page.locator("#item-text .tok.hint")).to_have_count(2)
    page.keyboard.press("a")
    token(page, 3).click()
    expect(page.locator(".ent.held")).to_have_count(1)
    page.keyboard.press("Shift+ArrowRight")
    assert marked_spans(page) == [{"start": 11, "end": 24, "label": "city"}]
    page.keyboard.press("Enter")
    expect(count).to_have_text("3")

    # Keyboard only: the cursor, a type, Delete, Shift+Left, a type.
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("4")  # "Rome"; the cursor stays on it, nothing is selected
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")  # lands in the span: it is selected
    expect(page.locator(".ent.held")).to_have_count(1)
    page.keyboard.press("Delete")
    assert marked_spans(page) == []
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("3")
    assert marked_spans(page) == [{"start": 7, "end": 15, "label": "playlist"}]
    page.keyboard.press("Enter")
    expect(count).to_have_text("4")

    # Undo brings the decision back; its tag removes the span; relabel it.
    page.keyboard.press("u")
    expect(page.locator("#editing")).to_be_visible()
    expect(page.locator("#item-text")).to_have_text("book a table in Rome")
    assert marked_spans(page) == [{"start": 7, "end": 15, "label": "playlist"}]
    page.locator(".ent .tag").click()
    drag_tokens(page, 4, 4)
    page.locator('#types .type[data-type="city"]').click()
    page.keyboard.press("Enter")
    expect(count).to_have_text("4")
    expect(page.locator("#editing")).to_be_hidden()
    expect(page.locator("#item-text")).to_have_text("nothing to see here")
    expect(page.locator("#recent li").first.locator(".what")).to_have_text("“Rome” city")

    values = api.live_values()
    assert values["play Yesterday by the Beatles"] == {
        "spans": [
            {"start": 5, "end": 14, "label": "track"},
            {"start": 18, "end": 29, "label": "artist"},
        ]
    }
    assert values["Queen live in Paris"] == {
        "spans": [{k: s[k] for k in ("start", "end", "label")} for s in (queens, paris)]
    }
    assert values["weather in New York City tomorrow"] == {
        "spans": [{"start": 11, "end": 24, "label": "city"}]
    }
    assert values["book a table in Rome"] == {"spans": [{"start": 16, "end": 20, "label": "city"}]}
    assert errors == []


def test_markup_in_text_and_type_names_renders_inert(new_page, live, factory, world):
    from playwright.sync_api import expect

    evil = "<img/src=x/onerror=alert(2)>"  # entity types hold no whitespace (BIO tags)
    project = factory.project(world.admin, name="xss", labels=("city", evil), task=TaskType.SPANS)
    text = "<script>alert(1)</script> in Paris"
    suggestion = {"start": 0, "end": 25, "label": evil, "confidence": 0.5}
    api = FakeQueueApi([item(text, span_suggestions=[suggestion])])
    page = new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    log_in(page, live.url, world.admin.username)
    api.install(page, project.id)
    open_project(page, live.url, project.id)
    assert page.locator("#item-text").text_content() == text
    page.keyboard.press("a")
    expect(page.locator(".ent")).to_have_attribute("data-label", evil)
    assert page.locator(".type .name").nth(1).text_content() == evil
    page.keyboard.press("Enter")
    expect(page.locator("#recent li .what")).to_have_text(f"“<script>alert(1)</script>” {evil}")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert (
        page.evaluate("document.querySelectorAll('main img, main script:not(#boot)').length") == 0
    )


def test_phone_taps_select_a_range_without_sideways_scrolling(new_page, live, factory, world):
    from playwright.sync_api import expect

    types = tuple(f"type_{i:02d}" for i in range(12))
    project = factory.project(world.admin, name="phone-ner", labels=types, task=TaskType.SPANS)
    api = FakeQueueApi([item("set an alarm for seven tomorrow morning please " * 3)])
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, live.url, world.admin.username)
    api.install(page, project.id)
    open_project(page, live.url, project.id)
    expect(page.locator("#type-filter")).to_be_visible()  # more than nine types
    token(page, 4).tap()
    token(page, 6).tap()
    page.locator('#types .type[data-type="type_10"]').tap()
    assert marked_spans(page) == [{"start": 17, "end": 39, "label": "type_10"}]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#submit-spans").tap()
    expect(page.locator("#count-label")).to_have_text("1")
    assert list(api.live_values().values()) == [
        {"spans": [{"start": 17, "end": 39, "label": "type_10"}]}
    ]
