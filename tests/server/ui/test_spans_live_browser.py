"""The span view in headless Chromium against the real backend: a live server over a real
database holding projects imported from SNIPS rows, the retrain worker's CRF suggestions,
and the stored decisions read back through the API and the export.

One server (and one browser) serves the whole module: starting one costs seconds on a
loaded machine. Each test makes its own project and user, so none depends on another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from labelwise.data.spans import tokenize
from labelwise.service.training import RetrainWorker
from labelwise.store import TaskType, User, make_engine, make_session_factory
from tests.conftest import DATABASES, fresh_database_url
from tests.server.conftest import PASSWORD, Factory
from tests.server.live import LiveServer, login
from tests.server.ui.helpers import drag_tokens, marked_spans
from tests.server.ui.test_browser import log_in, open_project
from tests.shared_rows import shared_rows

pytestmark = pytest.mark.browser

#: AddToPlaylist's entity types, in the legend's order: keys 1-5.
PLAYLIST_TYPES = ("playlist", "playlist_owner", "music_item", "artist", "entity_name")
#: A model version as soon as the first ten labels of the page are in.
QUICK = {"features": "tfidf", "min_labels": 10, "retrain_every": 10, "audit_fraction": 0.0}


@dataclass
class Backend:
    """The module's live server, its database and a factory that builds state in it."""

    server: LiveServer
    session_factory: sessionmaker[Session]
    factory: Factory

    def admin(self, name: str) -> User:
        """A new site admin (each test logs in as its own, so its queue is its own)."""
        return self.factory.user(name, is_admin=True)

    def api(self, user: User) -> httpx.Client:
        return login(self.server.url, user.username, PASSWORD)


@pytest.fixture(scope="module", params=DATABASES)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp("spans-live")
    url = fresh_database_url(request, request.param, folder)
    engine = make_engine(url)
    data_dir = folder / "live"
    data_dir.mkdir()
    try:
        with LiveServer(url, data_dir, LABELWISE_RUN_WORKER="false") as server:
            sessions = make_session_factory(engine)
            yield Backend(server, sessions, Factory(sessions, folder))
    finally:
        engine.dispose()


def snips(intents: Sequence[str]) -> list[dict[str, Any]]:
    """SNIPS train rows of ``intents`` (the first of each text), in file order."""
    rows: dict[str, dict[str, Any]] = {}
    for row in shared_rows("snips", "train"):
        if row["label"] in intents:
            rows.setdefault(row["text"], row)
    return list(rows.values())


@dataclass(frozen=True)
class Marked:
    """A span as the page marks it: tokens ``a``..``b`` and its snapped character span."""

    a: int
    b: int
    value: dict[str, Any]


def snapped(text: str, spans: Sequence[dict[str, Any]]) -> list[Marked]:
    """Each gold span widened to the edges of the project's tokens it touches."""
    tokens = tokenize(text)
    edges = list(zip(tokens.starts, tokens.ends, strict=True))
    marked = []
    for span in sorted(spans, key=lambda s: s["start"]):
        inside = [i for i, (s, e) in enumerate(edges) if e > span["start"] and s < span["end"]]
        a, b = inside[0], inside[-1]
        value = {"start": edges[a][0], "end": edges[b][1], "label": span["label"]}
        marked.append(Marked(a, b, value))
    return marked


def mark_with_mouse(page: Any, spans: Sequence[Marked], types: Sequence[str]) -> None:
    for span in spans:
        drag_tokens(page, span.a, span.b)
        page.keyboard.press(str(types.index(span.value["label"]) + 1))


def mark_with_keys(page: Any, spans: Sequence[Marked], types: Sequence[str]) -> None:
    """Left to right: Right to the first token, Shift+Right to the last, the type's key.
    The cursor waits on the last token typed, so no arrow lands in an earlier span."""
    cursor = -1
    for span in spans:
        for _ in range(span.a - cursor):
            page.keyboard.press("ArrowRight")
        for _ in range(span.b - span.a):
            page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press(str(types.index(span.value["label"]) + 1))
        cursor = span.b


class Served:
    """The items the page leased (``POST /queue/next``), by text, as the server sent them."""

    def __init__(self, page: Any) -> None:
        self._responses: list[Any] = []
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        if "/queue/next" in response.url and response.request.method == "POST":
            self._responses.append(response)  # read later: no blocking calls in a handler

    def __getitem__(self, text: str) -> dict[str, Any]:
        for response in reversed(self._responses):
            body = response.json()
            if body is not None and body["text"] == text:
                found: dict[str, Any] = body
                return found
        raise KeyError(text)


def without_confidence(spans: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: s[k] for k in ("start", "end", "label")} for s in spans]


