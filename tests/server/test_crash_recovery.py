"""SIGKILL the server in the middle of a stream of submits; restart; count what survived.

Every submit the server acknowledged must be stored after the restart. The one request
in flight at the kill may or may not have committed (its answer was lost), but nothing
else may appear: no duplicates, no rows the client never sent, and replaying the
in-flight request with its client key stores it at most once.
"""

from __future__ import annotations

import threading
import uuid

import httpx
from sqlalchemy.orm import Session

from labelwise.service import projects, users
from labelwise.service.transactions import begin_write
from labelwise.store import Item, make_engine
from tests.server.live import LiveServer, login

LABELS = ["a", "b", "c"]


def test_acknowledged_submits_survive_a_sigkill(database_url, tmp_path):
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        admin = users.create_user(session, username="lead", password="lead-password", is_admin=True)
        project = projects.create_project(
            session, name="crash", labels=LABELS, owner=admin, settings={"retrain_every": 25}
        )
        begin_write(session)
        session.add_all(
            Item(project_id=project.id, position=i, text=f"utterance {i}", content_hash=f"h{i}")
            for i in range(400)
        )
        session.commit()
    engine.dispose()

    server = LiveServer(database_url, tmp_path).start()
    sent: dict[str, int] = {}  # client_key -> item_id, in send order
    acked: set[str] = set()
    stop = threading.Event()

    def stream() -> None:
        with login(server.url, "lead", "lead-password") as client:
            while not stop.is_set():
                try:
                    item = client.post(f"/api/projects/{project.id}/queue/next").json()
                    key = str(uuid.uuid4())
                    sent[key] = item["item_id"]
                    response = client.post(
                        f"/api/projects/{project.id}/annotations",
                        json={
                            "item_id": item["item_id"],
                            "value": LABELS[item["item_id"] % 3],
                            "client_key": key,
                        },
                    )
                    if response.status_code == 201:
                        acked.add(key)
                except httpx.TransportError:
                    return

    thread = threading.Thread(target=stream)
    thread.start()
    while len(acked) < 60:
        assert thread.is_alive()
        threading.Event().wait(0.01)
    server.kill()
    stop.set()
    thread.join(60)

    server = LiveServer(database_url, tmp_path).start()
    try:
        with login(server.url, "lead", "lead-password") as client:
            rows = client.get(f"/api/projects/{project.id}/labels", params={"limit": 1000}).json()
            stored = [row["item_id"] for row in rows["items"]]
            assert len(stored) == len(set(stored)), "an annotation was stored twice"
            acked_items = {sent[key] for key in acked}
            assert acked_items <= set(stored), "an acknowledged submit was lost"
            unacked = set(stored) - acked_items
            assert unacked <= set(sent.values()), "a row appeared that was never sent"
            assert len(unacked) <= 1, "only the request in flight at the kill may be unacknowledged"
            # The client retries its unanswered request: the key makes it land once.
            last_key = next(reversed(sent))
            if last_key not in acked:
                retry = client.post(
                    f"/api/projects/{project.id}/annotations",
                    json={
                        "item_id": sent[last_key],
                        "value": LABELS[sent[last_key] % 3],
                        "client_key": last_key,
                    },
                )
                assert retry.status_code in (200, 201), retry.text
                again = client.get(
                    f"/api/projects/{project.id}/labels", params={"limit": 1000}
                ).json()
                assert len(again["items"]) == len(acked) + 1
    finally:
        server.stop()
