"""Production traffic in: messages acknowledged per second, and how fast the backlog drains.

For each database (SQLite file, scratch PostgreSQL database) a fresh database gets an
admin, a project with the CLINC150 intents as labels and a service token with scope
``ingest``. Then:

1. **Acknowledgment.** A real server (uvicorn on 127.0.0.1) is started with the retrain
   worker *off*, so nothing but ingest runs in it. ``--messages`` CLINC150 train
   utterances are replayed through ``POST /api/projects/{id}/traffic`` in batches of
   ``--batch`` by ``--clients`` concurrent HTTP clients: each text repeats with a
   Zipf(``--zipf``) frequency over its rank (a random order of the unique texts), and
   every message has a unique external id, a timestamp, a conversation, a channel and
   the production model's prediction and confidence. The bodies are encoded before the
   clock starts; the run stops after the last batch or ``--seconds``, and every request
   has a timeout. Reported: messages acknowledged per second (messages in batches
   answered 2xx, over the wall time from the first send to the last answer), p50/p95
   batch latency, accepted / duplicate / rejected / new items, and every non-2xx by
   status. Afterwards the database is read directly: the stored messages and the sum of
   the traffic counts must both equal the accepted messages. Goal: >= 5,000/s.
2. **Drain.** The server stopped, the retrain worker is run in this process
   (``RetrainWorker.run_pending``) on the same database with a real MiniLM embedder and
   an empty embedding cache, and it runs the grouping job that ingest queued: it embeds
   the new texts and groups near-duplicates. Reported: texts embedded per second (time
   inside the embedder) and items grouped per second (the whole job). On two cores
   MiniLM manages a few dozen texts a second, so ``--drain-limit`` bounds the backlog:
   the items past the first N unique texts (by position) are set aside (marked as
   members of a group) before the worker starts, and the output says so.

``--profile-batch 10000`` adds, per database, the service function
``traffic.ingest_traffic`` alone, in this process (no HTTP): over the same batches as
the server got, one after another, and on one batch of that size (the replay's second,
so its texts are a mix of new items and repeats) with the wall and CPU seconds of each
stage, and under cProfile, whose top functions go to ``ingest_profile.txt``.

The acknowledgment phase also reads the CPU seconds the server process and PostgreSQL's
processes used (Linux ``/proc``): messages per CPU second hardly move when other work
shares the cores, where the rates do.

Run from the repository root with the project's environment::

    python benchmarks/ingest.py                                    # both databases
    python benchmarks/ingest.py --databases sqlite --messages 20000 --drain-limit 500

Writes ``benchmarks/results/ingest.json`` and ``ingest.md``. The client runs on the
same cores as the server (loopback), and the figures are only as quiet as the machine:
anything else running on its cores shows up in them.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import os
import platform
import pstats
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# The live-server fixture sits in the test suite; the load benchmark's scratch databases
# are reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.live import LiveServer

from labelwise.data import read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder, TfidfFeaturizer
from labelwise.service import projects, service_tokens, traffic, traffic_groups, users
from labelwise.service.training import RetrainWorker
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Item,
    Job,
    TrafficMessage,
    TrafficStat,
    User,
    make_engine,
    make_session_factory,
)
from load import SHARED, fresh_database
from loop_latency import percentile

HERE = Path(__file__).resolve().parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/labelwise_ingest"
GOAL_PER_SECOND = 5_000
ADMIN = "lead"
CHANNELS = ("web", "app", "voice")
#: When the replayed traffic "happened": message i at START + i * 10 ms.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: The ingest service's stages: functions ``traffic.ingest_traffic`` calls through its
#: module's globals, so the profile can clock them (``content_hash`` runs inside
#: ``check_message``; the others one after another).
STAGES = (
    "check_message",
    "content_hash",
    "_drop_known_ids",
    "_items_for",
    "_store_messages",
    "_count",
    "enqueue_grouping",
    "record",
)


# -- the replay ----------------------------------------------------------------------------


def replay(
    texts: Sequence[str], labels: Sequence[str], n: int, zipf: float, seed: int
) -> list[dict[str, Any]]:
    """``n`` messages whose texts repeat with Zipf(``zipf``) frequencies over their rank.

    The ranks are a seeded random order of the unique texts, so the head is not one
    intent; each message gets a unique external id, and the text's intent as the
    production model's prediction.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    weights = np.arange(1, len(texts) + 1, dtype=np.float64) ** -zipf
    drawn = order[rng.choice(len(texts), size=n, p=weights / weights.sum())]
    channels = rng.integers(len(CHANNELS), size=n)
    confidence = rng.uniform(0.3, 1.0, size=n).round(4)
    return [
        {
            "text": texts[k],
            "external_id": f"msg-{seed}-{i:08d}",
            "timestamp": (START + timedelta(milliseconds=10 * i))
            .isoformat()
            .replace("+00:00", "Z"),
            "conversation_id": f"conv-{i // 4:07d}",
            "channel": CHANNELS[c],
            "prediction": labels[k],
            "confidence": float(p),
            "metadata": {"bot_version": "2026.1"},
        }
        for i, (k, c, p) in enumerate(
            zip(drawn.tolist(), channels.tolist(), confidence.tolist(), strict=True)
        )
    ]


