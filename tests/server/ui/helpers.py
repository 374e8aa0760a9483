"""Log in through the UI's form, as a browser would; a short simulated labeling run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from labelwise.server.security import SESSION_COOKIE
from labelwise.service import importing, queue
from labelwise.service.training import RetrainWorker
from labelwise.store import Annotation, TaskType
from tests.server.conftest import PASSWORD, Factory, World
from tests.service.pool_factory import label_with_audit, make_project

XSS_TEXT = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(html: str) -> str:
    found = _HIDDEN.search(html)
    assert found is not None, html
    return found.group(1)


def page_csrf(html: str) -> str:
    found = _META.search(html)
    assert found is not None, html
    return found.group(1)


def ui_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in; returns the session's CSRF token (from the projects page)."""
    token = form_token(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert client.cookies.get(SESSION_COOKIE)
    return page_csrf(client.get("/ui/projects").text)


GREET = ["hello there", "hi friend", "good morning", "hey you", "hello again", "hi all"]
BYE = ["bye now", "see you later", "good night", "farewell friend", "bye bye", "see ya"]


def simulated_run(
    factory: Factory,
    world: World,
    session_factory: sessionmaker[Session],
    settings: Any,
    *,
    audit: float,
    evaluation: bool = False,
    task: TaskType = TaskType.SINGLE_LABEL,
) -> int:
    """A short labeling run: the admin labels every served item correctly, and the
    worker retrains every 4 labels (with ``evaluation``, a held-out set is imported
    first). In a multi-label project each item's label set is its one intent.
    Returns the new project's id."""
    project = factory.project(
        world.admin,
        name="run",
        task=task,
        settings={"min_labels": 4, "retrain_every": 4, "audit_fraction": audit},
    )
    intents: dict[str, Any] = dict.fromkeys(GREET, "greet") | dict.fromkeys(BYE, "bye")
    wrap = task == TaskType.MULTI_LABEL
    gold = {text: [label] if wrap else label for text, label in intents.items()}
    factory.items(project, [{"text": text} for text in gold])
    if evaluation:
        path = factory.tmp_path / "evaluation.jsonl"
        rows = [{"text": f"{t}, held out", "label": label} for t, label in gold.items()]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        with session_factory() as session:
            importing.import_items(session, project_id=project.id, path=path, evaluation=True)
    worker = RetrainWorker(session_factory, data_dir=Path(settings.data_dir))
    for _ in range(len(gold)):
        with session_factory() as session:
            served = queue.lease_next(session, project_id=project.id, annotator=world.admin)
            if served is None:
                break
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=world.admin,
                item_id=served.item_id,
                value=gold[served.text],
                seconds_spent=2.0,
            )
        worker.run_pending()
    project_id: int = project.id
    return project_id


def helping_run(
    world: World, session_factory: sessionmaker[Session], settings: Any, *, skipped: int = 0
) -> int:
    """A project whose model version estimated the labels saved: 50 labeled random audit
    items, 6 labeled chosen items, then ``skipped`` chosen items skipped. Returns its id."""
    with session_factory() as session:
        project, truth = make_project(
            session, world.admin, name="helping", copies=8, settings={"audit_fraction": 0.2}
        )
        label_with_audit(session, project, world.admin, truth, n_audit=50, n_trained=6)
        decided = {i for (i,) in session.execute(select(Annotation.item_id))}
        session.commit()
        for item_id in sorted(set(truth) - decided)[:skipped]:
            queue.skip_item(session, project_id=project.id, annotator=world.admin, item_id=item_id)
    RetrainWorker(session_factory, data_dir=Path(settings.data_dir)).run_pending()
    project_id: int = project.id
    return project_id


# -- the span view (static/js/views/spans.js) -----------------------------------------------


def token_offsets(text: str, tokens: list[str]) -> list[list[int]]:
    """``[start, end]`` of each token, for tokens that are substrings of ``text`` in order
    (SNIPS rows' ``tokens``): the ``tokens`` field of a served spans item."""
    offsets, position = [], 0
    for token in tokens:
        start = text.index(token, position)
        position = start + len(token)
        offsets.append([start, position])
    return offsets


def token(page: Any, i: int) -> Any:
    """The element of the item's ``i``-th token."""
    return page.locator(f'#item-text .tok[data-i="{i}"]')