def recent_values(api: httpx.Client, project_id: int) -> dict[str, Any]:
    """item text -> the value of the caller's live label decision."""
    response = api.get(f"/api/projects/{project_id}/annotations/recent", params={"limit": 100})
    response.raise_for_status()
    return {d["item_text"]: d["value"] for d in response.json() if d["kind"] == "label"}


def current_text(page: Any) -> str:
    return page.locator("#item-text").text_content() or ""


def test_label_accept_fix_and_undo_spans_of_snips_rows_with_the_worker(backend, new_page, request):
    from playwright.sync_api import expect

    admin = backend.admin("spans-admin")
    rows = snips(["AddToPlaylist"])
    gold = {row["text"]: row["spans"] for row in rows}
    project = backend.factory.project(
        admin, name="snips-spans", labels=PLAYLIST_TYPES, task=TaskType.SPANS, settings=QUICK
    )
    # A handful of labeled rows for the tagger; the pool is text only.
    backend.factory.items(project, [{"text": r["text"], "spans": r["spans"]} for r in rows[:12]])
    backend.factory.items(project, [{"text": r["text"]} for r in rows[12:52]])
    page = new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    served = Served(page)
    log_in(page, backend.server.url, admin.username)
    open_project(page, backend.server.url, project.id)
    count = page.locator("#count-label")

    # 1. Ten sentences: the even ones dragged with the mouse, the odd ones with the keys.
    intended: dict[str, list[dict[str, Any]]] = {}
    for i in range(10):
        text = current_text(page)
        spans = snapped(text, gold[text])
        expect(page.locator("#item-text .tok")).to_have_count(len(tokenize(text).starts))
        (mark_with_mouse if i % 2 == 0 else mark_with_keys)(page, spans, PLAYLIST_TYPES)
        intended[text] = [span.value for span in spans]
        assert marked_spans(page) == intended[text], (i, text)
        page.keyboard.press("Enter")
        expect(count).to_have_text(str(i + 1))
    api = backend.api(admin)
    request.addfinalizer(api.close)
    export = api.get(f"/api/projects/{project.id}/export", params={"format": "spans"})
    assert export.status_code == 200, export.text
    exported = {r["text"]: r["spans"] for r in map(json.loads, export.text.splitlines())}
    assert {text: exported[text] for text in intended} == intended

    # The worker trains on them (the tenth label made a retrain due) and ranks the pool.
    worker = RetrainWorker(backend.session_factory, data_dir=backend.server.data_dir)
    assert worker.run_pending() >= 1
    versions = api.get(f"/api/projects/{project.id}/model-versions").json()
    assert len(versions) == 1, versions

    # The two items leased before the model carry no suggestions: skip to the model's.
    for skipped in range(1, 6):
        page.keyboard.press("s")
        expect(page.locator("#count-skip")).to_have_text(str(skipped))
        if served[current_text(page)]["span_suggestions"]:
            break
    expect(page.locator("#why")).to_contain_text("model v1")

    # 2. "a" accepts every suggestion; the stored value is what was served.
    accepted = current_text(page)
    suggested = served[accepted]["span_suggestions"]
    assert suggested, "five items from the model's queue and not one suggested span"
    assert marked_spans(page, suggested=True) == without_confidence(suggested)
    focus = served[accepted]["reason"]["focus"]  # the least sure span: said and hinted
    expect(page.locator("#why")).to_contain_text(f"“{accepted[focus['start'] : focus['end']]}”")
    words = tokenize(accepted)
    assert page.locator("#item-text .tok.hint").all_text_contents() == [
        w
        for w, start, end in zip(words.tokens, words.starts, words.ends, strict=True)
        if end > focus["start"] and start < focus["end"]
    ]
    page.keyboard.press("a")
    expect(page.locator("#item-text .ent.suggested")).to_have_count(0)
    assert marked_spans(page) == without_confidence(suggested)
    page.keyboard.press("Enter")
    expect(count).to_have_text("11")

    # 3. Fix a boundary: accept, click the first span, move its end by a token.
    fixed = current_text(page)
    edges = tokenize(fixed)
    page.keyboard.press("a")
    if not marked_spans(page):  # the model found nothing here: mark the first gold span
        mark_with_mouse(page, snapped(fixed, gold[fixed])[:1], PLAYLIST_TYPES)
    before = marked_spans(page)
    first = page.locator("#item-text .ent").first
    a, b = (edges.starts.index(before[0]["start"]), edges.ends.index(before[0]["end"]))
    first.locator(".tok").first.click()
    expect(page.locator("#item-text .ent.held")).to_have_count(1)
    # Shrink a longer span's end; widen a one-token span to the right (or the left at
    # the end of the text) when that token is free.
    following = b + 1 < len(edges.starts) and not any(
        s["start"] <= edges.starts[b + 1] < s["end"] for s in before
    )
    if b > a:
        page.keyboard.press("Shift+ArrowLeft")
        new_edge = {"end": edges.ends[b - 1]}
    elif following:
        page.keyboard.press("Shift+ArrowRight")
        new_edge = {"end": edges.ends[b + 1]}
    else:
        page.keyboard.press("Shift+ArrowLeft")
        new_edge = {"start": edges.starts[a - 1]}
    after = [{**before[0], **new_edge}, *before[1:]]
    assert marked_spans(page) == after
    page.keyboard.press("Enter")
    expect(count).to_have_text("12")
    stored = recent_values(api, project.id)
    assert stored[accepted] == {"spans": without_confidence(suggested)}
    assert stored[fixed] == {"spans": after}

    # 4. Undo takes back the latest decision: the server marks it undone.
    with page.expect_response("**/annotations/undo") as undone:
        page.keyboard.press("Control+z")
    body = undone.value.json()
    assert body["value"] == {"spans": after} and body["undone_at"] is not None
    expect(count).to_have_text("11")
    said = ", ".join(f"“{fixed[s['start'] : s['end']]}” {s['label']}" for s in after)
    expect(page.locator("#editing")).to_contain_text(f"Was: {said}.")
    expect(page.locator("#item-text")).to_have_text(fixed)
    assert marked_spans(page) == after
    assert fixed not in recent_values(api, project.id)
    page.keyboard.press("Escape")
    expect(page.locator("#editing")).to_be_hidden()
    assert errors == []


