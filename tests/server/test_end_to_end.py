"""The whole labeling cycle over HTTP against a real server process.

Import 2,000 CLINC150 utterances, two annotators label 200 through next/submit at the
same time with a ground-truth oracle, the worker retrains in the background, and the
queue's model version moves on, while no item is ever leased to both annotators.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from labelwise.data import read_dataset
from labelwise.service import projects, users
from labelwise.store import make_engine
from tests.server.live import LiveServer, login

N_INTENTS = 20
PER_INTENT = 100


@pytest.fixture
def corpus(clinc_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, str], list[str]]:
    """2,000 unlabeled utterances (20 intents x 100) and their gold labels."""
    data = read_dataset(clinc_dir / "train.jsonl", require_labels=True)
    intents = data.classes()[:N_INTENTS]
    taken: dict[str, int] = defaultdict(int)
    gold: dict[str, str] = {}
    path = tmp_path / "utterances.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for text, label in zip(data.texts, data.labels, strict=True):
            if label in intents and taken[label] < PER_INTENT and text not in gold:
                taken[label] += 1
                gold[text] = label
                out.write(json.dumps({"text": text}) + "\n")
    return path, gold, intents


def annotate(
    client, project_id: int, gold: dict[str, str], n: int, log: list[tuple[int, int | None]]
) -> None:
    for _ in range(n):
        served = client.post(f"/api/projects/{project_id}/queue/next")
        assert served.status_code == 200, served.text
        item = served.json()
        log.append((item["item_id"], item["reason"]["model_version"]))
        done = client.post(
            f"/api/projects/{project_id}/annotations",
            json={
                "item_id": item["item_id"],
                "value": gold[item["text"]],
                "client_key": str(uuid.uuid4()),
                "lease_id": item["lease_id"],
            },
        )
        assert done.status_code == 201, done.text


def test_two_annotators_label_while_the_model_retrains(database_url, tmp_path, corpus):
    path, gold, intents = corpus
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        admin = users.create_user(session, username="lead", password="lead-password", is_admin=True)
        ann = users.create_user(session, username="ann", password="ann-password")
        project = projects.create_project(
            session,
            name="clinc",
            labels=intents,
            owner=admin,
            # TF-IDF retrains in about a second, so the served version moves on while 200
            # labels are given; MiniLM's first pass over 2,000 items takes longer than that
            # on 2 cores (the features are not what this test is about).
            settings={
                "retrain_every": 50,
                "min_labels": 20,
                "queue_size": 400,
                "features": "tfidf",
            },
        )
        projects.add_member(session, project_id=project.id, user=ann)
    engine.dispose()

    with (
        LiveServer(database_url, tmp_path) as server,
        login(server.url, "lead", "lead-password") as lead,
        login(server.url, "ann", "ann-password") as second,
    ):
        with path.open("rb") as handle:
            report = lead.post(
                f"/api/projects/{project.id}/import",
                files={"file": ("utterances.jsonl", handle, "application/x-ndjson")},
            )
        assert report.status_code == 202, report.text
        job = report.json()
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = lead.get(f"/api/projects/{project.id}/imports/{job['id']}").json()
        assert job["status"] == "done", job
        assert job["report"]["added"] == N_INTENTS * PER_INTENT

        logs: dict[str, list[tuple[int, int | None]]] = {"lead": [], "ann": []}
        threads = [
            threading.Thread(target=annotate, args=(lead, project.id, gold, 100, logs["lead"])),
            threading.Thread(target=annotate, args=(second, project.id, gold, 100, logs["ann"])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert all(not t.is_alive() for t in threads)
        assert len(logs["lead"]) == 100 and len(logs["ann"]) == 100

        lead_items = {item for item, _ in logs["lead"]}
        ann_items = {item for item, _ in logs["ann"]}
        assert len(lead_items) == 100 and len(ann_items) == 100
        assert not lead_items & ann_items, "an item was leased to both annotators"

        served_versions = {v for _, v in logs["lead"] + logs["ann"] if v is not None}
        assert len(served_versions) >= 2, f"the queue served versions {served_versions}"

        versions = lead.get(f"/api/projects/{project.id}/model-versions").json()
        assert len(versions) >= 2
        jobs = lead.get(f"/api/projects/{project.id}/jobs").json()
        assert sum(job["status"] == "done" for job in jobs) >= 2
        labels = lead.get(f"/api/projects/{project.id}/labels", params={"limit": 500}).json()
        assert len(labels["items"]) == 200
        assert all(row["label"] == gold[row["text"]] for row in labels["items"])
