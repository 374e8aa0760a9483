"""Concurrent annotators against a live server, and what the store says afterwards.

Shared by ``tests/server/test_load.py`` (60 annotators, 15 s, SQLite) and
``benchmarks/load.py`` (100 annotators, 60 s, both databases, with and without a large
import). Each annotator is a thread (its own token and kept-alive connection, from one
shared ``httpx.Client``) that loops ``queue/next`` → submit the gold label, bounded by a
deadline and a request count; every request has a timeout, so a run stops by itself.

What counts:

- **5xx** (and every other non-2xx, by status) and requests that got no answer in time.
- **Lost acknowledged writes**: a submit answered 2xx whose annotation is not in the
  store afterwards as that annotator's live label with that value (read directly from
  the database, not through the server).
- **Double assignments** (``overlap = 1``): an item served to two annotators, two
  annotators' leases on one item open at the same moment (from the ``leases`` table), or
  an item with two live labels. A second opinion on a suspected label error
  (``service.relabel``, served with the ``relabel`` strategy once a project has
  ``relabel_every`` labels) asks a second annotator about a labeled item by design: it is
  counted apart, as ``second_opinions``; one from the annotator who gave the first label
  is a double assignment.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from labelwise.service import importing, projects, users
from labelwise.service.relabel import RELABEL
from labelwise.store import Annotation, AnnotationKind, Lease

#: Gold label for a served item's text (the oracle).
Oracle = Callable[[str], str]

# Marks an imported copy of an utterance: "<utterance> ~~<k>~~ <padding>".
COPY_MARK = " ~~"


@dataclass(frozen=True)
class Crowd:
    """The seeded state: a project, its annotators' tokens and an admin's token."""

    project_id: int
    annotator_tokens: list[str]
    annotator_ids: list[int]
    admin_token: str


def seed(
    session_factory: sessionmaker[Session],
    *,
    annotators: int,
    labels: Sequence[str],
    items_file: Path,
    settings: Mapping[str, Any],
    password: str = "load-test-password",
) -> Crowd:
    """An admin, ``annotators`` members with API tokens, and a project with items.

    Tokens rather than log-ins: the log-in limit per client address would refuse a
    hundred log-ins from 127.0.0.1, and that limit is not what is being measured.
    """
    with session_factory() as session:
        admin = users.create_user(session, username="lead", password=password, is_admin=True)
        admin_token = users.create_token(session, user=admin, name="load")
        project = projects.create_project(
            session, name="load", labels=list(labels), owner=admin, settings=dict(settings)
        )
        tokens, ids = [], []
        for i in range(annotators):
            user = users.create_user(session, username=f"annotator{i:03d}", password=password)
            projects.add_member(session, project_id=project.id, user=user)
            tokens.append(users.create_token(session, user=user, name="load"))
            ids.append(user.id)
        importing.import_items(session, project_id=project.id, path=items_file, user=admin)
        return Crowd(project.id, tokens, ids, admin_token)


def second_project(session_factory: sessionmaker[Session], labels: Sequence[str]) -> int:
    """An empty project of the admin's in the same database: where a bulk import goes."""
    with session_factory() as session:
        admin = users.get_user(session, username="lead")
        project = projects.create_project(session, name="bulk", labels=list(labels), owner=admin)
        return int(project.id)


@dataclass(frozen=True)
class Acknowledged:
    """A submit the server answered 2xx: it promised this label is stored."""

    annotation_id: int
    item_id: int
    annotator: int
    value: str
    client_key: str


