"""Sixty annotators for fifteen seconds on SQLite: no 5xx, nothing lost, nothing served twice.

The small version of ``benchmarks/load.py`` (100 annotators, 60 s, both databases, with
and without a 200 MB import). A real server (uvicorn, retrain worker inside) on
loopback; every annotator loops ``queue/next`` → submit a label while retrains run and
an admin imports a small file into a second project of the same database.

One text in ten gets a wrong label, so the relabel queue (every 50 labels) finds suspects
and serves second opinions on labeled items meanwhile: by design those reach a second
annotator, and ``check_store`` counts them apart from double assignments.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labelwise.data import read_dataset
from tests.conftest import take_intents
from tests.server.live import LiveServer
from tests.server.load import (
    ImportRun,
    check_store,
    run_annotators,
    second_project,
    seed,
    write_large_import,
)

ANNOTATORS = 60
SECONDS = 15.0
IMPORT_MB = 2.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sixty_annotators_on_sqlite(
    database_url: str,
    session_factory: sessionmaker[Session],
    clinc_dir: Path,
    tmp_path: Path,
) -> None:
    rows = take_intents(read_dataset(clinc_dir / "train.jsonl", require_labels=True), 10)
    gold = dict(zip(rows.texts, map(str, rows.labels), strict=True))
    labels = sorted(set(gold.values()))
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"text": t}) + "\n" for t in gold), encoding="utf-8")
    crowd = seed(
        session_factory,
        annotators=ANNOTATORS,
        labels=labels,
        items_file=items,
        # Retrains keep happening underneath: one every 25 labels, on TF-IDF features.
        settings={
            "features": "tfidf",
            "retrain_every": 25,
            "min_labels": 10,
            "relabel_every": 50,
        },
    )
    bulk = second_project(session_factory, labels)
    upload = tmp_path / "bulk.jsonl"
    bulk_rows = write_large_import(upload, gold, IMPORT_MB, row_bytes=760)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # A generous start-up allowance: on shared CI cores the server's imports alone can
    # take most of LiveServer's default minute.
    server = LiveServer(database_url, data_dir).start(timeout=180.0)
    try:
        importing = ImportRun(server.url, crowd.admin_token, bulk, upload, timeout=120.0)
        importing.start()
        time.sleep(0.5)  # the upload is under way when the annotators begin
        result = run_annotators(
            server.url, crowd, _noisy(gold, labels), seconds=SECONDS, request_timeout=45.0
        )
        imported = importing.join()
    finally:
        server.stop()
    check = check_store(session_factory, crowd, result)
    report = json.dumps(
        {**result.summary(), **check.summary(), "import": imported}, indent=2, default=str
    )

    assert result.client_errors == 0, report
    assert result.server_errors == 0, report
    assert not result.no_answer, report
    assert check.lost == 0, report
    assert check.double_assignments == 0, report
    # The run measured something: labels kept coming (a loose floor: CI's cores are shared).
    assert len(result.acknowledged) >= SECONDS, report
    # ...and the import beside it went through, all of it.
    assert importing.added() == bulk_rows, report


def _noisy(gold: dict[str, str], labels: list[str]) -> Callable[[str], str]:
    """The gold label, except for one text in ten (fixed by the text): the next label."""

    def label(text: str) -> str:
        if zlib.crc32(text.encode()) % 10:
            return gold[text]
        return labels[(labels.index(gold[text]) + 1) % len(labels)]

    return label
