"""Production traffic in: messages a bot received, counted per text, idempotent per id.

A bot posts batches of what its users wrote, with what its model answered. Each message
is checked on its own (one bad message never refuses the batch; its error names its
index and field), then:

- a message whose ``external_id`` was already ingested is a *duplicate*: nothing changes
  (a retried request must not double the counts);
- a message whose text (after the import's normalisation: NFKC, case, white space) is a
  known item *repeats* it: the item's traffic count and last-seen time go up, no new item;
- any other message adds an item at the end of the pool (dense positions, as imports do).

Every accepted message is stored (``traffic_messages``) with the production model's
prediction and confidence, for the dashboards and the feedback triage that read them.
The batch is one transaction under the project's lock, so concurrent batches neither
lose nor double a count and never hand out a position twice. Nothing waits for
embeddings: the retrain worker featurizes new items as it does imported ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, exists, func, insert, select, update
from sqlalchemy.orm import Session

from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.importing import MAX_TEXT_CHARS, content_hash, json_safe, text_problem
from labelwise.service.projects import parse_settings
from labelwise.service.traffic_groups import enqueue_grouping
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    Project,
    TrafficMessage,
    TrafficStat,
)
from labelwise.store.bulk import insert_rows
from labelwise.store.queries import utc_day

#: Messages per request (and per transaction): big enough for a bot's minute of traffic,
#: small enough that one batch holds the writer lock for well under a second.
MAX_BATCH = 10_000
#: The fields a message may carry; anything else is refused by name (a typo such as
#: ``txt`` would otherwise drop the text silently). Free-form extras go in ``metadata``.
FIELDS = (
    "text",
    "external_id",
    "timestamp",
    "conversation_id",
    "channel",
    "prediction",
    "confidence",
    "metadata",
)
_MAX_ID_CHARS = 200
_MAX_CHANNEL_CHARS = 100
#: SQLite binds at most 32,766 parameters per statement; lookups go in chunks.
_CHUNK = 5_000
#: Item.source of items that came from traffic.
SOURCE = "traffic"


@dataclass(frozen=True)
class Message:
    """One checked message; ``index`` is its place in the batch (0-based)."""

    index: int
    text: str
    hash: str
    external_id: str | None = None
    sent_at: datetime | None = None
    conversation_id: str | None = None
    channel: str = ""
    prediction: str | list[str] | None = None
    confidence: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageError:
    """Why one message was refused: its index in the batch, the field and the reason."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"messages[{self.index}].{self.field}: {self.message}"


