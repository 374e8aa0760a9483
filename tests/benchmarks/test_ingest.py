"""``benchmarks/ingest.py`` end to end on a small replay: SQLite only, a TF-IDF stand-in
for MiniLM, 1,000 messages. 15-30 s on two cores shared at load 3-5, nearly all of it
two interpreters' imports and the server's start-up; the measuring itself takes seconds.

The script runs as a user runs it (a fresh interpreter, a real server on loopback), and
what it writes is checked: every message acknowledged and stored once, no 5xx, the
bounded drain grouped exactly its limit, and the profile has its stages.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 1_000
DRAIN_LIMIT = 100


def test_ingest_benchmark_runs_end_to_end(clinc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    # The flags of a smoke run (see its docstring); --seconds and the timeout bound it.
    flags = {
        "--databases": "sqlite",
        "--messages": str(MESSAGES),
        "--batch": "250",
        "--clients": "2",
        "--seconds": "60",
        "--embedder": "tfidf",
        "--drain-limit": str(DRAIN_LIMIT),
        "--profile-batch": "250",
        "--data-dir": str(clinc_dir),
        "--out": str(out),
    }
    done = subprocess.run(
        [sys.executable, "benchmarks/ingest.py", *(x for pair in flags.items() for x in pair)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    result = json.loads((out / "ingest.json").read_text(encoding="utf-8"))
    (run,) = result["runs"]
    assert run["database"] == "sqlite"
    assert run["acknowledged"] == run["accepted"] == MESSAGES
    assert run["duplicate"] == run["rejected"] == run["server_errors"] == 0
    assert not run["no_answer"]
    assert run["store_matches"], run
    assert run["stored_messages"] == run["traffic_count_sum"] == MESSAGES
    assert run["acknowledged_per_second"] > 0
    drain = run["drain"]
    assert drain["job_status"] == "done"
    # Audit items (a tenth of the new texts) stand apart: groups of one, never embedded.
    assert 0 < drain["apart"] < run["new_items"] // 4
    assert drain["grouped"] == DRAIN_LIMIT + drain["apart"]
    assert drain["set_aside"] == run["new_items"] - drain["apart"] - DRAIN_LIMIT
    assert drain["left_ungrouped"] == 0
    assert run["profile"]["messages"] == 250
    assert {"check_message", "_store_messages", "rest", "whole call"} <= set(
        run["profile"]["stages"]
    )
    table = (out / "ingest.md").read_text(encoding="utf-8")
    assert "| sqlite |" in table
    assert "--drain-limit 100" in table
    assert (out / "ingest_profile.txt").is_file()
