"""How long a large import holds SQLite's write lock, per transaction, staging and publish.

A fresh SQLite database gets one project; a ``--mb`` JSONL file of padded CLINC150
utterances (the load benchmark's file: 200 MB ≈ 264k rows) is imported inline (the job
the server's worker runs). Every write transaction is timed from ``begin_write`` (which
takes the lock) to its commit, and reported per phase (staging, publishing): count,
median, p99 and max, with the import's total time and the publish's.

Run from the repository root with the project's environment::

    python benchmarks/import_publish.py --mb 200

Writes ``benchmarks/results/import_publish.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.load import write_large_import

from labelwise.service import importing, projects, transactions, users
from labelwise.store import make_engine, make_session_factory, upgrade_database
from load import SHARED, gold_rows

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200.0)
    parser.add_argument("--row-bytes", type=int, default=750)
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=RESULTS / "import_publish")
    args = parser.parse_args()
    gold = gold_rows(args.data_dir, 150)
    holds: dict[str, list[float]] = {"reading": [], "publishing": []}
    with tempfile.TemporaryDirectory(prefix="labelwise-import-publish-") as tmp:
        big = Path(tmp) / "large-import.jsonl"
        rows = write_large_import(big, gold, args.mb, args.row_bytes)
        engine = make_engine(f"sqlite:///{tmp}/labelwise.db")
        upgrade_database(engine)
        factory = make_session_factory(engine)
        phase: dict[str, Any] = {"now": "reading", "publish_started": 0.0}
        began: list[float] = []
        real_begin_write = transactions.begin_write

        def timed_begin_write(session: Any) -> None:
            # After the call: it first commits an open read transaction (not a hold).
            real_begin_write(session)
            if not began:
                began.append(time.perf_counter())

        def on_progress(progress: dict[str, Any]) -> None:
            if progress["phase"] == "publishing" and phase["now"] != "publishing":
                phase.update(now="publishing", publish_started=time.perf_counter())

        # importing calls begin_write through its module global: timed there.
        setattr(importing, "begin_write", timed_begin_write)  # noqa: B010
        with factory() as session:
            owner = users.create_user(session, username="owner", password="owner-password")
            project = projects.create_project(session, name="big", labels=["a", "b"], owner=owner)

            @event.listens_for(session, "after_commit")
            def _committed(_session: Any) -> None:
                if began:
                    holds[phase["now"]].append(time.perf_counter() - began.pop())

            started = time.perf_counter()
            report = importing.import_items(
                session, project_id=project.id, path=big, on_progress=on_progress
            )
            total = time.perf_counter() - started
        publish = time.perf_counter() - float(phase["publish_started"])
        engine.dispose()
        size = big.stat().st_size

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "n": len(ordered),
            "median_s": statistics.median(ordered),
            "p99_s": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "max_s": ordered[-1],
        }

    result = {
        "command": " ".join(["python benchmarks/import_publish.py", *sys.argv[1:]]),
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "added": report.added,
        "publish_batch": importing.PUBLISH_BATCH,
        "stage_batch": importing.STAGE_BATCH,
        "total_s": round(total, 1),
        "publish_s": round(publish, 1),
        "staging": summary(holds["reading"]),
        "publishing": summary(holds["publishing"]),
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Write-lock hold of a large SQLite import",
        "",
        f"`{result['command']}`: {rows:,} rows ({result['megabytes']} MB), "
        f"{report.added:,} items; total {result['total_s']} s, publish {result['publish_s']} s.",
        "",
        "| phase | write transactions | median | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("staging", "publishing"):
        s = result[name]
        assert isinstance(s, dict)
        lines.append(
            f"| {name} | {s['n']:,} | {s['median_s'] * 1000:.0f} ms | "
            f"{s['p99_s'] * 1000:.0f} ms | {s['max_s'] * 1000:.0f} ms |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