@dataclass
class IngestReport:
    """What a batch did.

    ``accepted`` = ``new_items`` + ``repeats`` (messages stored); ``duplicate``: messages
    whose external id was already ingested (or appeared earlier in the batch), ignored;
    ``rejected``: messages refused, each with an entry in ``errors``.
    """

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    new_items: int = 0
    repeats: int = 0
    errors: list[MessageError] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        """Fold another batch's report into this one (the CLI streams many batches)."""
        for name in ("accepted", "duplicate", "rejected", "new_items", "repeats"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- checking one message -----------------------------------------------------------------


class Refused(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.field = name
        self.message = message


def check_identifier(value: Any, name: str, limit: int, *, blank_ok: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Refused(name, f"must be a string or an integer, got {type(value).__name__}")
    text = str(value)
    if not text.strip():
        # A blank conversation or channel means "none"; a blank external id would make
        # every such message a duplicate of the first, so it is refused.
        if blank_ok:
            return None
        raise Refused(name, "must not be blank (leave it out instead)")
    if len(text) > limit:
        raise Refused(name, f"has {len(text):,} characters; the limit is {limit}")
    if "\x00" in text:
        raise Refused(name, "contains a NUL character")
    return text


def check_timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise Refused("timestamp", "must be an ISO 8601 time or Unix seconds, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Refused("timestamp", "must be a finite number of Unix seconds")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise Refused("timestamp", f"{value!r} Unix seconds is out of range") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Refused(
                "timestamp", f"{value[:40]!r} is not an ISO 8601 time (2026-12-03T10:15:00Z)"
            ) from None
        # A time without an offset is read as UTC (what a log line usually means).
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    raise Refused(
        "timestamp", f"must be an ISO 8601 time or Unix seconds, got {type(value).__name__}"
    )


def check_prediction(value: Any) -> str | list[str] | None:
    # The production model may know labels this project does not (a fallback intent):
    # kept as given, never checked against the schema.
    if value is None or isinstance(value, str):
        if isinstance(value, str) and "\x00" in value:
            raise Refused("prediction", "contains a NUL character")
        return value
    if isinstance(value, list) and all(isinstance(v, str) and "\x00" not in v for v in value):
        return list(value)
    raise Refused("prediction", "must be a label name, a list of label names, or null")


def _confidence(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused("confidence", f"must be a number from 0 to 1, got {type(value).__name__}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise Refused("confidence", f"must be a number from 0 to 1, got {value!r}")
    return float(value)


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused("metadata", f"must be an object, got {type(value).__name__}")
    return {str(k): json_safe(v) for k, v in value.items()}


def check_message(
    raw: Any, index: int, *, max_text_chars: int = MAX_TEXT_CHARS
) -> Message | MessageError:
    """One message checked: a :class:`Message`, or the :class:`MessageError` refusing it."""
    try:
        if not isinstance(raw, Mapping):
            raise Refused("(message)", f"must be an object, got {type(raw).__name__}")
        unknown = [str(k) for k in raw if k not in FIELDS]
        if unknown:
            raise Refused(
                unknown[0],
                f"unknown field; a message has {', '.join(FIELDS)} (put extras in metadata)",
            )
        text = raw.get("text")
        problem = "missing text" if "text" not in raw else text_problem(text, max_text_chars)
        if problem is not None:
            raise Refused("text", problem)
        assert isinstance(text, str)  # text_problem refuses anything else
        channel = check_identifier(raw.get("channel"), "channel", _MAX_CHANNEL_CHARS, blank_ok=True)
        return Message(
            index=index,
            text=text,
            hash=content_hash(text),
            external_id=check_identifier(raw.get("external_id"), "external_id", _MAX_ID_CHARS),
            sent_at=check_timestamp(raw.get("timestamp")),
            conversation_id=check_identifier(
                raw.get("conversation_id"), "conversation_id", _MAX_ID_CHARS, blank_ok=True
            ),
            channel=channel or "",
            prediction=check_prediction(raw.get("prediction")),
            confidence=_confidence(raw.get("confidence")),
            metadata=_metadata(raw.get("metadata")),
        )
    except Refused as refused:
        return MessageError(index, refused.field, refused.message)


# -- storing a batch ------------------------------------------------------------------------


def ingest_traffic(
    session: Session,
    *,
    project_id: int,
    messages: Sequence[Any],
    received_at: datetime | None = None,
    first_index: int = 0,
    max_text_chars: int = MAX_TEXT_CHARS,
) -> IngestReport:
    """Store one batch of production messages; see the module's docstring for the rules.

    Parameters
    ----------
    messages : sequence of mappings
        At most :data:`MAX_BATCH`; each with the :data:`FIELDS` (only ``text`` required).
    received_at : datetime, optional
        When the batch arrived (default: now); a message's last-seen time is its own
        ``timestamp`` when it has one.
    first_index : int
        Added to each message's index in errors (a streamed file's batches count on).

    Raises
    ------
    ValidationError
        More than :data:`MAX_BATCH` messages (nothing stored).
    NotFoundError
        No such project.
    """
    if len(messages) > MAX_BATCH:
        raise ValidationError(
            f"A batch holds at most {MAX_BATCH:,} messages; got {len(messages):,}. "
            "Send it in smaller batches."
        )
    report = IngestReport()
    checked: list[Message] = []
    for offset, raw in enumerate(messages):
        result = check_message(raw, first_index + offset, max_text_chars=max_text_chars)
        if isinstance(result, MessageError):
            report.errors.append(result)
        else:
            checked.append(result)
    report.rejected = len(report.errors)
    now = received_at or datetime.now(UTC)

    begin_write(session)
    # The row lock serializes batches into one project (PostgreSQL; SQLite's write lock
    # already does): lookups below stay true until commit, so counts are exact and
    # positions dense.
    project = session.get(Project, project_id, with_for_update=True, populate_existing=True)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    fresh = _drop_known_ids(session, project_id, checked)
    report.duplicate = len(checked) - len(fresh)
    if fresh:
        settings = parse_settings(project.settings)
        item_ids, added = _items_for(session, project_id, fresh, now, settings.audit_fraction)
        _store_messages(session, project_id, fresh, item_ids, now)
        _count(session, project_id, fresh, item_ids, now)
        report.new_items = added
        report.repeats = len(fresh) - added
        # New items need grouping; with a label budget, repeats raise group counts the
        # budget scores by, so the job (which offers grown groups again) runs for them too.
        if added or (report.repeats and settings.label_budget > 0):
            enqueue_grouping(session, project_id=project_id)
    report.accepted = len(fresh)
    record(
        session,
        "traffic_ingested",
        project_id=project_id,
        accepted=report.accepted,
        duplicate=report.duplicate,
        rejected=report.rejected,
        new_items=report.new_items,
    )
    session.commit()
    return report


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _drop_known_ids(session: Session, project_id: int, messages: list[Message]) -> list[Message]:
    """The messages whose external id is new (to the store and to the batch so far)."""
    ids = list({m.external_id for m in messages if m.external_id is not None})
    known: set[str] = set()
    for chunk in _chunks(ids):
        known.update(
            session.scalars(
                select(TrafficMessage.external_id).where(
                    TrafficMessage.project_id == project_id,
                    TrafficMessage.external_id.in_(chunk),
                )
            )
        )
    fresh = []
    for message in messages:
        if message.external_id is not None:
            if message.external_id in known:
                continue
            known.add(message.external_id)
        fresh.append(message)
    return fresh


def _items_for(
    session: Session,
    project_id: int,
    messages: list[Message],
    now: datetime,
    audit_fraction: float,
) -> tuple[dict[str, int], int]:
    """Item id per content hash, adding items for new texts; and how many were added.

    A new text joins the audit sample with probability ``audit_fraction``, decided by its
    content hash (see :func:`in_live_audit`), so live traffic keeps an unbiased sample
    whatever order the batches come in.
    """
    hashes = list(dict.fromkeys(m.hash for m in messages))
    ids: dict[str, int] = {}
    for chunk in _chunks(hashes):
        ids.update(
            session.execute(
                select(Item.content_hash, Item.id).where(
                    Item.project_id == project_id, Item.content_hash.in_(chunk)
                )
            ).all()
        )
    first_text: dict[str, str] = {}
    for message in messages:
        if message.hash not in ids:
            first_text.setdefault(message.hash, message.text)
    if not first_text:
        return ids, 0
    last = session.scalar(select(func.max(Item.position)).where(Item.project_id == project_id))
    start = 0 if last is None else last + 1
    rows = [
        {
            "project_id": project_id,
            "position": start + offset,
            "text": text,
            "meta": {},
            "source": SOURCE,
            "content_hash": digest,
            "is_audit": in_live_audit(digest, audit_fraction),
            "is_evaluation": False,
            "created_at": now,
        }
        for offset, (digest, text) in enumerate(first_text.items())
    ]
    items = cast(Table, Item.__table__)
    for chunk in _chunks(rows):
        ids.update(
            session.execute(
                insert(items).returning(items.c.content_hash, items.c.id), list(chunk)
            ).all()
        )
    return ids, len(rows)


def in_live_audit(content_hash: str, fraction: float) -> bool:
    """Whether a new traffic text joins the audit sample.

    The content hash (a cryptographic digest, uniform over its range) read as a number in
    [0, 1) is below ``fraction``: independent of every model and of arrival order, and the
    same decision on a retried batch.
    """
    return int(content_hash[:13], 16) / 16**13 < fraction


def _store_messages(
    session: Session,
    project_id: int,
    messages: list[Message],
    item_ids: dict[str, int],
    now: datetime,
) -> None:
    rows = [
        {
            "project_id": project_id,
            "item_id": item_ids[m.hash],
            "external_id": m.external_id,
            "sent_at": m.sent_at,
            "received_at": now,
            "conversation_id": m.conversation_id,
            "channel": m.channel,
            "predicted": m.prediction,
            "confidence": m.confidence,
            "meta": m.metadata,
        }
        for m in messages
    ]
    insert_rows(session, cast(Table, TrafficMessage.__table__), rows)


def _count(
    session: Session,
    project_id: int,
    messages: list[Message],
    item_ids: dict[str, int],
    now: datetime,
) -> None:
    """Add each item's messages to its traffic count; first and last seen move outwards."""
    tally: dict[int, tuple[int, datetime, datetime]] = {}
    for m in messages:
        item_id = item_ids[m.hash]
        seen = m.sent_at or now
        n, first, last = tally.get(item_id, (0, seen, seen))
        tally[item_id] = (n + 1, min(first, seen), max(last, seen))
    counted: set[int] = set()
    for chunk in _chunks(list(tally)):
        counted.update(
            session.scalars(select(TrafficStat.item_id).where(TrafficStat.item_id.in_(chunk)))
        )
    table = cast(Table, TrafficStat.__table__)
    stats = table.c
    bumps = [
        {"key": i, "n": n, "first": first, "last": last}
        for i, (n, first, last) in tally.items()
        if i in counted
    ]
    if bumps:
        # One executemany: count = count + n, in SQL, so no value read earlier is reused.
        # Core, not ORM: the ORM's bulk UPDATE takes no WHERE of its own.
        session.execute(
            update(table)
            .where(stats.item_id == bindparam("key"))
            .values(
                count=stats.count + bindparam("n"),
                first_seen_at=case(
                    (stats.first_seen_at > bindparam("first"), bindparam("first")),
                    else_=stats.first_seen_at,
                ),
                last_seen_at=case(
                    (stats.last_seen_at < bindparam("last"), bindparam("last")),
                    else_=stats.last_seen_at,
                ),
            ),
            bumps,
        )
    new = [
        {
            "item_id": i,
            "project_id": project_id,
            "count": n,
            "first_seen_at": first,
            "last_seen_at": last,
        }
        for i, (n, first, last) in tally.items()
        if i not in counted
    ]
    insert_rows(session, table, new)


# -- what traffic looks like ----------------------------------------------------------------

#: Production confidence at or above which a message counts as covered by the bot's model.
COVERED_CONFIDENCE = 0.7


@dataclass(frozen=True)
class AskedText:
    """One traffic group (or ungrouped text): its leader item and how often it was sent."""

    item_id: int
    text: str
    count: int
    last_seen_at: datetime
    labeled: bool


@dataclass(frozen=True)
class TrafficSummary:
    """Production traffic of one project, as the dashboard and a bot team read it.

    ``coverage`` is the share of messages that carried a confidence whose confidence is
    at least ``covered_confidence`` (None when none carried one): how much traffic the
    production model answers with confidence, by its own account.
    """

    messages: int
    texts: int
    repeat_share: float | None
    per_day: list[tuple[str, int]]
    coverage: float | None
    covered_confidence: float
    groups: int
    ungrouped: int
    most_asked: list[AskedText]


def summarize_traffic(
    session: Session,
    *,
    project_id: int,
    days: int = 30,
    top: int = 10,
    covered_confidence: float = COVERED_CONFIDENCE,
    now: datetime | None = None,
) -> TrafficSummary:
    """Messages per UTC day over the last ``days`` days, coverage, groups and the ``top``
    most asked unlabeled-or-labeled groups (by total count)."""
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    now = now or datetime.now(UTC)
    dialect = session.get_bind().dialect.name
    messages = (
        session.scalar(select(func.count()).where(TrafficMessage.project_id == project_id)) or 0
    )
    texts = session.scalar(select(func.count()).where(TrafficStat.project_id == project_id)) or 0
    day = utc_day(TrafficMessage.received_at, dialect)
    since = now - timedelta(days=days)
    per_day = [
        (str(d), int(n))
        for d, n in session.execute(
            select(day, func.count())
            .where(TrafficMessage.project_id == project_id, TrafficMessage.received_at >= since)
            .group_by(day)
            .order_by(day)
        ).all()
    ]
    with_confidence, covered = session.execute(
        select(
            func.count(TrafficMessage.confidence),
            func.count().filter(TrafficMessage.confidence >= covered_confidence),
        ).where(TrafficMessage.project_id == project_id)
    ).one()
    leader = TrafficStat.group_item_id == TrafficStat.item_id
    groups = (
        session.scalar(select(func.count()).where(TrafficStat.project_id == project_id, leader))
        or 0
    )
    ungrouped = (
        session.scalar(
            select(func.count()).where(
                TrafficStat.project_id == project_id, TrafficStat.group_item_id.is_(None)
            )
        )
        or 0
    )
    # A group's count is its members' counts; an ungrouped text stands for itself.
    head = func.coalesce(TrafficStat.group_item_id, TrafficStat.item_id)
    totals = (
        select(
            head.label("item_id"),
            func.sum(TrafficStat.count).label("total"),
            func.max(TrafficStat.last_seen_at).label("last_seen"),
        )
        .where(TrafficStat.project_id == project_id)
        .group_by(head)
        .subquery()
    )
    labeled = exists().where(
        Annotation.item_id == totals.c.item_id,
        Annotation.kind == AnnotationKind.LABEL,
        Annotation.undone_at.is_(None),
    )
    most = session.execute(
        select(totals.c.item_id, Item.text, totals.c.total, totals.c.last_seen, labeled)
        .join(Item, Item.id == totals.c.item_id)
        .order_by(totals.c.total.desc(), totals.c.item_id)
        .limit(top)
    ).all()
    end_read(session)
    return TrafficSummary(
        messages=int(messages),
        texts=int(texts),
        repeat_share=None if not messages else 1 - texts / messages,
        per_day=per_day,
        coverage=None if not with_confidence else covered / with_confidence,
        covered_confidence=covered_confidence,
        groups=int(groups),
        ungrouped=int(ungrouped),
        most_asked=[
            AskedText(
                item_id=int(i),
                text=text,
                count=int(total),
                last_seen_at=last if last.tzinfo else last.replace(tzinfo=UTC),
                labeled=bool(is_labeled),
            )
            for i, text, total, last, is_labeled in most
        ],
    )
