"""Retrain-to-serve latency and ``next`` latency of the labeling server on a large pool.

Two measurements, both on a project (MiniLM features by default) whose embeddings are
already cached, over a pool of ``--n-pool`` items (100,000 by default; ``--n-pool 1000000``
is the million-item project of issue 15):

1. **Submit → new model serving** (service level, one process): a ``RetrainWorker``
   thread runs beside the labeling; the clock starts when the submit that crosses
   ``retrain_every`` returns (the label is committed and the job queued) and stops when
   the project's queue points at the new model version. Repeated ``--retrains`` times.
   With ``--full-rescore-every`` above 1 the retrains are timed once the neighbour
   index (built beside the worker) is ready, and how long that took is reported.
2. **``next`` under load** (HTTP): a real server (uvicorn, worker inside) and
   ``--annotators`` concurrent clients, each looping next → submit with the gold label
   for ``--seconds``; the latency of every ``next`` call is recorded (retrains keep
   happening underneath). The server is a new process over the same data directory: its
   worker reads the feature store the first phase wrote, embedding nothing again. Its peak
   resident memory (``VmHWM``, which counts the store's mapped pages) and its peak
   anonymous memory (``RssAnon`` sampled every 0.25 s: beyond the page cache) are
   reported.

The pool: every CLINC150 utterance (train, val, test), plus numbered variants of them
("<text> (k)") up to ``--n-pool`` items. Base texts get their real MiniLM vectors (the
embedding cache under ``~/.cache/labelwise/embeddings`` is filled on first use);
variants get the base vector plus small Gaussian noise, renormalised. All vectors are
written to the server's embedding cache beforehand, so no text is encoded while timing.

Run from the repository root with the project's environment::

    python benchmarks/loop_latency.py                     # SQLite file
    python benchmarks/loop_latency.py --n-pool 1000000 --name loop_latency_1m
    python benchmarks/loop_latency.py --full-rescore-every 5 --name loop_latency_incremental
    python benchmarks/loop_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/labelwise_bench

A PostgreSQL URL names a scratch database, which is dropped and created afresh.

Writes ``benchmarks/results/loop_latency.json`` and ``loop_latency.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from labelwise.data import read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.service import importing, projects, queue, training, users
from labelwise.store import (
    Job,
    JobStatus,
    Project,
    make_engine,
    make_session_factory,
    upgrade_database,
)

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "clinc150"


def build_pool(
    data_dir: Path, n_pool: int, seed: int
) -> tuple[list[str], list[str], np.ndarray[Any, Any]]:
    """Texts, gold labels and unit vectors (n_pool, 384) float32."""
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for split in ("train", "val", "test"):
        data = read_dataset(data_dir / f"{split}.jsonl", require_labels=True)
        for t, label in zip(data.texts, data.labels, strict=True):
            if t not in seen:
                seen.add(t)
                texts.append(t)
                labels.append(str(label))
    base = len(texts)
    embedder = SentenceEmbedder(cache=EmbeddingCache(Path.home() / ".cache/labelwise/embeddings"))
    base_vectors = embedder.transform(texts)
    rng = np.random.default_rng(seed)
    out_texts, out_labels, rows = (
        list(texts[:n_pool]),
        list(labels[:n_pool]),
        [base_vectors[:n_pool]],
    )
    k = 1
    while len(out_texts) < n_pool:
        take = min(base, n_pool - len(out_texts))
        out_texts += [f"{t} ({k})" for t in texts[:take]]
        out_labels += labels[:take]
        noisy = base_vectors[:take] + rng.normal(0, 0.02, (take, base_vectors.shape[1])).astype(
            np.float32
        )
        rows.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        k += 1
    return out_texts, out_labels, np.concatenate(rows).astype(np.float32)


def memory_mb(pid: int) -> dict[str, float]:
    """The process's ``VmHWM`` (peak resident, with the mapped files it has touched) and
    ``RssAnon`` (its own memory, beyond the page cache), MB; empty where /proc lacks them."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "RssAnon"):
                found[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


class AnonPeak(threading.Thread):
    """Samples a process's ``RssAnon`` every ``interval`` seconds and keeps the largest."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, float("nan")
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            anon = memory_mb(self.pid).get("RssAnon")
            if anon is not None and not anon <= self.peak:
                self.peak = anon


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def reset_database(url: str) -> None:
    """A PostgreSQL URL names a scratch database: it is dropped and created afresh."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def service_latency(
    args: argparse.Namespace, url: str, data_dir: Path, pool: Any
) -> dict[str, Any]:
    texts, gold, _ = pool
    engine = make_engine(url)
    upgrade_database(engine)
    factory = make_session_factory(engine)
    pool_file = data_dir / "pool.jsonl"
    with pool_file.open("w", encoding="utf-8") as out:
        for t in texts:
            out.write(json.dumps({"text": t}) + "\n")
    labels = sorted(set(gold))
    with factory() as session:
        admin = users.create_user(session, username="lead", password="lead-password", is_admin=True)
        for i in range(args.annotators):
            user = users.create_user(session, username=f"ann{i}", password="annotator-pw")
        project = projects.create_project(
            session,
            name="latency",
            labels=labels,
            owner=admin,
            settings={
                "features": args.features,
                "retrain_every": args.retrain_every,
                "min_labels": args.retrain_every,
                "queue_size": 1000,
                "full_rescore_every": args.full_rescore_every,
            },
        )
        for i in range(args.annotators):
            user = users.get_user(session, username=f"ann{i}")
            projects.add_member(session, project_id=project.id, user=user)
        t0 = time.perf_counter()
        report = importing.import_items(session, project_id=project.id, path=pool_file, user=admin)
        import_seconds = time.perf_counter() - t0
    position_gold = dict(enumerate(gold))
    worker = training.RetrainWorker(factory, data_dir=data_dir, poll_seconds=args.poll_seconds)
    worker.start()

    def current_round() -> int | None:
        with factory() as s:
            value = s.scalar(select(Project.current_round_id).where(Project.id == project.id))
            s.commit()
            return value

    def wait_for_new_round(old: int | None, timeout: float = 600) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if current_round() != old:
                return time.perf_counter()
            time.sleep(0.002)
        raise TimeoutError("no new model version")

    def label_until_queued(session: Any) -> float:
        """Label served items until a submit queues a retrain; returns when it returned.

        Audit labels (random picks, ``audit_fraction``) do not count toward
        ``retrain_every``, so the number of submits it takes varies."""
        while True:
            served = queue.lease_next(session, project_id=project.id, annotator=admin)
            assert served is not None
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=admin,
                item_id=served.item_id,
                value=position_gold[served.position],
                client_key=str(uuid.uuid4()),
            )
            submitted = time.perf_counter()
            waiting = session.scalar(
                select(Job.id).where(
                    Job.project_id == project.id,
                    Job.kind == training.RETRAIN,
                    Job.status == JobStatus.QUEUED,
                )
            )
            session.commit()
            if waiting is not None:
                return submitted

    latencies: list[float] = []
    with factory() as session:
        t0 = time.perf_counter()
        label_until_queued(session)
        first = wait_for_new_round(None) - t0
        # Incremental rounds: the neighbour index is built beside the worker, started by
        # the first (full) ranking; the retrains below are timed once it is ready.
        index_ready = None
        if args.full_rescore_every > 1:
            t0 = time.perf_counter()
            while not worker.neighbour_index_ready(project.id):
                if time.perf_counter() - t0 > 1800:
                    raise TimeoutError("the neighbour index was not ready in 30 minutes")
                time.sleep(0.1)
            index_ready = time.perf_counter() - t0
        for _ in range(args.retrains):
            old = current_round()
            submitted = label_until_queued(session)
            latencies.append(wait_for_new_round(old) - submitted)
        versions = training.list_model_versions(session, project_id=project.id)
    worker.stop()
    engine.dispose()
    metrics = [v.metrics for v in versions[1:]]
    store = sum(f.stat().st_size for f in (data_dir / "projects").rglob("features/*"))
    return {
        "feature_store_mb": store / 2**20,
        "n_items": report.added,
        "import_seconds": import_seconds,
        "first_model_seconds": first,
        "retrain_to_serving_seconds": latencies,
        "median": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "worker_breakdown_median": {
            key: statistics.median(m[key] for m in metrics)
            for key in ("fit_seconds", "query_seconds", "seconds_total")
        },
        "label_counts": [v.label_count for v in versions],
        "index_ready_seconds": index_ready,
        # With --full-rescore-every above 1: the ranking time of full and candidate rounds.
        "rank_seconds_by_round": median_by_round(metrics, "query_seconds"),
        "ranked_by_round": median_by_round(metrics, "ranked"),
    }