@dataclass
class LoadResult:
    """Everything the clients saw; :func:`check_store` adds what the database holds."""

    annotators: int
    seconds: float = 0.0
    next_seconds: list[float] = field(default_factory=list)
    submit_seconds: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    # (item id, annotator index, strategy) for every item a ``next`` served.
    served: list[tuple[int, int, str]] = field(default_factory=list)
    exhausted: int = 0
    client_errors: int = 0
    first_errors: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.split()[1].startswith("5"))

    def summary(self) -> dict[str, Any]:
        """Counts and latency percentiles (seconds), JSON-ready."""
        return {
            "annotators": self.annotators,
            "seconds": round(self.seconds, 2),
            "labels": len(self.acknowledged),
            "labels_per_second": round(len(self.acknowledged) / self.seconds, 2)
            if self.seconds
            else 0.0,
            "next": percentiles(self.next_seconds),
            "submit": percentiles(self.submit_seconds),
            "server_errors": self.server_errors,
            "statuses": dict(sorted(self.statuses.items())),
            "no_answer": dict(sorted(self.no_answer.items())),
            "annotators_out_of_items": self.exhausted,
            "client_errors": self.client_errors,
            "first_errors": self.first_errors,
        }


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in seconds (NaN for no calls), and the call count."""
    if not values:
        return {"count": 0, "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99])
    return {"count": len(values), "p50": float(p50), "p95": float(p95), "p99": float(p99)}


def run_annotators(
    url: str,
    crowd: Crowd,
    oracle: Oracle,
    *,
    seconds: float,
    max_requests: int = 100_000,
    request_timeout: float = 60.0,
    submit_attempts: int = 3,
) -> LoadResult:
    """All annotators loop next → submit until the deadline; returns what they saw.

    A failed submit is retried with the same ``client_key`` (as the web page does), so a
    retry can never store a second label. A ``503`` is waited out for its
    ``Retry-After`` (never past the deadline); any other failure backs off briefly, so a
    broken server is not hammered in a tight loop.
    """
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"the load run talks to loopback only, not {url}")
    result = LoadResult(annotators=len(crowd.annotator_tokens))
    lock = threading.Lock()
    project = crowd.project_id
    # One client for all annotators, with a connection each (httpx's pool is thread-safe):
    # a hundred clients would cost seconds of CPU for SSL contexts http never uses.
    client = httpx.Client(
        base_url=url,
        timeout=request_timeout,
        limits=httpx.Limits(
            max_connections=result.annotators + 1, max_keepalive_connections=result.annotators + 1
        ),
    )
    start = time.monotonic()
    deadline = start + seconds

    def note(kind: str, response: httpx.Response | None, elapsed: float, error: str = "") -> None:
        with lock:
            if response is None:
                result.no_answer[f"{kind} {error}"] += 1
                text = f"{kind}: no answer ({error})"
            else:
                result.statuses[f"{kind} {response.status_code}"] += 1
                (result.next_seconds if kind == "next" else result.submit_seconds).append(elapsed)
                text = f"{kind} {response.status_code}: {response.text[:300]}"
            if (response is None or response.status_code >= 300) and len(result.first_errors) < 10:
                result.first_errors.append(text)

    def call(index: int, kind: str, path: str, body: Any) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {crowd.annotator_tokens[index]}"}
        t0 = time.monotonic()
        try:
            response = client.post(path, json=body, headers=headers)
        except httpx.TimeoutException:
            note(kind, None, time.monotonic() - t0, "timeout")
            return None
        except httpx.TransportError as exc:
            note(kind, None, time.monotonic() - t0, type(exc).__name__)
            return None
        note(kind, response, time.monotonic() - t0)
        return response

    def pause(response: httpx.Response | None) -> None:
        wait = 0.2
        if response is not None and response.status_code == 503:
            try:
                wait = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait = 1.0
        time.sleep(max(0.0, min(wait, deadline - time.monotonic())))

    def annotator(index: int) -> None:
        # A bug on the client's side is a failed run too, never a silently quiet thread.
        try:
            annotate(index)
        except Exception as exc:  # noqa: BLE001
            with lock:
                result.client_errors += 1
                result.first_errors.append(f"annotator {index}: {exc!r}")

    def annotate(index: int) -> None:
        requests = 0
        while time.monotonic() < deadline and requests < max_requests:
            requests += 1
            response = call(index, "next", f"/api/projects/{project}/queue/next", None)
            if response is None or response.status_code not in (200, 204):
                pause(response)
                continue
            if response.status_code == 204:
                with lock:
                    result.exhausted += 1
                return
            item = response.json()
            with lock:
                result.served.append((item["item_id"], index, item["reason"]["strategy"]))
            body = {
                "item_id": item["item_id"],
                "value": oracle(item["text"]),
                "client_key": str(uuid.uuid4()),
                "lease_id": item["lease_id"],
            }
            for attempt in range(submit_attempts):
                # The first submit always goes (the item is leased); retries only in time.
                if attempt and (time.monotonic() >= deadline or requests >= max_requests):
                    break
                requests += 1
                response = call(index, "submit", f"/api/projects/{project}/annotations", body)
                if response is not None and response.status_code in (200, 201):
                    stored = response.json()
                    with lock:
                        result.acknowledged.append(
                            Acknowledged(
                                stored["id"],
                                body["item_id"],
                                index,
                                body["value"],
                                body["client_key"],
                            )
                        )
                    break
                if (
                    response is not None
                    and response.status_code < 500
                    and response.status_code != 429
                ):
                    break  # a 4xx will not change on a retry
                pause(response)

    threads = [
        threading.Thread(target=annotator, args=(i,), name=f"annotator-{i}", daemon=True)
        for i in range(result.annotators)
    ]
    for thread in threads:
        thread.start()
    # Each thread stops at the deadline; the last request it sent may take up to its
    # timeout, and a thread past that (it cannot be) is abandoned as a daemon.
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + request_timeout * submit_attempts + 5)
    result.seconds = time.monotonic() - start
    client.close()
    return result


@dataclass(frozen=True)
class StoreCheck:
    """What the database holds after a run, against what the clients were told."""

    lost: int
    double_assignments: int
    items_served_to_two: int
    overlapping_leases: int
    items_labeled_twice: int
    second_opinions: int
    examples: list[str]

    def summary(self) -> dict[str, Any]:
        return {
            "lost_acknowledged_writes": self.lost,
            "double_assignments": self.double_assignments,
            "items_served_to_two_annotators": self.items_served_to_two,
            "overlapping_leases": self.overlapping_leases,
            "items_with_two_live_labels": self.items_labeled_twice,
            "second_opinions_served": self.second_opinions,
            "examples": self.examples,
        }


def check_store(
    session_factory: sessionmaker[Session], crowd: Crowd, result: LoadResult
) -> StoreCheck:
    """Count lost acknowledged writes and double assignments (the project has overlap 1)."""
    examples: list[str] = []
    with session_factory() as session:
        wanted = {a.annotation_id: a for a in result.acknowledged}
        found: dict[int, Annotation] = {}
        ids = sorted(wanted)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for stored in session.scalars(select(Annotation).where(Annotation.id.in_(chunk))):
                found[stored.id] = stored
        lost = 0
        for annotation_id, ack in wanted.items():
            row = found.get(annotation_id)
            ok = (
                row is not None
                and row.undone_at is None
                and row.kind == AnnotationKind.LABEL
                and row.item_id == ack.item_id
                and row.annotator_id == crowd.annotator_ids[ack.annotator]
                and row.value == ack.value
                and row.client_key == ack.client_key
            )
            if not ok:
                lost += 1
                if len(examples) < 5:
                    examples.append(f"lost: acknowledged {ack}, stored {row and row.__dict__}")

        annotators_of: dict[int, set[int]] = {}
        second_opinions = 0
        for item_id, index, strategy in result.served:
            if strategy == RELABEL:
                second_opinions += 1
            else:
                annotators_of.setdefault(item_id, set()).add(index)
        served_to_two = [i for i, who in annotators_of.items() if len(who) > 1]
        for item_id in served_to_two[:3]:
            examples.append(f"item {item_id} served to annotators {sorted(annotators_of[item_id])}")

        leases = session.execute(
            select(
                Lease.item_id,
                Lease.annotator_id,
                Lease.created_at,
                Lease.released_at,
                Lease.expires_at,
            )
            .where(Lease.project_id == crowd.project_id, _first_opinion(Lease.strategy))
            .order_by(Lease.item_id, Lease.created_at)
        ).all()
        overlapping = _overlapping_leases(leases, examples)

        labels = Counter(
            session.scalars(
                select(Annotation.item_id).where(
                    Annotation.project_id == crowd.project_id,
                    Annotation.kind == AnnotationKind.LABEL,
                    Annotation.undone_at.is_(None),
                    _first_opinion(Annotation.strategy),
                )
            )
        )
        labeled_twice = [item for item, n in labels.items() if n > 1]
        for item_id in labeled_twice[:3]:
            examples.append(f"item {item_id} has {labels[item_id]} live labels")
        # A second opinion from the annotator who gave the first would be no second opinion.
        first = aliased(Annotation)
        own_reviews = set(
            session.scalars(
                select(Annotation.item_id).where(
                    Annotation.project_id == crowd.project_id,
                    Annotation.strategy == RELABEL,
                    exists().where(
                        first.item_id == Annotation.item_id,
                        first.annotator_id == Annotation.annotator_id,
                        first.kind == AnnotationKind.LABEL,
                        _first_opinion(first.strategy),
                    ),
                )
            )
        )
        for item_id in sorted(own_reviews)[:3]:
            examples.append(f"item {item_id}: second opinion from its first annotator")
        session.commit()
    doubles = len(set(served_to_two) | overlapping | set(labeled_twice) | own_reviews)
    return StoreCheck(
        lost=lost,
        double_assignments=doubles,
        items_served_to_two=len(served_to_two),
        overlapping_leases=len(overlapping),
        items_labeled_twice=len(labeled_twice),
        second_opinions=second_opinions,
        examples=examples,
    )


def _first_opinion(strategy: Any) -> Any:
    """SQL condition on a lease's or label's ``strategy``: not a relabel second opinion."""
    return or_(strategy.is_(None), strategy != RELABEL)


def _overlapping_leases(rows: Sequence[Any], examples: list[str]) -> set[int]:
    """Items on which two annotators' leases were open at the same moment."""
    items: set[int] = set()
    by_item: dict[int, list[tuple[int, datetime, datetime]]] = {}
    for item_id, annotator_id, created, released, expires in rows:
        end = min(released, expires) if released is not None else expires
        by_item.setdefault(item_id, []).append((annotator_id, created, end))
    for item_id, spans in by_item.items():
        for i, (who, start, end) in enumerate(spans):
            for other, other_start, other_end in spans[i + 1 :]:
                if other != who and other_start < end and start < other_end:
                    items.add(item_id)
                    if len(examples) < 10:
                        examples.append(
                            f"item {item_id}: leases of users {who} ({start}–{end}) and "
                            f"{other} ({other_start}–{other_end}) overlap"
                        )
    return items


