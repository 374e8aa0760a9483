"""The annotation page in headless Chromium: keyboard-only labeling, prefetch, injection, layout."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from labelwise.service import projects, queue, training
from labelwise.service.training import RetrainWorker
from labelwise.store import Annotation, AnnotationKind, Item, TaskType
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


# -- prefetch: the next item is already on the page ----------------------------------------


def labeled_value(session_factory: Any, text: str) -> Any:
    """The live label stored for the item with this text (None when there is none)."""
    with session_factory() as session:
        return session.scalar(
            select(Annotation.value)
            .join(Item, Item.id == Annotation.item_id)
            .where(
                Item.text == text,
                Annotation.kind == AnnotationKind.LABEL,
                Annotation.undone_at.is_(None),
            )
        )


def publish_model(
    session_factory: Any, project: Any, user: Any, data_dir: Path, labels: Sequence[str], n: int
) -> None:
    """``user`` labels ``n`` items through the service, then a retrain publishes a model.

    The live server runs no worker; this one shares its database, so the page's next
    ``/queue/next`` serves from the new round.
    """
    with session_factory() as session:
        for i in range(n):
            served = queue.lease_next(session, project_id=project.id, annotator=user)
            assert served is not None
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=user,
                item_id=served.item_id,
                value=labels[i % len(labels)],
            )
        training.request_retrain(session, project_id=project.id)
    assert RetrainWorker(session_factory, data_dir=data_dir).run_pending() >= 1
    with session_factory() as session:
        assert training.list_model_versions(session, project_id=project.id)


def test_the_next_item_shows_at_once_while_the_decision_is_stored(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="prefetch", labels=LABELS[:12])
    factory.member(project, world.annotator)
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(10)])
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    nexts: list[str] = []
    page.on("request", lambda r: nexts.append(r.url) if "/queue/next" in r.url else None)
    log_in(page, live.url, world.annotator.username)
    with page.expect_response(lambda r: "/queue/next?ahead=true" in r.url) as prefetched:
        open_project(page, live.url, project.id)
    following = prefetched.value.json()
    first = page.locator("#item-text").text_content()
    assert following["text"] != first

    held: list[Any] = []
    # The decision stays in flight until released.
    page.route("**/annotations", lambda route: held.append(route))
    asked = len(nexts)
    # Wait on the request itself (up to 30 s): on a loaded 2-core machine the held
    # request's event can trail the page's redraw by seconds.
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/annotations")):
        page.keyboard.press("2")
        expect(page.locator("#item-text")).to_have_text(following["text"])
    for _ in range(100):  # the route handler runs on Playwright's next dispatch
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1  # shown before the decision was even stored...
    assert len(nexts) == asked  # ...and without asking the server for it
    expect(page.locator("#count-label")).to_have_text("0")

    # Once the decision is stored, the item after this one is fetched ahead.
    with page.expect_response(lambda r: "/queue/next?ahead=true" in r.url) as refill:
        held[0].continue_()
    expect(page.locator("#count-label")).to_have_text("1")
    page.unroute("**/annotations")
    third = refill.value.json()
    assert third["text"] not in {first, following["text"]}
    page.keyboard.press("3")
    expect(page.locator("#item-text")).to_have_text(third["text"])
    expect(page.locator("#count-label")).to_have_text("2")
    assert all("ahead=true" in url for url in nexts[1:])  # only the first item waited
    assert labeled_value(session_factory, first) == LABELS[1]
    assert labeled_value(session_factory, following["text"]) == LABELS[2]
    assert errors == []


def test_a_decision_that_fails_to_save_is_retried_with_its_key_and_kept(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="flaky", labels=LABELS[:12])
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(5)])
    page = new_page()
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    attempts: list[Any] = []

    def flaky(route: Any) -> None:
        attempts.append(route.request.post_data_json)
        if len(attempts) == 1:
            body = {"error": {"type": "unavailable", "message": "database busy"}}
            route.fulfill(status=503, json=body)
        else:
            route.continue_()

    page.route("**/annotations", flaky)
    first = page.locator("#item-text").text_content()
    page.keyboard.press("4")
    expect(page.locator("#item-text")).not_to_have_text(first)  # the page moved on
    expect(page.locator("#notice")).to_contain_text("retrying")
    expect(page.locator("#count-label")).to_have_text("1", timeout=10000)
    expect(page.locator("#notice")).to_be_hidden()
    assert len(attempts) == 2
    assert attempts[0]["client_key"] == attempts[1]["client_key"]  # stored once
    assert labeled_value(session_factory, first) == LABELS[3]


def test_a_refused_decision_brings_its_item_back(new_page, live, factory, world, session_factory):
    from playwright.sync_api import expect

    project = factory.project(world.admin, name="refused", labels=LABELS[:12])
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(5)])
    page = new_page()
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    refusal = {"error": {"type": "conflict", "message": "not now"}}
    page.route("**/annotations", lambda route: route.fulfill(status=409, json=refusal))
    first = page.locator("#item-text").text_content()
    # After the refusal the page asks the server for its current item (a plain next).
    with page.expect_response(
        lambda r: r.url.endswith("/queue/next") and r.request.method == "POST"
    ):
        page.keyboard.press("5")
    expect(page.locator("#notice")).to_contain_text("Your decision was not saved: not now")
    # Its lease is still held and oldest, so the server hands it back to the screen.
    expect(page.locator("#item-text")).to_have_text(first)
    # Keys act again once the page is done (a key pressed while busy is ignored).
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bbusy\b"))
    page.unroute("**/annotations")
    page.keyboard.press("6")
    expect(page.locator("#count-label")).to_have_text("1")
    expect(page.locator("#item-text")).not_to_have_text(first)
    assert labeled_value(session_factory, first) == LABELS[5]


# -- number keys, multi-label, the new-model banner -----------------------------------------


def test_number_keys_pick_the_first_nine_labels_then_the_nine_suggestions(
    new_page, live, factory, world, session_factory, tmp_path
):
    from playwright.sync_api import expect

    project = factory.project(
        world.admin,
        name="nine-keys",
        labels=LABELS[:12],
        settings={"min_labels": 4, "retrain_every": 1000},
    )
    factory.member(project, world.annotator)
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(30)])
    page = new_page()
    log_in(page, live.url, world.annotator.username)
    open_project(page, live.url, project.id)
    # No model yet: keys 1-9 stand for the project's first nine labels, without scores.
    choices = page.locator("#choices .choice")
    expect(choices).to_have_count(9)
    assert [choices.nth(i).get_attribute("data-label") for i in range(9)] == list(LABELS[:9])
    assert page.locator("#choices .prob").count() == 0
    text = page.locator("#item-text").text_content()
    page.keyboard.press("7")
    expect(page.locator("#count-label")).to_have_text("1")
    assert labeled_value(session_factory, text) == LABELS[6]

    publish_model(session_factory, project, world.admin, tmp_path / "worker", LABELS[:4], n=8)
    # The item fetched ahead is still the random one; skip until the model serves.
    for skipped in range(1, 4):
        if "model v1" in (page.locator("#why").text_content() or ""):
            break
        page.keyboard.press("s")
        expect(page.locator("#count-skip")).to_have_text(str(skipped))
    expect(page.locator("#why")).to_contain_text("model v1")
    # In words (it printed "MarginSampling(chunk_size=16384) · score 0.998").
    expect(page.locator("#why")).to_contain_text("The model is torn between")
    expect(choices).to_have_count(9)
    expect(page.locator("#choices .prob")).to_have_count(9)
    seventh = choices.nth(6).get_attribute("data-label")
    assert seventh in LABELS[:12]
    text = page.locator("#item-text").text_content()
    page.keyboard.press("7")
    expect(page.locator("#count-label")).to_have_text("2")
    assert labeled_value(session_factory, text) == seventh


def test_multi_label_keys_toggle_and_enter_submits_the_toggled_labels(
    new_page, live, factory, world, session_factory
):
    from playwright.sync_api import expect

    labels = ("billing", "bug", "praise", "question")
    project = factory.project(world.admin, name="multi", labels=labels, task=TaskType.MULTI_LABEL)
    factory.items(project, [{"text": f"ticket {i}"} for i in range(5)])
    page = new_page()
    log_in(page, live.url, world.admin.username)
    open_project(page, live.url, project.id)
    text = page.locator("#item-text").text_content()

    def pressed(label: str) -> Any:
        return page.locator(f'#choices .choice[data-label="{label}"]')

    for key in ("1", "3", "2", "2"):  # bug on, then off again
        page.keyboard.press(key)
    expect(pressed("billing")).to_have_attribute("aria-pressed", "true")
    expect(pressed("praise")).to_have_attribute("aria-pressed", "true")
    expect(pressed("bug")).to_have_attribute("aria-pressed", "false")
    expect(pressed("question")).to_have_attribute("aria-pressed", "false")
    # The full label list mirrors the toggles.
    expect(page.locator('#labels .label[data-label="praise"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("Enter")
    expect(page.locator("#count-label")).to_have_text("1")
    expect(page.locator("#item-text")).not_to_have_text(text)
    expect(page.locator('#choices .choice[aria-pressed="true"]')).to_have_count(0)
    assert labeled_value(session_factory, text) == ["billing", "praise"]


def test_a_new_model_version_shows_the_banner(
    new_page, live, factory, world, session_factory, tmp_path
):
    from playwright.sync_api import expect

    project = factory.project(
        world.admin,
        name="banner",
        labels=LABELS[:6],
        settings={"min_labels": 4, "retrain_every": 1000},
    )
    factory.member(project, world.annotator)
    factory.items(project, [{"text": f"utterance number {i}"} for i in range(40)])
    publish_model(session_factory, project, world.admin, tmp_path / "worker", LABELS[:3], n=6)
    page = new_page()
    log_in(page, live.url, world.annotator.username)
    open_project(page, live.url, project.id)
    expect(page.locator("#why")).to_contain_text("model v1")
    publish_model(session_factory, project, world.admin, tmp_path / "worker", LABELS[:3], n=4)
    notice = page.locator("#notice")
    # The item fetched ahead came from v1; the one after it comes from v2.
    for labeled in range(1, 4):
        page.keyboard.press("1")
        expect(page.locator("#count-label")).to_have_text(str(labeled))
        if notice.is_visible():
            break
    expect(notice).to_have_text("New model v2 arrived: suggestions now come from it.")
    expect(page.locator("#why")).to_contain_text("model v2")