def drag_tokens(page: Any, first: int, last: int) -> None:
    """Select tokens ``first``..``last`` with the mouse, as a person drags over them."""
    start, end = token(page, first).bounding_box(), token(page, last).bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] - 2, end["y"] + end["height"] / 2, steps=4)
    page.mouse.up()


def marked_spans(page: Any, *, suggested: bool = False) -> list[dict[str, Any]]:
    """The spans on screen as ``{start, end, label}`` (the suggestions with ``suggested``)."""
    selector = "#item-text .ent.suggested" if suggested else "#item-text .ent:not(.suggested)"
    boxes = page.locator(selector)
    return [
        {
            "start": int(boxes.nth(i).get_attribute("data-start")),
            "end": int(boxes.nth(i).get_attribute("data-end")),
            "label": boxes.nth(i).get_attribute("data-label"),
        }
        for i in range(boxes.count())
    ]


class FakeQueueApi:
    """The project API the annotation page calls, answered in the browser (Playwright
    routes): serves ``items`` in order and records the decisions, so a view can be driven
    before the server serves its task. ``install(page, project_id)`` first."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = [self._served(i, item) for i, item in enumerate(items)]
        self.leased: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []

    @staticmethod
    def _served(i: int, item: dict[str, Any]) -> dict[str, Any]:
        reason = {"explanation": "at random", "strategy": "random", "score": None}
        return {
            "lease_id": i + 1,
            "item_id": i + 1,
            "position": i,
            "meta": {},
            "expires_at": "2030-01-01T00:00:00Z",
            "is_audit": False,
            "suggestions": [],
            "span_suggestions": [],
            **item,
            "reason": {**reason, "model_version": None, **item.get("reason", {})},
        }

    def install(self, page: Any, project_id: int) -> None:
        page.route(f"**/api/projects/{project_id}/**", self._answer)

    def _next(self, ahead: bool) -> dict[str, Any] | None:
        if self.leased and not ahead:
            return self.leased[0]
        if ahead and len(self.leased) >= 2:
            return self.leased[1]
        if not self.items:
            return None
        self.leased.append(self.items.pop(0))
        return self.leased[-1]

    def _decide(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        for old in self.decisions:
            if old["item_id"] == body["item_id"] and old["undone_at"] is None:
                old["undone_at"] = "2030-01-01T00:00:00Z"  # a relabel replaces it
        texts = {item["item_id"]: item["text"] for item in self.leased}
        texts |= {d["item_id"]: d["item_text"] for d in self.decisions}
        stored = {
            "id": len(self.decisions) + 1,
            "item_id": body["item_id"],
            "kind": kind,
            "value": body.get("value"),
            "comment": body.get("comment"),
            "undone_at": None,
            "item_text": texts[body["item_id"]],
        }
        self.decisions.append(stored)
        self.leased = [item for item in self.leased if item["item_id"] != body["item_id"]]
        return stored

    def _answer(self, route: Any) -> None:
        request = route.request
        path = request.url.split("/api/projects/", 1)[1].split("/", 1)[1]
        answer: Any
        if path.startswith("queue/next"):
            answer = self._next("ahead=true" in path)
        elif path in {"annotations", "annotations/skip", "annotations/flag"}:
            kind = {"annotations": "label"}.get(path, path.split("/")[-1])
            answer = self._decide(kind, request.post_data_json)
        elif path == "annotations/undo":
            answer = next(d for d in reversed(self.decisions) if d["undone_at"] is None)
            answer["undone_at"] = "2030-01-01T00:00:00Z"
        elif path.startswith("annotations/recent"):
            answer = [d for d in reversed(self.decisions) if d["undone_at"] is None][:10]
        elif path == "metrics":
            done = len({d["item_id"] for d in self.decisions if d["kind"] == "label"})
            answer = {"status": {"labeled_items": done, "items": done + len(self.items)}}
        else:
            route.fulfill(status=404, json={"error": {"type": "not_found", "message": path}})
            return
        route.fulfill(status=200, body=json.dumps(answer), content_type="application/json")

    def live_values(self) -> dict[str, Any]:
        """item text -> the value of its live label decision."""
        return {
            d["item_text"]: d["value"]
            for d in self.decisions
            if d["kind"] == "label" and d["undone_at"] is None
        }