def write_large_import(
    path: Path, gold: Mapping[str, str], megabytes: float, row_bytes: int
) -> int:
    """A JSONL file of about ``megabytes`` MB of padded utterance copies; returns its rows."""
    texts = list(gold)
    target = int(megabytes * 1_000_000)
    padding = "lorem ipsum dolor sit amet " * (row_bytes // 27 + 1)
    written = rows = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            base = texts[rows % len(texts)]
            head = f"{base}{COPY_MARK}{rows}~~ "
            line = json.dumps({"text": head + padding[: max(0, row_bytes - len(head) - 12)]}) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            rows += 1
    return rows


def oracle(gold: Mapping[str, str]) -> Oracle:
    def label(text: str) -> str:
        return gold.get(text) or gold[text.split(COPY_MARK, 1)[0]]

    return label


@dataclass
class ImportRun:
    """An admin's upload in a thread beside the annotators.

    The upload answers 202 with the import job it queued; the job is then polled
    (``GET /imports/{id}``) until it ends or ``timeout`` passes. ``outcome`` keeps the
    upload's status and seconds, and the finished job (status, report).
    """

    url: str
    token: str
    project_id: int
    path: Path
    timeout: float
    outcome: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name="import", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> dict[str, Any]:
        self.thread.join(self.timeout + 10)
        return self.outcome

    def added(self) -> int | None:
        """Items the import added: from its report, or from its finished job."""
        for source in (self.outcome.get("response"), self.outcome.get("job")):
            found = _find_key(source, "added")
            if found is not None:
                return int(found)
        return None

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        start = time.monotonic()
        deadline = start + self.timeout
        with httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout) as client:
            try:
                with self.path.open("rb") as fh:
                    response = client.post(
                        f"/api/projects/{self.project_id}/import",
                        files={"file": (self.path.name, fh, "application/x-ndjson")},
                    )
            except httpx.HTTPError as exc:
                self.outcome = {"error": f"{type(exc).__name__}: {exc}"}
                return
            self.outcome = {
                "upload_status": response.status_code,
                "upload_seconds": round(time.monotonic() - start, 2),
                "response": _short(response),
            }
            job_id = _import_job(response)
            while job_id is not None and time.monotonic() < deadline:
                time.sleep(0.5)
                try:
                    polled = client.get(f"/api/projects/{self.project_id}/imports/{job_id}")
                except httpx.HTTPError as exc:
                    self.outcome["poll_error"] = f"{type(exc).__name__}: {exc}"
                    continue
                if not polled.is_success:
                    self.outcome["poll_status"] = polled.status_code
                    continue
                # The last state seen stays: a job still running at the timeout shows how far.
                self.outcome["job"] = _short(polled)
                if polled.json().get("status") not in ("queued", "running"):
                    break
            self.outcome["seconds"] = round(time.monotonic() - start, 2)


def _import_job(response: httpx.Response) -> int | None:
    """The job id when the upload queued a background import (202 with the job)."""
    if response.status_code != 202:
        return None
    return int(response.json()["id"])


def _short(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "skipped"}
    return body


def _find_key(value: Any, key: str) -> Any:
    """``value[key]``, looked for through nested dicts (a job's progress or result)."""
    if not isinstance(value, dict):
        return None
    if key in value:
        return value[key]
    for inner in value.values():
        found = _find_key(inner, key)
        if found is not None:
            return found
    return None
