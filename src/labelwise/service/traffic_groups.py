"""Near-duplicate groups of production traffic, built by the worker after ingest.

Ingest answers at once; it only queues a grouping job (one per project at a time). The
worker then embeds the new items (MiniLM sentence vectors, whatever the project's
``features``: TF-IDF's character n-grams put "hi there" and "hi there!" at cosine 0.79,
MiniLM at 0.91) and assigns each ungrouped traffic item to the most similar group leader
at cosine >= the project's ``near_duplicate_cosine`` (:func:`labelwise.data.
near_duplicates.assign_near_duplicates`), or makes it a leader. The queue then serves a
group once, through its leader, with the group's total count; the other members stay
out of the ranking (no label is spent on a near-copy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from labelwise.data.near_duplicates import assign_near_duplicates
from labelwise.service.events import record
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import Item, Job, JobStatus, TrafficStat

#: ``Job.kind`` of a grouping job.
GROUP_KIND = "group_traffic"


def enqueue_grouping(session: Session, *, project_id: int) -> None:
    """Queue a grouping job unless one is already waiting (in the caller's write
    transaction, which holds the project's lock, so two batches cannot queue two)."""
    waiting = session.scalar(
        select(Job.id).where(
            Job.project_id == project_id,
            Job.kind == GROUP_KIND,
            Job.status == JobStatus.QUEUED,
        )
    )
    if waiting is None:
        session.add(Job(project_id=project_id, kind=GROUP_KIND, trigger="ingest"))


@dataclass(frozen=True)
class Pending:
    """Traffic items to group: the leaders so far and the ungrouped items (in position
    order), each with its item id and text; ``apart``: ungrouped items that stand alone.

    Held-out evaluation items are never served, so one must not lead a group (its members
    would never be served either): each is its own group, and nobody joins it. Audit
    items stand apart too: grouped, one would hide behind its leader and the audit would
    lose exactly the texts that are asked in many wordings.
    """

    leaders: list[tuple[int, str]]
    candidates: list[tuple[int, str]]
    apart: list[int]


def pending(session: Session, *, project_id: int) -> Pending:
    rows = session.execute(
        select(
            Item.id,
            Item.text,
            TrafficStat.group_item_id,
            Item.is_evaluation | Item.is_audit,
        )
        .join(TrafficStat, TrafficStat.item_id == Item.id)
        .where(
            TrafficStat.project_id == project_id,
            # Leaders and the ungrouped: members of a group are settled.
            (TrafficStat.group_item_id.is_(None)) | (TrafficStat.group_item_id == Item.id),
        )
        .order_by(Item.position)
    ).all()
    return Pending(
        leaders=[(i, text) for i, text, group, held_out in rows if group and not held_out],
        candidates=[(i, text) for i, text, group, held_out in rows if not group and not held_out],
        apart=[i for i, _, group, held_out in rows if not group and held_out],
    )


def store_groups(session: Session, *, project_id: int, leaders: dict[int, int]) -> int:
    """Write each item's leader (``{item id: leader item id}``) in the caller's write
    transaction; returns how many were written.

    Only still-ungrouped rows are written, so a grouping that raced another one (a
    restarted worker) cannot move an item between groups.
    """
    table = cast(Table, TrafficStat.__table__)
    params = [{"key": item, "leader": leader} for item, leader in leaders.items()]
    if params:
        session.execute(
            update(table)
            .where(table.c.item_id == bindparam("key"), table.c.group_item_id.is_(None))
            .values(group_item_id=bindparam("leader")),
            params,
        )
    record(
        session,
        "traffic_grouped",
        project_id=project_id,
        grouped=len(params),
        new_leaders=sum(item == leader for item, leader in leaders.items()),
    )
    return len(params)


def group_counts(session: Session, *, project_id: int, item_ids: list[int]) -> dict[int, int]:
    """For each item id given that leads (or is) a traffic group: the group's total count."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(TrafficStat.group_item_id, func.sum(TrafficStat.count))
        .where(TrafficStat.project_id == project_id, TrafficStat.group_item_id.in_(item_ids))
        .group_by(TrafficStat.group_item_id)
    ).all()
    counts: dict[int, int] = {int(leader or 0): int(total) for leader, total in rows}
    # Not grouped yet (the worker has not run): the item's own count.
    missing = [i for i in item_ids if i not in counts]
    if missing:
        counts.update(
            (int(i), int(n))
            for i, n in session.execute(
                select(TrafficStat.item_id, TrafficStat.count).where(
                    TrafficStat.item_id.in_(missing)
                )
            ).all()
        )
    return counts


def grouped_members(session: Session, *, project_id: int) -> list[int]:
    """Positions of traffic items that belong to another item's group (kept out of the queue)."""
    return list(
        session.scalars(
            select(Item.position)
            .join(TrafficStat, TrafficStat.item_id == Item.id)
            .where(
                TrafficStat.project_id == project_id,
                and_(
                    TrafficStat.group_item_id.is_not(None),
                    TrafficStat.group_item_id != Item.id,
                ),
            )
        )
    )


def run_grouping(
    session: Session,
    *,
    project_id: int,
    embed: Callable[[list[str]], Any],
    threshold: float,
) -> dict[str, Any]:
    """Group the project's ungrouped traffic and store the groups (ends in a write
    transaction the caller commits).

    ``embed`` maps texts to feature rows (sentence embeddings; a disk cache makes the
    leaders' second pass cheap). Returns the job's progress: how many items were grouped,
    how many lead a new group, how many texts were embedded, seconds spent.
    """
    started = time.perf_counter()
    todo = pending(session, project_id=project_id)
    end_read(session)
    leaders = {item: item for item in todo.apart}
    rows: list[tuple[int, str]] = []
    if todo.candidates:
        rows = [*todo.leaders, *todo.candidates]
        vectors = embed([text for _, text in rows])
        n_leaders = len(todo.leaders)
        chosen = assign_near_duplicates(
            vectors,
            np.arange(n_leaders),
            np.arange(n_leaders, len(rows)),
            threshold=threshold,
        )
        leaders.update(
            (rows[n_leaders + k][0], rows[int(leader)][0]) for k, leader in enumerate(chosen)
        )
    if not leaders:
        return {"grouped": 0, "new_leaders": 0, "embedded": 0, "seconds": 0.0}
    begin_write(session)
    grouped = store_groups(session, project_id=project_id, leaders=leaders)
    return {
        "grouped": grouped,
        "new_leaders": sum(item == leader for item, leader in leaders.items()),
        "embedded": len(rows),
        "seconds": round(time.perf_counter() - started, 4),
    }
