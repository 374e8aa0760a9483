"""Sixty annotators for fifteen seconds on SQLite: no 5xx, nothing lost, nothing served twice.

The small version of ``benchmarks/load.py`` (100 annotators, 60 s, both databases, with
and without a large import). A real server (uvicorn, retrain worker inside) on loopback;
every annotator loops ``queue/next`` → submit the gold label while retrains run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from labelwise.data import read_dataset
from tests.conftest import take_intents
from tests.server.live import LiveServer
from tests.server.load import check_store, run_annotators, seed

ANNOTATORS = 60
SECONDS = 15.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sixty_annotators_on_sqlite(
    database_url: str,
    session_factory: sessionmaker[Session],
    clinc_dir: Path,
    tmp_path: Path,
) -> None:
    rows = take_intents(read_dataset(clinc_dir / "train.jsonl", require_labels=True), 10)
    gold = dict(zip(rows.texts, map(str, rows.labels), strict=True))
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"text": t}) + "\n" for t in gold), encoding="utf-8")
    crowd = seed(
        session_factory,
        annotators=ANNOTATORS,
        labels=sorted(set(gold.values())),
        items_file=items,
        # Retrains keep happening underneath: one every 25 labels, on TF-IDF features.
        settings={"features": "tfidf", "retrain_every": 25, "min_labels": 10},
    )
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with LiveServer(database_url, data_dir) as server:
        result = run_annotators(
            server.url, crowd, gold.__getitem__, seconds=SECONDS, request_timeout=45.0
        )
    check = check_store(session_factory, crowd, result)
    report = json.dumps({**result.summary(), **check.summary()}, indent=2, default=str)

    assert result.client_errors == 0, report
    assert result.server_errors == 0, report
    assert not result.no_answer, report
    assert check.lost == 0, report
    assert check.double_assignments == 0, report
    # The run measured something: labels kept coming (a loose floor: CI's cores are shared).
    assert len(result.acknowledged) >= SECONDS, report
