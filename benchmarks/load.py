"""A hundred annotators on one server, with and without a large import running.

For each database (SQLite file, scratch PostgreSQL database) and each variant (plain; a
large import uploaded meanwhile), a fresh database gets an admin, ``--annotators``
annotators with API tokens and a project of CLINC150 utterances (TF-IDF features,
retrain every ``--retrain-every`` labels, overlap 1). A real server (uvicorn on
127.0.0.1, the retrain worker inside) is started, and every annotator loops
``queue/next`` → submit the gold label for ``--seconds`` (each with a request timeout and
a request cap, so a run stops by itself). Afterwards the database is read directly.

Reported per run: labels/s, ``next`` and submit p50/p95/p99, 5xx (and every other
non-2xx by status, and requests that got no answer), lost acknowledged writes (a 2xx
submit whose label is not stored as that annotator's live label) and double assignments
(an item served to two annotators, two annotators' leases on one item open at once, or
two live labels on one item; a relabel second opinion, which asks a second annotator
about a suspected label error by design, is counted apart). Targets: 0 5xx, 0 lost, 0 double assignments on both
databases, with and without the import.

The import variant: an admin uploads a ``--import-mb`` JSONL file (CLINC150 utterances,
each padded to ``--row-bytes``, so 200 MB ≈ 264k rows) through ``POST /import`` a moment
before the annotators start, into a second project of the same database by default
(``--import-into same`` adds the rows to the annotators' own pool instead; the oracle
knows their labels). The import's own time and outcome are reported beside the run.

Run from the repository root with the project's environment::

    python benchmarks/load.py                                   # both databases, both variants
    python benchmarks/load.py --databases sqlite --variants plain --annotators 60 --seconds 15

Writes ``benchmarks/results/load.json`` and ``load.md``. The figures are only as quiet
as the machine: anything else running on its cores shows up in the latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

# The load harness lives beside the live-server fixture, so the test suite's small run and
# this benchmark measure with one stick.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import take_intents
from tests.server.live import LiveServer
from tests.server.load import (
    Crowd,
    ImportRun,
    check_store,
    oracle,
    run_annotators,
    second_project,
    seed,
    write_large_import,
)

from labelwise.data import read_dataset
from labelwise.service import users
from labelwise.store import make_engine, make_session_factory, upgrade_database
from loop_latency import reset_database

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "clinc150"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/labelwise_load"


def gold_rows(data_dir: Path, intents: int) -> dict[str, str]:
    """Utterance → intent for the first ``intents`` intents, over train, val and test."""
    gold: dict[str, str] = {}
    for split in ("train", "val", "test"):
        rows = take_intents(read_dataset(data_dir / f"{split}.jsonl", require_labels=True), intents)
        gold.update(zip(rows.texts, map(str, rows.labels), strict=True))
    return gold


@contextmanager
def fresh_database(kind: str, postgres_url: str, tmp: Path) -> Iterator[str]:
    url = postgres_url if kind == "postgresql" else f"sqlite:///{tmp / 'load.db'}"
    reset_database(url)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    try:
        yield url
    finally:
        reset_database(url)  # PostgreSQL: drop the scratch database's contents


def one_run(
    args: argparse.Namespace, kind: str, variant: str, gold: dict[str, str], big: Path | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="labelwise-load-") as tmp_name:
        tmp = Path(tmp_name)
        items = tmp / "items.jsonl"
        items.write_text("".join(json.dumps({"text": t}) + "\n" for t in gold), encoding="utf-8")
        with fresh_database(kind, args.postgres_url, tmp) as url:
            engine = make_engine(url)
            factory = make_session_factory(engine)
            crowd = seed(
                factory,
                annotators=args.annotators,
                labels=sorted(set(gold.values())),
                items_file=items,
                settings={
                    "features": "tfidf",
                    "retrain_every": args.retrain_every,
                    "min_labels": 10,
                },
            )
            import_project = crowd.project_id
            if variant == "import" and args.import_into == "other":
                import_project = second_project(factory, sorted(set(gold.values())))
            data_dir = tmp / "data"
            data_dir.mkdir()
            server = LiveServer(url, data_dir).start(timeout=180.0)  # slow on busy cores
            try:
                upload = None
                if variant == "import":
                    assert big is not None
                    upload = ImportRun(
                        server.url, crowd.admin_token, import_project, big, args.import_timeout
                    )
                    upload.start()
                    time.sleep(1.0)  # the upload is under way when the annotators begin
                result = run_annotators(
                    server.url,
                    crowd,
                    oracle(gold),
                    seconds=args.seconds,
                    max_requests=args.max_requests,
                    request_timeout=args.request_timeout,
                )
                imported = upload.join() if upload is not None else None
                jobs = _retrains(server.url, crowd)
            finally:
                server.stop()
            check = check_store(factory, crowd, result)
            engine.dispose()
            # The server's own account of any failure (its log goes with the temp folder).
            log = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
    return {
        "database": kind,
        "variant": variant,
        **result.summary(),
        **check.summary(),
        "retrain_jobs": jobs,
        "import": imported,
        "server_log_tail": log[-3000:] if result.first_errors else "",
    }


def _retrains(url: str, crowd: Crowd) -> dict[str, int]:
    """Model versions published during the run (the worker retrained under the load)."""
    headers = {"Authorization": f"Bearer {crowd.admin_token}"}
    response = httpx.get(
        f"{url}/api/projects/{crowd.project_id}/model-versions", headers=headers, timeout=60
    )
    if response.status_code != 200:
        return {"model_versions": -1}
    return {"model_versions": len(response.json())}


def ms(summary: dict[str, float]) -> str:
    return (
        f"{summary['p50'] * 1000:.0f} / {summary['p95'] * 1000:.0f} / {summary['p99'] * 1000:.0f}"
    )


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Labeling server under load: 5xx, lost writes, double assignments",
        "",
        f"Command: `{result['command']}`",
        "",
        f"{result['annotators']} concurrent annotators (threads, one connection each) for "
        f"{result['seconds']:.0f} s, looping `next` → submit with the gold label; "
        f"{result['pool']:,} CLINC150 items, TF-IDF, retrain every {result['retrain_every']} "
        f"labels, worker in the server process; {result['machine']}. "
        f"Import variant: {result['import_mb']:.0f} MB JSONL ({result['import_rows']:,} rows) "
        f"uploaded into the {result['import_into']} project as the annotators start.",
        "",
        "| database | import | labels/s | `next` p50 / p95 / p99 ms | submit p50 / p95 / p99 ms "
        "| 5xx | other non-2xx | no answer | lost | double assignments | model versions | import |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in result["runs"]:
        other = sum(
            n for key, n in run["statuses"].items() if not key.split()[1].startswith(("2", "5"))
        )
        imported = run["import"]
        if imported is None:
            import_cell = "–"
        else:
            job = imported.get("job") or {}
            staged = (job.get("progress") or {}).get("rows_staged", "?")
            import_cell = (
                f"HTTP {imported.get('upload_status', '?')}, job {job.get('status', '?')} "
                f"({staged} rows staged) after {imported.get('seconds', '?')} s"
            )
        lines.append(
            f"| {run['database']} | {'yes' if run['variant'] == 'import' else 'no'} "
            f"| {run['labels_per_second']:.1f} | {ms(run['next'])} | {ms(run['submit'])} "
            f"| {run['server_errors']} | {other} | {sum(run['no_answer'].values())} "
            f"| {run['lost_acknowledged_writes']} | {run['double_assignments']} "
            f"| {run['retrain_jobs']['model_versions']} | {import_cell} |"
        )
    met = all(
        r["server_errors"] == 0
        and not r["no_answer"]
        and r["lost_acknowledged_writes"] == 0
        and r["double_assignments"] == 0
        for r in result["runs"]
    )
    lines += [
        "",
        f"Targets (0 5xx, 0 lost, 0 double assignments on every run): {'met' if met else 'MISSED'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--variants", default="plain,import")
    parser.add_argument("--postgres-url", default=POSTGRES, help="a scratch database, recreated")
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=20_000, help="per annotator")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--intents", type=int, default=30, help="CLINC150 intents in the pool")
    parser.add_argument("--retrain-every", type=int, default=25)
    parser.add_argument("--import-mb", type=float, default=200.0)
    parser.add_argument("--row-bytes", type=int, default=760)
    parser.add_argument("--import-into", choices=("other", "same"), default="other")
    parser.add_argument("--import-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if not 1 <= args.annotators <= 500 or not 0 < args.seconds <= 600:
        parser.error("--annotators must be 1..500 and --seconds 0..600 (the run is bounded)")

    # Annotators authenticate with API tokens; a production-cost password hash per user
    # (~0.2 s each) would only slow the set-up of a hundred accounts.
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    gold = gold_rows(args.data_dir, args.intents)
    runs: list[dict[str, Any]] = []
    variants = args.variants.split(",")
    with tempfile.TemporaryDirectory(prefix="labelwise-load-import-") as tmp:
        big, rows = None, 0
        if "import" in variants:
            big = Path(tmp) / "large-import.jsonl"
            rows = write_large_import(big, gold, args.import_mb, args.row_bytes)
        for kind in args.databases.split(","):
            for variant in variants:
                print(
                    f"{kind}, {variant}: {args.annotators} annotators, {args.seconds:.0f} s",
                    flush=True,
                )
                run = one_run(args, kind, variant, gold, big)
                print(json.dumps(run, indent=2, default=str), flush=True)
                runs.append(run)
    result = {
        "command": " ".join(["python benchmarks/load.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "annotators": args.annotators,
        "seconds": args.seconds,
        "pool": len(gold),
        "retrain_every": args.retrain_every,
        "import_mb": args.import_mb,
        "import_rows": rows,
        "import_into": args.import_into,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    table = markdown(result)
    (args.out / "load.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
