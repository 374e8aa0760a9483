"""Log in through the UI's form, as a browser would; a short simulated labeling run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from labelwise.server.security import SESSION_COOKIE
from labelwise.service import importing, queue
from labelwise.service.training import RetrainWorker
from labelwise.store import TaskType
from tests.server.conftest import PASSWORD, Factory, World

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