def test_one_submit_stores_the_intent_and_the_spans(backend, new_page):
    from playwright.sync_api import expect

    admin = backend.admin("intents-admin")
    intents = ("AddToPlaylist", "SearchCreativeWork")
    rows = snips(intents)
    rows = [r for r in rows if r["label"] == intents[0]][:3] + [
        r for r in rows if r["label"] == intents[1]
    ][:3]
    types = (*PLAYLIST_TYPES, "object_name", "object_type")
    project = backend.factory.project(
        admin,
        name="snips-intents",
        labels=intents,
        entity_types=types,
        task=TaskType.INTENTS_ENTITIES,
        settings=QUICK,
    )
    backend.factory.items(project, [{"text": r["text"]} for r in rows])
    by_text = {r["text"]: r for r in rows}
    page = new_page()
    log_in(page, backend.server.url, admin.username)
    open_project(page, backend.server.url, project.id)
    expect(page.locator("#types .type")).to_have_count(len(types))
    text = current_text(page)
    row = by_text[text]
    spans = snapped(text, row["spans"])[:1]
    mark_with_mouse(page, spans, types)
    page.keyboard.press("Enter")  # no intent yet: refused on the page
    expect(page.locator("#notice")).to_contain_text("Pick the intent")
    page.keyboard.press(str(intents.index(row["label"]) + 1))  # nothing selected: the intent
    expect(page.locator(f'#choices .choice[data-label="{row["label"]}"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("Enter")
    expect(page.locator("#count-label")).to_have_text("1")
    with backend.api(admin) as api:
        values = recent_values(api, project.id)
    assert values == {text: {"intent": row["label"], "spans": [s.value for s in spans]}}


def test_markup_in_a_snips_like_item_and_an_entity_type_renders_inert(backend, new_page):
    from playwright.sync_api import expect

    admin = backend.admin("xss-admin")
    # Entity types may hold no whitespace (BIO tags): the payload needs none.
    evil = "<img/src=x/onerror=window.__pwned=2>"
    project = backend.factory.project(
        admin, name="xss-spans", labels=("playlist", evil), task=TaskType.SPANS
    )
    text = "add <script>window.__pwned=1</script> to my playlist"
    backend.factory.items(project, [{"text": text}])
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, backend.server.url, admin.username)
    open_project(page, backend.server.url, project.id)
    assert current_text(page) == text
    assert page.locator(".type .name").nth(1).text_content() == evil
    script = {"start": text.index("<"), "end": text.index("</script>") + 9, "label": evil}
    mark_with_mouse(page, snapped(text, [script]), ("playlist", evil))
    expect(page.locator("#item-text .ent")).to_have_attribute("data-label", evil)
    assert marked_spans(page) == [script]
    page.keyboard.press("Enter")
    # The server words the decision: the quoted text, then the type.
    expect(page.locator("#recent li .what")).to_have_text(
        f"“<script>window.__pwned=1</script>” {evil}"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert (
        page.evaluate("document.querySelectorAll('main img, main script:not(#boot)').length") == 0
    )
    assert errors == []
    with backend.api(admin) as api:
        values = recent_values(api, project.id)
    assert values == {text: {"spans": [script]}}