def batches(messages: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [messages[start : start + size] for start in range(0, len(messages), size)]


# -- set-up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """The project the bot ingests into, and the bot's service token."""

    project_id: int
    token: str


def seed_tenant(
    session_factory: sessionmaker[Session], labels: Sequence[str], *, name: str
) -> Tenant:
    """A project ``name`` with ``labels`` (the admin's, who is created first if need be)
    and a service token with scope ``ingest``."""
    with session_factory() as session:
        admin = session.scalar(select(User).where(User.username == ADMIN)) or users.create_user(
            session, username=ADMIN, password="ingest-bench-password", is_admin=True
        )
        project = projects.create_project(session, name=name, labels=list(labels), owner=admin)
        _, secret = service_tokens.create_service_token(
            session,
            project_id=project.id,
            name="bench bot",
            scopes=["ingest"],
            created_by_id=admin.id,
        )
        return Tenant(int(project.id), secret)


# -- phase 1: acknowledgment over HTTP ---------------------------------------------------


@dataclass
class Acks:
    """What the clients saw."""

    batches_sent: int = 0
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)
    # Sums of the 2xx answers' reports, and the messages in the batches they answered.
    totals: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        acknowledged = self.totals["messages"]
        per_second = acknowledged / self.wall_seconds if self.wall_seconds else 0.0
        return {
            "batches_sent": self.batches_sent,
            "wall_seconds": round(self.wall_seconds, 3),
            "acknowledged": acknowledged,
            "acknowledged_per_second": round(per_second, 1),
            "accepted_per_second": round(
                self.totals["accepted"] / self.wall_seconds if self.wall_seconds else 0.0, 1
            ),
            "batch_p50_seconds": round(percentile(self.latencies, 50), 4),
            "batch_p95_seconds": round(percentile(self.latencies, 95), 4),
            **{
                name: self.totals[name]
                for name in ("accepted", "duplicate", "rejected", "new_items", "repeats")
            },
            "statuses": dict(self.statuses),
            "server_errors": sum(n for key, n in self.statuses.items() if key.startswith("5")),
            "no_answer": dict(self.no_answer),
            "first_errors": self.first_errors,
        }