def median_by_round(metrics: list[dict[str, Any]], key: str) -> dict[str, float]:
    """The median of a version metric over full and over candidate incremental rounds
    (kinds with no version left out; empty without incremental rounds)."""
    by_kind: dict[str, list[float]] = {}
    for m in metrics:
        if "rescored" in m:
            by_kind.setdefault(m["rescored"], []).append(m[key])
    return {
        kind: statistics.median(values)
        for kind, values in sorted(by_kind.items(), key=lambda kv: kv[0] != "full")
    }


def http_load(
    args: argparse.Namespace, url: str, data_dir: Path, gold: list[str]
) -> dict[str, Any]:
    port = 8765
    env = {
        **os.environ,
        "LABELWISE_DATABASE_URL": url,
        "LABELWISE_DATA_DIR": str(data_dir),
        "LABELWISE_WORKER_POLL_SECONDS": str(args.poll_seconds),
    }
    log = (data_dir / "server.log").open("ab")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "labelwise.server.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    anon = AnonPeak(server.pid)
    anon.start()
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        project_id = 1
        next_latencies: list[float] = []
        submits = [0]
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + args.seconds

        def annotator(i: int) -> None:
            token = httpx.post(
                base + "/api/auth/token",
                json={"username": f"ann{i}", "password": "annotator-pw"},
                timeout=60,
            ).json()["access_token"]
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    response = client.post(f"/api/projects/{project_id}/queue/next")
                    elapsed = time.perf_counter() - t0
                    if response.status_code != 200:
                        errors.append(f"next {response.status_code}")
                        return
                    item = response.json()
                    done = client.post(
                        f"/api/projects/{project_id}/annotations",
                        json={
                            "item_id": item["item_id"],
                            "value": gold[item["position"]],
                            "client_key": str(uuid.uuid4()),
                        },
                    )
                    with lock:
                        next_latencies.append(elapsed)
                        submits[0] += done.status_code == 201

        started = time.perf_counter()
        threads = [threading.Thread(target=annotator, args=(i,)) for i in range(args.annotators)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        peak_rss = memory_mb(server.pid).get("VmHWM", float("nan"))
        anon.done.set()
        with httpx.Client(base_url=base, timeout=60) as client:
            token = client.post(
                "/api/auth/token", json={"username": "lead", "password": "lead-password"}
            ).json()["access_token"]
            versions = client.get(
                f"/api/projects/{project_id}/model-versions",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
    finally:
        anon.done.set()
        server.terminate()
        server.wait(60)
        log.close()
    return {
        "annotators": args.annotators,
        "seconds": wall,
        "next_calls": len(next_latencies),
        "submits": submits[0],
        "errors": errors[:10],
        "next_p50": percentile(next_latencies, 50),
        "next_p95": percentile(next_latencies, 95),
        "next_p99": percentile(next_latencies, 99),
        "labels_per_second": submits[0] / wall,
        "model_versions_at_end": len(versions),
        "server_peak_rss_mb": peak_rss,
        "server_peak_anon_mb": anon.peak,
    }


def markdown(result: dict[str, Any]) -> str:
    s, h = result["service"], result["http"]
    b = s["worker_breakdown_median"]
    return "\n".join(
        [
            "# Labeling server: retrain-to-serve and `next` latency",
            "",
            f"Command: `{result['command']}`",
            "",
            f"Pool {s['n_items']:,} items (CLINC150 utterances and noisy variants), "
            f"{result['features']} features, MiniLM vectors pre-cached, {result['backend']}; "
            f"retrain every {result['retrain_every']} "
            f"labels, worker poll {result['poll_seconds']} s; {result['machine']}.",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| import of the pool (service: staged, then published in batches) | {s['import_seconds']:.1f} s |",
            f"| first model (fill the feature store from cached vectors, train, rank) | {s['first_model_seconds']:.2f} s |",
            f"| feature store on disk | {s['feature_store_mb']:,.0f} MB |",
            f"| submit → new model serving, median of {len(s['retrain_to_serving_seconds'])} | {s['median']:.3f} s |",
            f"| submit → new model serving, p95 / max | {s['p95']:.3f} s / {s['max']:.3f} s |",
            f"| worker: fit / rank the pool / whole job (median) | {b['fit_seconds']:.3f} / {b['query_seconds']:.3f} / {b['seconds_total']:.3f} s |",
            *(
                [
                    f"| incremental rounds: neighbour index ready after the first model "
                    f"(built beside the worker, idle) | {s['index_ready_seconds']:.1f} s |"
                ]
                if s.get("index_ready_seconds") is not None
                else []
            ),
            *(
                f"| incremental rounds (full_rescore_every {result['full_rescore_every']}): "
                f"{kind} rounds rank (median) | {s['ranked_by_round'][kind]:,.0f} items in "
                f"{seconds:.3f} s |"
                for kind, seconds in s.get("rank_seconds_by_round", {}).items()
            ),
            f"| `next` over HTTP, {h['annotators']} concurrent annotators: p50 / p95 / p99 | "
            f"{h['next_p50'] * 1000:.0f} / {h['next_p95'] * 1000:.0f} / {h['next_p99'] * 1000:.0f} ms |",
            f"| labels stored per second under that load ({h['submits']:,} in {h['seconds']:.0f} s) | {h['labels_per_second']:.1f} |",
            f"| model versions published during the load run (cumulative) | {h['model_versions_at_end']} |",
            f"| server process (worker inside): peak resident / peak anonymous (beyond the page cache) | {h['server_peak_rss_mb']:,.0f} / {h['server_peak_anon_mb']:,.0f} MB |",
            "",
            f"Goal: submit → new model serving under 1 s on 2 cores: "
            f"{'met' if s['median'] < 1.0 else 'MISSED'} (median {s['median']:.3f} s, "
            f"p95 {s['p95']:.3f} s).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--n-pool", type=int, default=100_000)
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--retrains", type=int, default=10)
    parser.add_argument("--poll-seconds", type=float, default=0.2)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", default="minilm", choices=("minilm", "tfidf", "minilm+tfidf"))
    parser.add_argument(
        "--full-rescore-every",
        type=int,
        default=1,
        help="the project's full_rescore_every (above 1: incremental rounds; needs minilm)",
    )
    parser.add_argument("--name", default="loop_latency", help="stem of the result files")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    pool = build_pool(args.data_dir, args.n_pool, args.seed)
    texts, gold, vectors = pool
    with tempfile.TemporaryDirectory(prefix="labelwise-latency-") as tmp:
        data_dir = Path(tmp)
        embedder = SentenceEmbedder()
        EmbeddingCache(data_dir / "embeddings").put(embedder.model_id, texts, vectors)
        url = args.database_url or f"sqlite:///{data_dir / 'latency.db'}"
        reset_database(url)
        service = service_latency(args, url, data_dir, pool)
        print(json.dumps(service, indent=2), flush=True)
        http = http_load(args, url, data_dir, gold)
        print(json.dumps(http, indent=2), flush=True)
    result = {
        "command": " ".join(["python benchmarks/loop_latency.py", *sys.argv[1:]]),
        "backend": "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite (WAL)",
        "retrain_every": args.retrain_every,
        "features": args.features,
        "full_rescore_every": args.full_rescore_every,
        "poll_seconds": args.poll_seconds,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "service": service,
        "http": http,
    }
    name = args.name + ("_postgres" if args.database_url.startswith("postgresql") else "")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    table = markdown(result)
    (args.out / f"{name}.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
