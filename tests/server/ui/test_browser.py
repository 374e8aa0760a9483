"""The annotation page in headless Chromium: keyboard-only labeling, injection, layout."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from labelwise.service import projects
from labelwise.store import Annotation, AnnotationKind, Item
from tests.server.conftest import PASSWORD
from tests.server.ui.helpers import XSS_TEXT

pytestmark = pytest.mark.browser

LABELS = tuple(f"intent_{i:03d}" for i in range(150))


def log_in(page: Any, url: str, username: str) -> None:
    """Keyboard only: the username field has focus when the form opens."""
    page.goto(url + "/ui/login")
    page.focus("input[name=username]")  # autofocus, made explicit for background pages
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/ui/projects")


def open_project(page: Any, url: str, project_id: int) -> Any:
    from playwright.sync_api import expect

    response = page.goto(f"{url}/ui/projects/{project_id}")
    # A locator wait: the page's CSP forbids the eval that wait_for_function may need.
    expect(page.locator("#item-text")).not_to_have_text("Loading…", timeout=15000)
    return response


def test_label_twenty_items_with_the_keyboard_undo_skip_and_flag(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="clinc-like", labels=LABELS, guidelines="Be kind.")
    factory.member(project, world.annotator)
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(40)])
    page = new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live.url, world.annotator.username)
    open_project(page, live.url, project.id)
    count = page.locator("#count-label")
    texts = []
    for i in range(20):
        texts.append(page.locator("#item-text").text_content())
        if i == 5:  # Enter accepts the first suggestion
            page.keyboard.press("Enter")
        elif i == 7:  # any of the 150 labels, without the mouse
            page.keyboard.press("/")
            page.keyboard.type("tent_14")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
        else:
            page.keyboard.press(str(i % 9 + 1))
        expect(count).to_have_text(str(i + 1))
    assert len(set(texts)) == 20
    expect(page.locator("#recent li")).to_have_count(10)

    page.keyboard.press("u")  # undo the last decision: it comes back for relabeling
    expect(count).to_have_text("19")
    expect(page.locator("#editing")).to_be_visible()
    expect(page.locator("#item-text")).to_have_text(texts[-1])
    page.keyboard.press("3")
    expect(count).to_have_text("20")
    expect(page.locator("#editing")).to_be_hidden()
    expect(page.locator("#recent li").first.locator(".what")).to_have_text("intent_002")

    current = page.locator("#item-text").text_content()
    page.keyboard.press("s")
    expect(page.locator("#count-skip")).to_have_text("1")
    assert page.locator("#item-text").text_content() != current

    page.keyboard.press("f")
    expect(page.locator("#flag-dialog")).to_be_visible()
    page.keyboard.type("could be two intents")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#count-flag")).to_have_text("1")
    expect(page.locator("#progress")).to_contain_text("20 of 40 items labeled")

    page.keyboard.press("g")
    expect(page.locator("#guidelines .guidelines")).to_have_text("Be kind.")
    assert errors == []

    with session_factory() as session:
        status = projects.project_status(session, project_id=project.id)
        assert (status.annotations, status.skipped, status.flagged) == (20, 1, 1)
        live_labels = session.execute(
            select(Item.text, Annotation.value)
            .join(Annotation, Annotation.item_id == Item.id)
            .where(Annotation.kind == AnnotationKind.LABEL, Annotation.undone_at.is_(None))
        ).all()
        by_text = dict(live_labels)
        assert by_text[texts[-1]] == "intent_002"  # the relabeled one
        assert by_text[texts[5]] == LABELS[0]
        assert by_text[texts[7]] == "intent_141"
        comment = session.scalar(
            select(Annotation.comment).where(Annotation.kind == AnnotationKind.FLAG)
        )
        assert comment == "ambiguous: could be two intents"


def test_an_injected_item_renders_inert(new_page, live, factory, world):
    project = factory.project(
        world.admin,
        name="xss",
        labels=("greet", "<img src=x onerror=alert(2)>"),
        guidelines=XSS_TEXT,
    )
    factory.items(project, [{"text": XSS_TEXT}])
    page = new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    assert page.locator("#item-text").text_content() == XSS_TEXT
    assert page.locator("#item-text img, #item-text script").count() == 0
    assert page.locator(".choice .name").nth(1).text_content() == "<img src=x onerror=alert(2)>"
    assert page.locator("main img").count() == 0
    page.keyboard.press("g")
    assert page.locator("#guidelines .guidelines").text_content() == XSS_TEXT
    page.keyboard.press("2")  # label it with the injected label: the recent list too
    page.wait_for_selector("#recent li")
    assert page.locator("#recent li .what").text_content() == "<img src=x onerror=alert(2)>"
    assert page.locator("#recent li .text").text_content() == XSS_TEXT
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_annotator_is_refused_another_projects_page(new_page, live, factory, world):
    other = factory.project(world.admin, name="hidden-project", guidelines="do not leak")
    page = new_page()
    log_in(page, live.url, world.annotator.username)
    assert "hidden-project" not in page.content()
    response = page.goto(f"{live.url}/ui/projects/{other.id}")
    assert response.status == 403
    assert "do not leak" not in page.content()
    assert page.goto(f"{live.url}/ui/projects/{world.project.id}").status == 200


def test_phone_viewport_shows_the_label_buttons_without_horizontal_scrolling(
    new_page, live, factory, world
):
    project = factory.project(
        world.admin, name="phone", labels=(*LABELS[:20], "a_rather_long_label_name_" * 3)
    )
    factory.items(project, [{"text": "set an alarm for seven tomorrow morning " * 4}])
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    choices = page.locator(".choice")
    assert choices.count() == 9
    for i in range(9):
        box = choices.nth(i).bounding_box()
        assert box is not None
        assert choices.nth(i).is_visible()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    first_label = page.locator("#labels .label").first.bounding_box()
    assert first_label is not None and first_label["x"] + first_label["width"] <= 390