def send_all(
    url: str,
    tenant: Tenant,
    bodies: Sequence[bytes],
    sizes: Sequence[int],
    *,
    clients: int,
    seconds: float,
    request_timeout: float,
) -> Acks:
    """Post every body (each once) from ``clients`` threads until done or ``seconds`` pass."""
    acks = Acks()
    lock = threading.Lock()
    next_batch = itertools.count()
    sends: list[float] = []
    answers: list[float] = []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {tenant.token}", "Content-Type": "application/json"}
    path = f"/api/projects/{tenant.project_id}/traffic"

    def client() -> None:
        timeout = httpx.Timeout(request_timeout, connect=10.0)
        with httpx.Client(base_url=url, headers=headers, timeout=timeout) as http:
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_batch)
                if index >= len(bodies):
                    return
                began = time.perf_counter()
                try:
                    response = http.post(path, content=bodies[index])
                except httpx.TransportError as exc:
                    with lock:
                        acks.batches_sent += 1
                        acks.no_answer[type(exc).__name__] += 1
                        sends.append(began)
                    continue
                ended = time.perf_counter()
                with lock:
                    acks.batches_sent += 1
                    sends.append(began)
                    answers.append(ended)
                    acks.statuses[str(response.status_code)] += 1
                    if response.is_success:
                        acks.latencies.append(ended - began)
                        report = response.json()
                        acks.totals["messages"] += sizes[index]
                        acks.totals.update(
                            {
                                k: int(report[k])
                                for k in (
                                    "accepted",
                                    "duplicate",
                                    "rejected",
                                    "new_items",
                                    "repeats",
                                )
                            }
                        )
                        if report["errors"] and len(acks.first_errors) < 5:
                            acks.first_errors.append(json.dumps(report["errors"][:3]))
                    elif len(acks.first_errors) < 5:
                        acks.first_errors.append(
                            f"HTTP {response.status_code}: {response.text[:300]}"
                        )

    threads = [threading.Thread(target=client, name=f"bot-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sends and answers:
        acks.wall_seconds = max(answers) - min(sends)
    return acks


def check_store(
    session_factory: sessionmaker[Session], project_id: int, acks: Acks
) -> dict[str, Any]:
    """What the database holds after phase 1, against what the server acknowledged."""
    with session_factory() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(TrafficMessage)
            .where(TrafficMessage.project_id == project_id)
        )
        counted = session.scalar(
            select(func.coalesce(func.sum(TrafficStat.count), 0)).where(
                TrafficStat.project_id == project_id
            )
        )
        items = session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, Item.source == traffic.SOURCE)
        )
        end_read(session)
    accepted = acks.totals["accepted"]
    return {
        "stored_messages": int(stored or 0),
        "traffic_count_sum": int(counted or 0),
        "traffic_items": int(items or 0),
        "store_matches": stored == accepted
        and counted == accepted
        and items == acks.totals["new_items"],
    }


# -- CPU used (Linux /proc; unknown elsewhere) ------------------------------------------


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each process in ``pids`` that can be read."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # After the command name's closing parenthesis: utime and stime are the 12th
        # and 13th fields (14 and 15 of the whole line).
        fields = stat.rsplit(")", 1)[1].split()
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (their titles name it)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            found.append(int(entry.name))
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU seconds the processes used between two readings (one born since counts from
    zero); None when nothing could be read."""
    if not after:
        return None
    return round(sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items()), 2)


# -- phase 2: the embedding backlog --------------------------------------------------------


class TimedEmbedder:
    """The worker's embedder, counting the texts it is given and the seconds it takes."""

    def __init__(self, transform: Callable[[list[str]], Any]) -> None:
        self._transform = transform
        self.texts = 0
        self.seconds = 0.0

    def transform(self, texts: list[str]) -> Any:
        began = time.perf_counter()
        rows = self._transform(texts)
        self.seconds += time.perf_counter() - began
        self.texts += len(texts)
        return rows


def set_aside(
    session_factory: sessionmaker[Session], project_id: int, limit: int
) -> tuple[int, int, int]:
    """Leave the grouping only the first ``limit`` ungrouped traffic items (by position):
    the rest are marked members of the first one's group, which the worker skips.
    Returns (the backlog, how many were set aside, how many stand apart: audit items,
    which the job makes groups of one without embedding them)."""
    with session_factory() as session:
        begin_write(session)
        pending = traffic_groups.pending(session, project_id=project_id)
        todo = pending.candidates
        extra = [item_id for item_id, _ in todo[limit:]] if limit else []
        if extra:
            # At most the unique texts of a replay (15,100 for CLINC150): within
            # SQLite's 32,766 bound parameters.
            session.execute(
                update(TrafficStat)
                .where(TrafficStat.item_id.in_(extra))
                .values(group_item_id=todo[0][0])
            )
        session.commit()
        return len(todo), len(extra), len(pending.apart)


def drain(
    session_factory: sessionmaker[Session],
    project_id: int,
    data_dir: Path,
    *,
    embedder: str,
    limit: int,
) -> dict[str, Any]:
    """Run the queued grouping job in this process; its rates and what it grouped."""
    backlog, aside, apart = set_aside(session_factory, project_id, limit)
    began = time.perf_counter()
    if embedder == "minilm":
        # A fresh cache: nothing of the replay is embedded yet. The warm-up text loads
        # the model before the clock starts and is no CLINC150 utterance.
        minilm = SentenceEmbedder(cache=EmbeddingCache(data_dir / "embeddings"))
        minilm.transform(["warm-up: load the model"])
        timed = TimedEmbedder(minilm.transform)
    else:
        timed = TimedEmbedder(lambda texts: TfidfFeaturizer().fit_transform(texts))
    load_seconds = time.perf_counter() - began
    worker = RetrainWorker(session_factory, data_dir=data_dir, embedder_factory=lambda: timed)
    began = time.perf_counter()
    ran = worker.run_pending()
    seconds = time.perf_counter() - began
    with session_factory() as session:
        job = session.scalars(
            select(Job)
            .where(Job.project_id == project_id, Job.kind == traffic_groups.GROUP_KIND)
            .order_by(Job.id.desc())
        ).first()
        status, progress = (str(job.status), dict(job.progress or {})) if job else ("none", {})
        ungrouped = session.scalar(
            select(func.count())
            .select_from(TrafficStat)
            .where(TrafficStat.project_id == project_id, TrafficStat.group_item_id.is_(None))
        )
        end_read(session)
    grouped = int(progress.get("grouped", 0))
    return {
        "embedder": embedder,
        "backlog": backlog,
        "limit": limit,
        "set_aside": aside,
        "apart": apart,
        "jobs_run": ran,
        "job_status": status,
        "embedded": timed.texts,
        "embed_seconds": round(timed.seconds, 3),
        "embedded_per_second": round(timed.texts / timed.seconds, 1) if timed.seconds else 0.0,
        "grouped": grouped,
        "new_leaders": int(progress.get("new_leaders", 0)),
        "drain_seconds": round(seconds, 3),
        "grouped_per_second": round(grouped / seconds, 1) if seconds else 0.0,
        "model_load_seconds": round(load_seconds, 2),
        "left_ungrouped": int(ungrouped or 0),
    }


# -- the profile ---------------------------------------------------------------------------


def ingest_once(
    session_factory: sessionmaker[Session],
    project_id: int,
    batch: list[dict[str, Any]],
    profiler: cProfile.Profile | None = None,
) -> tuple[float, float, traffic.IngestReport]:
    """``traffic.ingest_traffic`` on ``batch`` (under ``profiler`` if given): wall and
    this process's CPU seconds, and the report."""
    with session_factory() as session:
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        report = traffic.ingest_traffic(session, project_id=project_id, messages=batch)
        if profiler is not None:
            profiler.disable()
        return time.perf_counter() - wall, time.process_time() - cpu, report


@contextmanager
def stage_clocks() -> Iterator[dict[str, list[float]]]:
    """Clock the ingest service's :data:`STAGES` while inside: each call adds its wall
    and CPU seconds to the ``{name: [wall, cpu]}`` yielded.

    Cheaper and steadier than cProfile on shared cores (two clock readings per call, not
    per Python call inside), and it separates this process's CPU from the wall time.
    """
    spent = {name: [0.0, 0.0] for name in STAGES}
    originals = {name: getattr(traffic, name) for name in STAGES}

    def clocked(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name][0] += time.perf_counter() - wall
                spent[name][1] += time.process_time() - cpu

        return call

    for name, function in originals.items():
        setattr(traffic, name, clocked(name, function))
    try:
        yield spent
    finally:
        for name, function in originals.items():
            setattr(traffic, name, function)


def profile_service(
    session_factory: sessionmaker[Session],
    labels: Sequence[str],
    chunks: Sequence[list[dict[str, Any]]],
    warm: list[dict[str, Any]],
    batch: list[dict[str, Any]],
) -> dict[str, Any]:
    """The service alone, each time in a fresh project of the database: the whole replay
    (``chunks``, in order, one after another; the same work as over HTTP), then ``batch``
    after ``warm`` with its stages clocked, and again under cProfile (whose top functions
    are returned as text)."""
    # Frozen, the collector skips this process's long-lived objects (the replay, a
    # million of them, and the imported modules), so the service is measured without
    # them, as the server's start-up objects are (server.app freezes them once).
    gc.collect()
    gc.freeze()
    try:
        alone = seed_tenant(session_factory, labels, name="alone")
        seconds = cpu = 0.0
        for chunk in chunks:
            wall, used, _ = ingest_once(session_factory, alone.project_id, chunk)
            seconds, cpu = seconds + wall, cpu + used
        clocked, profiled = (seed_tenant(session_factory, labels, name=n) for n in ("c", "p"))
        ingest_once(session_factory, clocked.project_id, warm)
        ingest_once(session_factory, profiled.project_id, warm)
        with stage_clocks() as spent:
            clocked_wall, clocked_cpu, report = ingest_once(
                session_factory, clocked.project_id, batch
            )
        profiler = cProfile.Profile()
        ingest_once(session_factory, profiled.project_id, batch, profiler)
    finally:
        gc.unfreeze()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    # What the stages leave: the project's row lock, the commit, the loop around them.
    top_level = [name for name in STAGES if name != "content_hash"]
    spent["rest"] = [
        clocked_wall - sum(spent[name][0] for name in top_level),
        clocked_cpu - sum(spent[name][1] for name in top_level),
    ]
    spent["whole call"] = [clocked_wall, clocked_cpu]
    messages = sum(map(len, chunks))
    return {
        "replay_messages": messages,
        "replay_seconds": round(seconds, 2),
        "replay_cpu_seconds": round(cpu, 2),
        "replay_per_second": round(messages / seconds, 1),
        "messages": len(batch),
        "new_items": report.new_items,
        "repeats": report.repeats,
        "stages": {
            name: {"wall": round(wall, 3), "cpu": round(used, 3)}
            for name, (wall, used) in spent.items()
        },
        "top": text.getvalue(),
    }


# -- one database --------------------------------------------------------------------------


def one_run(
    args: argparse.Namespace, kind: str, messages: list[dict[str, Any]], labels: list[str]
) -> dict[str, Any]:
    chunks = batches(messages, args.batch)
    bodies = [json.dumps({"messages": chunk}).encode() for chunk in chunks]
    sizes = [len(chunk) for chunk in chunks]
    with tempfile.TemporaryDirectory(prefix="labelwise-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        with fresh_database(kind, args.postgres_url, tmp) as url:
            engine = make_engine(url)
            factory = make_session_factory(engine)
            tenant = seed_tenant(factory, labels, name="traffic")
            data_dir = tmp / "data"
            data_dir.mkdir()
            # Worker off: phase 1 measures acknowledgment alone.
            server = LiveServer(url, data_dir, LABELWISE_RUN_WORKER="false").start(timeout=180.0)
            server_pids = [server.process.pid] if server.process is not None else []
            database = make_url(url).database if kind == "postgresql" else None
            server_cpu = cpu_seconds(server_pids)
            database_cpu = cpu_seconds(backends(database)) if database else {}
            client_cpu = time.process_time()
            try:
                acks = send_all(
                    server.url,
                    tenant,
                    bodies,
                    sizes,
                    clients=args.clients,
                    seconds=args.seconds,
                    request_timeout=args.request_timeout,
                )
                cpu = {
                    "server": cpu_used(server_cpu, cpu_seconds(server_pids)),
                    "database": cpu_used(database_cpu, cpu_seconds(backends(database)))
                    if database
                    else None,
                    "clients": round(time.process_time() - client_cpu, 2),
                }
            finally:
                server.stop()
            log = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
            check = check_store(factory, tenant.project_id, acks)
            drained = drain(
                factory,
                tenant.project_id,
                tmp / "worker",
                embedder=args.embedder,
                limit=args.drain_limit,
            )
            profile = None
            if args.profile_batch:
                # The stages: on the replay's second batch of that size, after its first.
                size = args.profile_batch
                profile = profile_service(
                    factory, labels, chunks, messages[:size], messages[size : 2 * size]
                )
            engine.dispose()
    summary = acks.summary()
    return {
        "database": kind,
        "messages": len(messages),
        "batches": len(bodies),
        "body_megabytes": round(sum(map(len, bodies)) / 1e6, 1),
        **summary,
        **check,
        "cpu_seconds": cpu,
        "drain": drained,
        "profile": profile,
        "server_log_tail": log[-3000:] if summary["server_errors"] or acks.no_answer else "",
    }


# -- output --------------------------------------------------------------------------------


def cpu_row(run: dict[str, Any]) -> str:
    cpu = run["cpu_seconds"]
    server, database = cpu["server"], cpu["database"]

    def cell(seconds: float | None) -> str:
        return "–" if seconds is None else f"{seconds:.1f}"

    def rate(seconds: float | None) -> str:
        return "–" if not seconds else f"{run['acknowledged'] / seconds:,.0f}"

    both = server + database if server is not None and database is not None else None
    return (
        f"| {run['database']} | {cell(server)} | {cell(database)} | {cell(cpu['clients'])} "
        f"| {rate(server)} | {rate(both)} |"
    )


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Production traffic in: messages acknowledged per second, and the backlog drain",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Machine: {result['machine']}; load average {result['load_before']} before, "
        f"{result['load_after']} after. The cores may be shared with other work, and the "
        "HTTP clients run on the same cores as the server (loopback), so these are floors "
        "for a quiet machine, not ceilings.",
        "",
        f"{result['messages']:,} CLINC150 train utterances ({result['distinct_texts']:,} distinct "
        f"texts drawn from {result['unique_texts']:,}, Zipf({result['zipf']}) over their rank), "
        f"each with a unique external id, a timestamp, a conversation, a channel, a prediction "
        f"and a confidence; batches of {result['batch']:,} posted by {result['clients']} "
        f"concurrent clients (bodies encoded before the clock starts), capped at "
        f"{result['seconds']:.0f} s. One uvicorn process, retrain worker off.",
        "",
        "## Acknowledgment",
        "",
        "| database | acknowledged/s | accepted/s | batch p50 / p95 ms | accepted | duplicate "
        "| rejected | new items | 5xx | other non-2xx | no answer | store check |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in result["runs"]:
        other = sum(n for key, n in run["statuses"].items() if not key.startswith(("2", "5")))
        check = (
            "ok" if run["store_matches"] else "MISMATCH"
        ) + f" ({run['stored_messages']:,} stored, counts sum {run['traffic_count_sum']:,})"
        lines.append(
            f"| {run['database']} | {run['acknowledged_per_second']:,.0f} "
            f"| {run['accepted_per_second']:,.0f} "
            f"| {run['batch_p50_seconds'] * 1000:,.0f} / {run['batch_p95_seconds'] * 1000:,.0f} "
            f"| {run['accepted']:,} | {run['duplicate']:,} | {run['rejected']:,} "
            f"| {run['new_items']:,} | {run['server_errors']} | {other} "
            f"| {sum(run['no_answer'].values())} | {check} |"
        )
    met = {
        run["database"]: run["acknowledged_per_second"] >= GOAL_PER_SECOND
        and run["server_errors"] == 0
        and run["store_matches"]
        for run in result["runs"]
    }
    lines += [
        "",
        f"Goal (>= {GOAL_PER_SECOND:,} acknowledged/s, no 5xx, the store matches): "
        + ", ".join(f"{db} {'met' if ok else 'MISSED'}" for db, ok in met.items())
        + ".",
        "",
        "CPU seconds used during the acknowledgment phase (read from /proc: the server "
        "process, PostgreSQL's processes serving the database, and the clients), and the "
        "messages acknowledged per CPU second, which a busy machine disturbs far less than "
        "the rates: per server CPU second is the ceiling of this one-process server with a "
        "core to itself (and PostgreSQL on another); per server + database CPU second, with "
        "both on one core.",
        "",
        "| database | server CPU s | database CPU s | clients CPU s | msgs per server CPU s "
        "| msgs per server + database CPU s |",
        "|---|---:|---:|---:|---:|---:|",
        *(cpu_row(run) for run in result["runs"]),
        "",
        "## Backlog drain",
        "",
        "The server stopped, `RetrainWorker.run_pending()` in this process runs the grouping "
        f"job ingest queued, with the {result['embedder']} embedder and an empty embedding "
        "cache (model loaded before the clock starts).",
        "",
        "| database | new texts in backlog | drained | set aside | embedded texts/s "
        "| grouped items/s | new groups | job | drain s | model load s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for run in result["runs"]:
        d = run["drain"]
        lines.append(
            f"| {run['database']} | {d['backlog']:,} | {d['grouped']:,} | {d['set_aside']:,} "
            f"| {d['embedded_per_second']:,.1f} | {d['grouped_per_second']:,.1f} "
            f"| {d['new_leaders']:,} | {d['job_status']} | {d['drain_seconds']:,.1f} "
            f"| {d['model_load_seconds']:,.1f} |"
        )
    if any(run["drain"]["set_aside"] for run in result["runs"]):
        lines += [
            "",
            f"Bounded by `--drain-limit {result['drain_limit']}`: the worker drained the first "
            f"{result['drain_limit']:,} new texts (by position); the rest of the backlog was "
            "set aside before it started (marked as group members, so it skips them). The "
            "rates are per text and hold for the whole backlog: draining it all takes about "
            "backlog / embedded texts/s.",
        ]
    profiles = [run for run in result["runs"] if run["profile"]]
    if profiles:
        lines += [
            "",
            "## Where an ingest batch spends its time",
            "",
            "`traffic.ingest_traffic` called in this process (no HTTP, no server, one caller) "
            "on the same batches in the same order, into a fresh project of the same database; "
            "beside it the server's figures from the acknowledgment phase. This process's CPU "
            "and the server's both leave out PostgreSQL's own work; for SQLite they include it. "
            "Here the long-lived objects are frozen out of the garbage collector "
            "(`gc.freeze()`), as the server freezes its start-up objects.",
            "",
            "| database | service alone msgs/s | its CPU s | msgs per its CPU s "
            "| over HTTP msgs/s | server CPU s | msgs per server CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for run in profiles:
            p = run["profile"]
            server = run["cpu_seconds"]["server"]
            lines.append(
                f"| {run['database']} | {p['replay_per_second']:,.0f} "
                f"| {p['replay_cpu_seconds']:.1f} "
                f"| {p['replay_messages'] / p['replay_cpu_seconds']:,.0f} "
                f"| {run['acknowledged_per_second']:,.0f} "
                + (
                    f"| {server:.1f} | {run['acknowledged'] / server:,.0f} |"
                    if server
                    else "| – | – |"
                )
            )
        lines += [
            "",
            f"Seconds per stage of one batch of {profiles[0]['profile']['messages']:,} messages "
            "(the replay's second of that size, after its first, in another fresh project; "
            "this process's CPU, "
            "and wall time, which adds the database server's work for PostgreSQL and "
            "whatever else ran on the cores; `content_hash` is part of `check_message`; "
            "`rest` is the project's row lock, the commit and the loop around them):",
            "",
            "| stage | "
            + " | ".join(f"{run['database']} CPU | {run['database']} wall" for run in profiles)
            + " |",
            "|---|" + "---:|---:|" * len(profiles),
        ]
        for stage in profiles[0]["profile"]["stages"]:
            lines.append(
                f"| `{stage}` | "
                + " | ".join(
                    f"{run['profile']['stages'][stage]['cpu']:.2f} "
                    f"| {run['profile']['stages'][stage]['wall']:.2f}"
                    for run in profiles
                )
                + " |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED.parent))
    parser.add_argument("--data-dir", type=Path, default=shared / "clinc150")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES, help="a scratch database, recreated")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000, help="messages per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, default=300.0, help="cap on sending")
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--zipf", type=float, default=1.1, help="exponent of the repeats")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--drain-limit",
        type=int,
        default=2_000,
        help="new texts the drain embeds (0: the whole backlog)",
    )
    parser.add_argument(
        "--embedder",
        choices=("minilm", "tfidf"),
        default="minilm",
        help="tfidf: a cheap stand-in for smoke runs (no MiniLM figures)",
    )
    parser.add_argument(
        "--profile-batch",
        type=int,
        default=0,
        help="also profile traffic.ingest_traffic on a batch of this size (0: no)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= traffic.MAX_BATCH:
        parser.error(f"--batch must be 1..{traffic.MAX_BATCH}")
    if not 1 <= args.messages <= 2_000_000 or not 1 <= args.clients <= 64:
        parser.error("--messages must be 1..2,000,000 and --clients 1..64 (the run is bounded)")
    if not 0 < args.seconds <= 3600 or args.drain_limit < 0:
        parser.error("--seconds must be in (0, 3600] and --drain-limit >= 0")
    if not 0 <= args.profile_batch <= traffic.MAX_BATCH or 2 * args.profile_batch > args.messages:
        parser.error(f"--profile-batch must be 0..{traffic.MAX_BATCH} and at most --messages / 2")

    rows = read_dataset(args.data_dir / "train.jsonl", require_labels=True)
    texts = list(dict.fromkeys(rows.texts))
    intent = dict(zip(rows.texts, map(str, rows.labels), strict=True))
    labels = [intent[t] for t in texts]
    messages = replay(texts, labels, args.messages, args.zipf, args.seed)
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: list[dict[str, Any]] = []
    for kind in args.databases.split(","):
        print(
            f"{kind}: {len(messages):,} messages in batches of {args.batch:,}, {args.clients} clients",
            flush=True,
        )
        run = one_run(args, kind, messages, sorted(set(labels)))
        printed = {k: v for k, v in run.items() if k != "profile"}
        print(json.dumps(printed, indent=2, default=str), flush=True)
        if run["profile"]:
            print(run["profile"]["top"], flush=True)
        runs.append(run)
    result = {
        "command": " ".join(
            ["python benchmarks/ingest.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "cpu_count": os.cpu_count(),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "messages": args.messages,
        "unique_texts": len(texts),
        "distinct_texts": len({m["text"] for m in messages}),
        "zipf": args.zipf,
        "batch": args.batch,
        "clients": args.clients,
        "seconds": args.seconds,
        "drain_limit": args.drain_limit,
        "embedder": args.embedder,
        "goal_per_second": GOAL_PER_SECOND,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest.json").write_text(
        json.dumps(
            {
                **result,
                "runs": [
                    {
                        **r,
                        "profile": r["profile"]
                        and {k: v for k, v in r["profile"].items() if k != "top"},
                    }
                    for r in runs
                ],
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    if profiles := [r for r in runs if r["profile"]]:
        (args.out / "ingest_profile.txt").write_text(
            "\n".join(f"== {r['database']} ==\n{r['profile']['top']}" for r in profiles),
            encoding="utf-8",
        )
    table = markdown(result)
    (args.out / "ingest.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
