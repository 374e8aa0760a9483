"""User feedback: reports that the bot got a message wrong, triaged by expected impact.

A bot (or its users' thumbs-down button) posts reports: the message, named by the
``external_id`` it was ingested under or carried as ``text``, with what the user meant
(a label of the project, or nothing), a comment and the reporting channel. A report
carrying text links the item with that text, or becomes one through the traffic ingest
(:func:`labelwise.service.traffic.ingest_traffic`, the same path as production traffic).

Open reports are reviewed in the order of :func:`labelwise.feedback.triage`, the
ranking the feedback simulation measures: by expected impact, spread over confusions
(a second report of the same production label / model label pair is worth less). Its evidence per report: the latest model
version's probability of the label production answered and its margin (stored on the
report, recomputed when a newer version exists, at most :data:`RESCORE_LIMIT` per read),
the traffic count of the message's near-duplicate group (its density), and the channel's
reliability (a Beta posterior over the channel's confirmed and rejected reports, computed
on every read, so each review reorders the rest at once).

A reviewer confirms a report with the right label (a human label on the item, whose
annotation records that it came from feedback review) or rejects it. The funnel counts
reports, confirmations, rejections and confirmations *fixed in a released model*: the
released model is the production version when one has been promoted, else the latest
version; a confirmation is fixed in it when that version's training started after the
confirmation (its label was in the training snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from labelwise.exceptions import MissingDependencyError, ModelFileError
from labelwise.feedback import (
    ChannelReliability,
    production_label_evidence,
    rank_reports,
    triage,
)
from labelwise.service import model_versions
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.explain import FEEDBACK
from labelwise.service.importing import MAX_TEXT_CHARS, content_hash, text_problem
from labelwise.service.predictions import MAX_TEXTS, MODELS, ModelCache, predict
from labelwise.service.projects import check_label
from labelwise.service.traffic import (  # the message checks a report shares with ingest
    Refused,
    check_identifier,
    check_prediction,
    check_timestamp,
    ingest_traffic,
)
from labelwise.service.traffic_groups import group_counts
from labelwise.service.training import enqueue_retrain_if_due
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    FeedbackReport,
    FeedbackStatus,
    Item,
    Job,
    ModelVersion,
    Project,
    TrafficMessage,
    TrafficStat,
    User,
)

#: Reports per request: a bot batches, and a request stays short.
MAX_BATCH = 1000
#: The fields a report may carry; anything else is refused by name.
FIELDS = (
    "external_id",
    "text",
    "prediction",
    "meant_label",
    "comment",
    "channel",
    "timestamp",
    "report_key",
)
MAX_COMMENT_CHARS = 2000
#: Open reports rescored with a newer model version per read (one predict call).
RESCORE_LIMIT = MAX_TEXTS
#: What a confirmation's annotation records as its strategy (its provenance), whether it
#: was confirmed on the triage page or labeled from the queue's feedback source.
PROVENANCE = FEEDBACK


@dataclass(frozen=True)
class ReportError:
    """Why one report was refused: its index in the batch, the field and the reason."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"reports[{self.index}].{self.field}: {self.message}"


@dataclass
class FeedbackReceipt:
    """What a batch of reports did: ``ids`` of the stored reports, in batch order (a
    duplicate's is the id of the report stored first under its ``report_key``)."""

    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)
    errors: list[ReportError] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Checked:
    index: int
    external_id: str | None
    text: str | None
    prediction: str | list[str] | None
    meant_label: str | None
    comment: str
    channel: str
    reported_at: datetime | None
    report_key: str | None


@dataclass(frozen=True)
class ReportView:
    """One report as the triage view shows it.

    ``p_true`` and ``impact`` are computed on read (channel reliability changes with
    every review); ``model_label`` and ``model_margin`` come from ``model_version``
    (None: no model version yet).
    """

    id: int
    item_id: int
    text: str
    external_id: str | None
    predicted: Any
    meant_label: str | None
    comment: str
    channel: str
    reported_at: datetime
    status: FeedbackStatus
    model_version: int | None
    model_label: str | None
    model_margin: float | None
    density: float
    p_true: float | None
    impact: float | None
    reviewer: str | None
    reviewed_at: datetime | None
    confirmed_label: str | None


@dataclass(frozen=True)
class ReportPage:
    """A page of reports and how many match in all."""

    total: int
    reports: list[ReportView]


@dataclass(frozen=True)
class FeedbackFunnel:
    """Reports of one project from arrival to a released model.

    ``released_version`` is the production version when one is promoted, else the
    latest version (``released_is_production`` says which); None when no version exists.
    ``channels`` maps each channel to its (confirmed, rejected, reliability).
    """

    reported: int
    open: int
    confirmed: int
    rejected: int
    fixed: int
    released_version: int | None
    released_is_production: bool
    channels: dict[str, tuple[int, int, float]]


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# -- checking one report ---------------------------------------------------------------------


def _check(raw: Any, index: int, labels: Sequence[str]) -> _Checked | ReportError:
    try:
        if not isinstance(raw, Mapping):
            raise Refused("(report)", f"must be an object, got {type(raw).__name__}")
        unknown = [str(k) for k in raw if k not in FIELDS]
        if unknown:
            raise Refused(unknown[0], f"unknown field; a report has {', '.join(FIELDS)}")
        external_id = check_identifier(raw.get("external_id"), "external_id", 200)
        text = raw.get("text")
        if external_id is None:
            if text is None:
                raise Refused(
                    "text", "give the external_id of an ingested message or the message's text"
                )
            problem = text_problem(text, MAX_TEXT_CHARS)
            if problem is not None:
                raise Refused("text", problem)
        elif text is not None and not isinstance(text, str):
            raise Refused("text", f"must be a string, got {type(text).__name__}")
        meant = raw.get("meant_label")
        if meant is not None:
            if not isinstance(meant, str):
                raise Refused("meant_label", f"must be a label name, got {type(meant).__name__}")
            if meant not in labels:
                raise Refused(
                    "meant_label",
                    f"{meant[:80]!r} is not a label of this project (leave it out if unsure)",
                )
        comment = raw.get("comment")
        if comment is None:
            comment = ""
        if not isinstance(comment, str):
            raise Refused("comment", f"must be a string, got {type(comment).__name__}")
        if len(comment) > MAX_COMMENT_CHARS:
            raise Refused(
                "comment", f"has {len(comment):,} characters; the limit is {MAX_COMMENT_CHARS:,}"
            )
        if "\x00" in comment:
            raise Refused("comment", "contains a NUL character")
        return _Checked(
            index=index,
            external_id=external_id,
            text=text if external_id is None else None,
            prediction=check_prediction(raw.get("prediction")),
            meant_label=meant,
            comment=comment,
            channel=check_identifier(raw.get("channel"), "channel", 100, blank_ok=True) or "",
            reported_at=check_timestamp(raw.get("timestamp")),
            report_key=check_identifier(raw.get("report_key"), "report_key", 200),
        )
    except Refused as refused:
        return ReportError(index, refused.field, refused.message)


# -- reporting -------------------------------------------------------------------------------


def report_feedback(
    session: Session,
    *,
    project_id: int,
    reports: Sequence[Any],
    received_at: datetime | None = None,
) -> FeedbackReceipt:
    """Store a batch of reports (at most :data:`MAX_BATCH`); each is checked on its own.

    Each report has ``external_id`` (of an ingested message) or ``text``; optional
    ``prediction`` (what production answered; taken from the ingested message when it
    has one), ``meant_label`` (a label of the project), ``comment``, ``channel`` and
    ``timestamp``. A refused report has an entry in ``errors`` naming its index and
    field (an unknown external id names ``external_id``); the others are stored.

    ``report_key`` (optional) is the reporter's own key for a report: a report whose key
    is already stored for the project, or came earlier in the batch, is a *duplicate*,
    counted in ``duplicates`` and not stored again (nor is its text counted again as
    traffic), so a bot can simply resend a batch whose response it lost.

    Raises
    ------
    ValidationError
        More than :data:`MAX_BATCH` reports, or ``reports`` is not a list.
    NotFoundError
        No such project.
    """
    if isinstance(reports, str | bytes | Mapping):
        raise ValidationError("reports must be a list of report objects.")
    if len(reports) > MAX_BATCH:
        raise ValidationError(
            f"A batch holds at most {MAX_BATCH:,} reports; got {len(reports):,}. "
            "Send it in smaller batches."
        )
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    receipt = FeedbackReceipt()
    checked: list[_Checked] = []
    for index, raw in enumerate(reports):
        result = _check(raw, index, project.labels)
        if isinstance(result, ReportError):
            receipt.errors.append(result)
        else:
            checked.append(result)
    now = received_at or datetime.now(UTC)
    # Reports already stored under their key are not linked, ingested or stored again.
    stored_keys = _stored_keys(session, project_id, [c.report_key for c in checked])
    skipped_keys = [c for c in checked if c.report_key in stored_keys]
    checked = [c for c in checked if c.report_key not in stored_keys]
    messages = _messages(session, project_id, [c.external_id for c in checked if c.external_id])
    linked: list[tuple[_Checked, _Message | None]] = []
    for report in checked:
        if report.external_id is None:
            linked.append((report, None))
        elif report.external_id in messages:
            linked.append((report, messages[report.external_id]))
        else:
            receipt.errors.append(
                ReportError(
                    report.index,
                    "external_id",
                    f"no message of project {project_id} was ingested with external id "
                    f"{report.external_id[:80]!r}",
                )
            )
    items = _items_for_texts(session, project_id, [r for r, m in linked if m is None], now)
    end_read(session)

    begin_write(session)
    # The row lock serializes batches into one project, so two resent batches can't both
    # store a key (PostgreSQL; SQLite's write lock already does).
    session.get(Project, project_id, with_for_update=True, populate_existing=True)
    stored_keys |= _stored_keys(session, project_id, [r.report_key for r, _ in linked])
    stored: list[tuple[int, FeedbackReport]] = []
    new_keys: dict[str, FeedbackReport] = {}
    repeats: list[tuple[int, str]] = []  # (batch index, key) of duplicates
    for report, message in linked:
        key = report.report_key
        if key is not None and (key in stored_keys or key in new_keys):
            repeats.append((report.index, key))
            continue
        if message is not None:
            item_id = message.item_id
            predicted = message.predicted if message.predicted is not None else report.prediction
        else:
            found = items.get(content_hash(report.text or ""))
            if found is None:  # refused by the ingest (nothing the checks above missed yet)
                receipt.errors.append(
                    ReportError(report.index, "text", "could not be stored as traffic")
                )
                continue
            item_id, predicted = found, report.prediction
        row = FeedbackReport(
            project_id=project_id,
            item_id=item_id,
            traffic_message_id=None if message is None else message.id,
            predicted=predicted,
            meant_label=report.meant_label,
            comment=report.comment,
            channel=report.channel or ("" if message is None else message.channel),
            reported_at=report.reported_at or now,
            status=FeedbackStatus.OPEN,
            density=1.0,
            report_key=key,
        )
        session.add(row)
        stored.append((report.index, row))
        if key is not None:
            new_keys[key] = row
    session.flush()
    _store_density(session, project_id, [row for _, row in stored])
    record(
        session,
        "feedback_reported",
        project_id=project_id,
        accepted=len(stored),
        rejected=len(receipt.errors),
        duplicates=len(repeats) + len(skipped_keys),
    )
    session.commit()
    receipt.accepted = len(stored)
    receipt.rejected = len(receipt.errors)
    ids = {index: row.id for index, row in stored}
    # Duplicates dropped before linking were not in ``linked``: find them again by key.
    for report in skipped_keys:
        repeats.append((report.index, report.report_key or ""))
    for index, key in repeats:
        ids[index] = new_keys[key].id if key in new_keys else stored_keys[key]
    receipt.duplicates = len(repeats)
    receipt.ids = [ids[index] for index in sorted(ids)]
    receipt.errors.sort(key=lambda e: e.index)
    end_read(session)
    return receipt


def _stored_keys(session: Session, project_id: int, keys: list[str | None]) -> dict[str, int]:
    """Report id per ``report_key`` already stored in the project, for these keys."""
    unique = list(dict.fromkeys(k for k in keys if k is not None))
    found: dict[str, int] = {}
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(FeedbackReport.report_key, FeedbackReport.id).where(
                FeedbackReport.project_id == project_id,
                FeedbackReport.report_key.in_(unique[start : start + 500]),
            )
        ).all()
        found.update({str(key): int(rid) for key, rid in rows})
    return found


@dataclass(frozen=True)
class _Message:
    id: int
    item_id: int
    predicted: Any
    channel: str


def _messages(session: Session, project_id: int, ids: list[str]) -> dict[str, _Message]:
    """The ingested messages with these external ids, by external id (plain values: they
    outlive the read transaction)."""
    found: dict[str, _Message] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 500):
        rows = session.execute(
            select(
                TrafficMessage.external_id,
                TrafficMessage.id,
                TrafficMessage.item_id,
                TrafficMessage.predicted,
                TrafficMessage.channel,
            ).where(
                TrafficMessage.project_id == project_id,
                TrafficMessage.external_id.in_(unique[start : start + 500]),
            )
        ).all()
        for external_id, mid, item_id, predicted, channel in rows:
            found[str(external_id)] = _Message(int(mid), int(item_id), predicted, channel)
    return found


def _items_for_texts(
    session: Session, project_id: int, reports: list[_Checked], now: datetime
) -> dict[str, int]:
    """Item id per content hash of the reports' texts; unknown texts go in as traffic."""
    hashes = list(dict.fromkeys(content_hash(r.text or "") for r in reports))
    if not hashes:
        return {}

    def known() -> dict[str, int]:
        rows = session.execute(
            select(Item.content_hash, Item.id).where(
                Item.project_id == project_id, Item.content_hash.in_(hashes)
            )
        ).all()
        return {digest: int(item_id) for digest, item_id in rows}

    items = known()
    new = {}
    for report in reports:
        digest = content_hash(report.text or "")
        if digest not in items and digest not in new:
            new[digest] = {"text": report.text, "prediction": report.prediction}
            if report.channel:
                new[digest]["channel"] = report.channel
    if new:
        # A reported text nobody ingested is production traffic the bot did not send:
        # it enters as traffic (an item, counted once), exactly as ingest would take it.
        end_read(session)
        ingest_traffic(session, project_id=project_id, messages=list(new.values()), received_at=now)
        items = known()
    return items


def _store_density(session: Session, project_id: int, reports: list[FeedbackReport]) -> None:
    """Each report's density: the traffic count of its item's near-duplicate group (1 if none)."""
    item_ids = list({r.item_id for r in reports})
    if not item_ids:
        return
    leaders = dict(
        session.execute(
            select(TrafficStat.item_id, TrafficStat.group_item_id).where(
                TrafficStat.item_id.in_(item_ids)
            )
        ).all()
    )
    heads = {i: (leaders.get(i) or i) for i in item_ids}
    counts = group_counts(session, project_id=project_id, item_ids=list(set(heads.values())))
    for report in reports:
        report.density = float(max(1, counts.get(heads[report.item_id], 1)))


# -- ranking ---------------------------------------------------------------------------------


def channel_reliability(session: Session, *, project_id: int) -> ChannelReliability:
    """Each channel's confirmed and rejected reports, as a Beta posterior."""
    rows = session.execute(
        select(FeedbackReport.channel, FeedbackReport.status, func.count())
        .where(
            FeedbackReport.project_id == project_id,
            FeedbackReport.status != FeedbackStatus.OPEN,
        )
        .group_by(FeedbackReport.channel, FeedbackReport.status)
    ).all()
    confirmed = {c: int(n) for c, s, n in rows if s == FeedbackStatus.CONFIRMED}
    rejected = {c: int(n) for c, s, n in rows if s == FeedbackStatus.REJECTED}
    return ChannelReliability(confirmed, rejected)


def _latest_version(session: Session, project_id: int) -> ModelVersion | None:
    """The newest version whose whole model is on disk (the one the ranking uses)."""
    versions = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id, ModelVersion.artifact_path.is_not(None))
        .order_by(ModelVersion.version.desc())
        .limit(5)
    ).all()
    return next((v for v in versions if model_versions.servable(v)), None)


def rescore(session: Session, *, project_id: int, cache: ModelCache | None = None) -> int:
    """Score open reports not yet scored with the latest servable version (at most
    :data:`RESCORE_LIMIT` per call); returns how many were scored.

    Also stamps confirmed reports with the first version trained after their confirmation.
    """
    latest = _latest_version(session, project_id)
    if latest is None:
        if _unstamped(session, project_id):
            begin_write(session)
            _stamp_fixed(session, project_id)
            session.commit()
        end_read(session)
        return 0
    stale = session.execute(
        select(FeedbackReport.id, Item.text, FeedbackReport.predicted)
        .join(Item, Item.id == FeedbackReport.item_id)
        .where(
            FeedbackReport.project_id == project_id,
            FeedbackReport.status == FeedbackStatus.OPEN,
            (FeedbackReport.scored_version_id.is_(None))
            | (FeedbackReport.scored_version_id != latest.id),
        )
        .order_by(FeedbackReport.id)
        .limit(RESCORE_LIMIT)
    ).all()
    version_id, version = latest.id, latest.version
    end_read(session)
    scored: list[dict[str, Any]] = []
    if stale:
        try:
            out = predict(
                session,
                project_id=project_id,
                texts=[text for _, text, _ in stale],
                version=version,
                cache=cache or MODELS,
            )
        except (ConflictError, ModelFileError, MissingDependencyError):
            out = None  # the ranking goes on with the evidence it has
        if out is not None and out.proba is not None and out.proba.shape[1] > 0:
            column = {c: i for i, c in enumerate(out.classes)}
            cols = np.array(
                [column.get(p, -1) if isinstance(p, str) else -1 for _, _, p in stale],
                dtype=np.intp,
            )
            p_prod, margin = production_label_evidence(out.proba, cols)
            best = out.proba.argmax(axis=1)
            scored = [
                {
                    "id": rid,
                    "scored_version_id": version_id,
                    "model_label": out.classes[int(best[k])],
                    "model_margin": float(margin[k]),
                    "model_p_production": None if np.isnan(p_prod[k]) else float(p_prod[k]),
                }
                for k, (rid, _, _) in enumerate(stale)
            ]
    if not scored and not _unstamped(session, project_id):
        end_read(session)
        return 0  # a read that finds everything scored writes nothing
    begin_write(session)
    if scored:
        session.execute(update(FeedbackReport), scored)
        reports = list(
            session.scalars(
                select(FeedbackReport).where(FeedbackReport.id.in_([s["id"] for s in scored]))
            )
        )
        _store_density(session, project_id, reports)
    _stamp_fixed(session, project_id)
    session.commit()
    end_read(session)
    return len(scored)


def _snapshot_times(session: Session, project_id: int) -> list[tuple[int, int, datetime]]:
    """(version number, version id, when its training read the labels), oldest first.

    A version's labels were read when its retrain job started; a version without a job
    (published otherwise) counts from its creation.
    """
    rows = session.execute(
        select(ModelVersion.version, ModelVersion.id, ModelVersion.created_at, Job.started_at)
        .outerjoin(Job, Job.model_version_id == ModelVersion.id)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version)
    ).all()
    out: list[tuple[int, int, datetime]] = []
    for number, vid, created, started in rows:
        moment = _aware(started or created)
        assert moment is not None
        out.append((int(number), int(vid), moment))
    return out


def _unstamped(session: Session, project_id: int) -> bool:
    """Whether a confirmed report awaits its fixing version and a version after it exists."""
    oldest = session.scalar(
        select(func.min(FeedbackReport.reviewed_at)).where(
            FeedbackReport.project_id == project_id,
            FeedbackReport.status == FeedbackStatus.CONFIRMED,
            FeedbackReport.fixed_version_id.is_(None),
        )
    )
    if oldest is None:
        return False
    times = _snapshot_times(session, project_id)
    return bool(times) and times[-1][2] >= (_aware(oldest) or oldest)


def _stamp_fixed(session: Session, project_id: int) -> None:
    pending = list(
        session.scalars(
            select(FeedbackReport).where(
                FeedbackReport.project_id == project_id,
                FeedbackReport.status == FeedbackStatus.CONFIRMED,
                FeedbackReport.fixed_version_id.is_(None),
            )
        )
    )
    if not pending:
        return
    times = _snapshot_times(session, project_id)
    for report in pending:
        reviewed = _aware(report.reviewed_at)
        for _, vid, moment in times:
            if reviewed is not None and moment >= reviewed:
                report.fixed_version_id = vid
                break


def list_reports(
    session: Session,
    *,
    project_id: int,
    status: FeedbackStatus | Literal["reviewed"] | None = FeedbackStatus.OPEN,
    offset: int = 0,
    limit: int = 50,
    cache: ModelCache | None = None,
) -> ReportPage:
    """Reports of the project: open ones by expected impact (highest first), reviewed
    ones most recent first (``"reviewed"``: confirmed and rejected; None: all, open ones
    first).

    Open reports not scored with the latest model version are rescored first (at most
    :data:`RESCORE_LIMIT` per call).
    """
    if session.get(Project, project_id) is None:
        end_read(session)
        raise NotFoundError(f"Project {project_id} does not exist.")
    if offset < 0 or limit < 1:
        raise ValidationError("offset must be >= 0 and limit >= 1.")
    if status in (None, FeedbackStatus.OPEN):
        rescore(session, project_id=project_id, cache=cache)
    reliability = channel_reliability(session, project_id=project_id)
    ordered: list[int] = []
    scores: dict[int, tuple[float, float]] = {}
    if status in (None, FeedbackStatus.OPEN):
        rows = session.execute(
            select(
                FeedbackReport.id,
                FeedbackReport.channel,
                FeedbackReport.model_p_production,
                FeedbackReport.model_margin,
                FeedbackReport.density,
                FeedbackReport.predicted,
                FeedbackReport.model_label,
            )
            .where(
                FeedbackReport.project_id == project_id,
                FeedbackReport.status == FeedbackStatus.OPEN,
            )
            .order_by(FeedbackReport.id)
        ).all()
        if rows:
            ranking = triage(
                np.array(
                    [np.nan if r.model_p_production is None else r.model_p_production for r in rows]
                ),
                np.array([0.0 if r.model_margin is None else r.model_margin for r in rows]),
                reliability.probabilities([r.channel for r in rows]),
                np.array([r.density for r in rows], dtype=float),
                [str(r.predicted) for r in rows],
                [r.model_label for r in rows],
            )
            ids = [int(r.id) for r in rows]
            ordered += [ids[i] for i in ranking.order]
            scores = {
                ids[i]: (float(ranking.p_true[i]), float(ranking.scores[i]))
                for i in range(len(ids))
            }
    if status is not FeedbackStatus.OPEN:
        done = (
            [status]
            if isinstance(status, FeedbackStatus)
            else [FeedbackStatus.CONFIRMED, FeedbackStatus.REJECTED]
        )
        ordered += [
            int(i)
            for i in session.scalars(
                select(FeedbackReport.id)
                .where(FeedbackReport.project_id == project_id, FeedbackReport.status.in_(done))
                .order_by(FeedbackReport.reviewed_at.desc(), FeedbackReport.id.desc())
            )
        ]
    page = ordered[offset : offset + limit]
    views = _views(session, page, scores)
    end_read(session)
    return ReportPage(total=len(ordered), reports=views)


def _views(
    session: Session, ids: list[int], scores: dict[int, tuple[float, float]]
) -> list[ReportView]:
    if not ids:
        return []
    rows = session.execute(
        select(
            FeedbackReport,
            Item.text,
            TrafficMessage.external_id,
            ModelVersion.version,
            User.username,
        )
        .join(Item, Item.id == FeedbackReport.item_id)
        .outerjoin(TrafficMessage, TrafficMessage.id == FeedbackReport.traffic_message_id)
        .outerjoin(ModelVersion, ModelVersion.id == FeedbackReport.scored_version_id)
        .outerjoin(User, User.id == FeedbackReport.reviewer_id)
        .where(FeedbackReport.id.in_(ids))
    ).all()
    by_id = {row[0].id: row for row in rows}
    views = []
    for rid in ids:
        report, text, external_id, version, reviewer = by_id[rid]
        p_true, impact = scores.get(rid, (None, report.impact))
        views.append(
            ReportView(
                id=report.id,
                item_id=report.item_id,
                text=text,
                external_id=external_id,
                predicted=report.predicted,
                meant_label=report.meant_label,
                comment=report.comment,
                channel=report.channel,
                reported_at=_aware(report.reported_at) or report.reported_at,
                status=FeedbackStatus(report.status),
                model_version=None if version is None else int(version),
                model_label=report.model_label,
                model_margin=report.model_margin,
                density=report.density,
                p_true=p_true,
                impact=impact,
                reviewer=reviewer,
                reviewed_at=_aware(report.reviewed_at),
                confirmed_label=report.confirmed_label,
            )
        )
    return views


def get_report(session: Session, *, project_id: int, report_id: int) -> ReportView:
    """One report (NotFoundError if the project has no such report)."""
    report = session.get(FeedbackReport, report_id)
    if report is None or report.project_id != project_id:
        end_read(session)
        raise NotFoundError(f"Project {project_id} has no feedback report {report_id}.")
    [view] = _views(session, [report_id], {})
    end_read(session)
    return view


# -- reviewing -------------------------------------------------------------------------------


def _open_report(session: Session, project_id: int, report_id: int) -> FeedbackReport:
    report = session.get(FeedbackReport, report_id, with_for_update=True, populate_existing=True)
    if report is None or report.project_id != project_id:
        session.rollback()
        raise NotFoundError(f"Project {project_id} has no feedback report {report_id}.")
    if report.status != FeedbackStatus.OPEN:
        session.rollback()
        raise ConflictError(
            f"Feedback report {report_id} was already reviewed ({report.status}); reload the list."
        )
    return report


def _impact_now(session: Session, report: FeedbackReport) -> float:
    """The report's score as the ranking gives it now (stored with the review)."""
    reliability = channel_reliability(session, project_id=report.project_id)
    p = report.model_p_production
    ranking = rank_reports(
        np.array([np.nan if p is None else p]),
        np.array([report.model_margin or 0.0]),
        reliability.probabilities([report.channel]),
        np.array([report.density]),
    )
    return float(ranking.scores[0])


def confirm_report(
    session: Session, *, project_id: int, report_id: int, reviewer: User, label: Any
) -> ReportView:
    """The report is true: label its item ``label`` as ``reviewer`` (a human label whose
    annotation has strategy ``"feedback"`` and names the report in its comment).

    The reviewer's own earlier live decisions on the item give way, as an edit does.

    Raises
    ------
    NotFoundError
        No such report in the project.
    ConflictError
        The report was already reviewed.
    ValidationError
        ``label`` is not a label of the project.
    """
    begin_write(session)
    report = _open_report(session, project_id, report_id)
    project = session.get_one(Project, project_id)
    text = session.scalar(select(Item.text).where(Item.id == report.item_id))
    try:
        value = check_label(project, label, text=text)
    except ValidationError:
        session.rollback()
        raise
    now = datetime.now(UTC)
    impact = _impact_now(session, report)
    session.execute(
        update(Annotation)
        .where(
            Annotation.item_id == report.item_id,
            Annotation.annotator_id == reviewer.id,
            Annotation.undone_at.is_(None),
        )
        .values(undone_at=now)
    )
    annotation = Annotation(
        project_id=project_id,
        item_id=report.item_id,
        annotator_id=reviewer.id,
        kind=AnnotationKind.LABEL,
        value=value,
        comment=f"feedback report {report.id}",
        strategy=PROVENANCE,
        model_version_id=report.scored_version_id,
        query_score=impact,
        created_at=now,
    )
    session.add(annotation)
    session.flush()
    report.status = FeedbackStatus.CONFIRMED
    report.reviewer_id = reviewer.id
    report.reviewed_at = now
    report.confirmed_label = value if isinstance(value, str) else str(value)
    report.annotation_id = annotation.id
    report.impact = impact
    record(
        session,
        "feedback_confirmed",
        project_id=project_id,
        user_id=reviewer.id,
        report_id=report.id,
        item_id=report.item_id,
        annotation_id=annotation.id,
    )
    enqueue_retrain_if_due(session, project=project, trigger="labels")
    session.commit()
    return get_report(session, project_id=project_id, report_id=report_id)


def reject_report(
    session: Session, *, project_id: int, report_id: int, reviewer: User
) -> ReportView:
    """The report is false (the bot was right): nothing is labeled; the channel's
    reliability goes down.

    Raises
    ------
    NotFoundError, ConflictError
        As :func:`confirm_report`.
    """
    begin_write(session)
    report = _open_report(session, project_id, report_id)
    report.impact = _impact_now(session, report)
    report.status = FeedbackStatus.REJECTED
    report.reviewer_id = reviewer.id
    report.reviewed_at = datetime.now(UTC)
    record(
        session,
        "feedback_rejected",
        project_id=project_id,
        user_id=reviewer.id,
        report_id=report.id,
        item_id=report.item_id,
    )
    session.commit()
    return get_report(session, project_id=project_id, report_id=report_id)


# -- the queue source ------------------------------------------------------------------------


def has_open(session: Session, *, project_id: int) -> bool:
    """Whether the project has an open report (serving mixes the source in only then)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    FeedbackReport.project_id == project_id,
                    FeedbackReport.status == FeedbackStatus.OPEN,
                )
            )
        )
    )


def open_first() -> tuple[Any, ...]:
    """The queue source's order of open reports: highest stored impact first (reports
    never scored last), then oldest."""
    return (
        FeedbackReport.impact.is_(None),
        FeedbackReport.impact.desc(),
        FeedbackReport.reported_at,
        FeedbackReport.id,
    )


def _open_on_item(session: Session, project_id: int, item_id: int) -> list[FeedbackReport]:
    return list(
        session.scalars(
            select(FeedbackReport)
            .where(
                FeedbackReport.project_id == project_id,
                FeedbackReport.item_id == item_id,
                FeedbackReport.status == FeedbackStatus.OPEN,
            )
            .order_by(*open_first())
        )
    )


def _label_text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def served_reason(session: Session, *, project_id: int, item_id: int) -> str:
    """Why the feedback source served an item: what production answered, what the
    user meant, and how labeling it reviews the reports."""
    reports = _open_on_item(session, project_id, item_id)
    if not reports:
        return "A production user reported that the bot got this message wrong."
    first = reports[0]
    said = (
        f"the bot's answer “{_label_text(first.predicted)}”"
        if first.predicted is not None
        else "the bot's answer"
    )
    meant = f" (they meant “{first.meant_label}”)" if first.meant_label else ""
    more = f" {len(reports)} open reports name this message." if len(reports) > 1 else ""
    return (
        f"A production user reported {said} as wrong{meant}.{more} Give the right label: "
        "the bot's own answer rejects the report, any other confirms it."
    )


def _same_label(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and sorted(map(str, a)) == sorted(map(str, b))
        )
    return bool(a == b)


def resolve_served(session: Session, *, annotation: Annotation, now: datetime) -> int:
    """Review the open reports of an item labeled from the queue's feedback source.

    A report whose production answer is the label given was false (rejected); any other
    was true (confirmed, the annotation being its label), as on the triage page. Runs in
    the caller's write transaction. Returns how many reports were reviewed.
    """
    reports = _open_on_item(session, annotation.project_id, annotation.item_id)
    for report in reports:
        report.impact = _impact_now(session, report)
        report.reviewer_id = annotation.annotator_id
        report.reviewed_at = now
        if report.predicted is not None and _same_label(report.predicted, annotation.value):
            report.status = FeedbackStatus.REJECTED
            event = "feedback_rejected"
        else:
            report.status = FeedbackStatus.CONFIRMED
            report.confirmed_label = _label_text(annotation.value)
            report.annotation_id = annotation.id
            event = "feedback_confirmed"
        record(
            session,
            event,
            project_id=annotation.project_id,
            user_id=annotation.annotator_id,
            report_id=report.id,
            item_id=annotation.item_id,
            annotation_id=annotation.id,
            via="queue",
        )
    return len(reports)


# -- the funnel ------------------------------------------------------------------------------


def feedback_funnel(session: Session, project: Project) -> FeedbackFunnel:
    """Reported -> confirmed / rejected -> fixed in a released model (see the module)."""
    counts = dict(
        session.execute(
            select(FeedbackReport.status, func.count())
            .where(FeedbackReport.project_id == project.id)
            .group_by(FeedbackReport.status)
        ).all()
    )
    confirmed = int(counts.get(FeedbackStatus.CONFIRMED, 0))
    rejected = int(counts.get(FeedbackStatus.REJECTED, 0))
    opened = int(counts.get(FeedbackStatus.OPEN, 0))
    times = _snapshot_times(session, project.id)
    released: tuple[int, int, datetime] | None = None
    if project.production_version_id is not None:
        released = next((t for t in times if t[1] == project.production_version_id), None)
    is_production = released is not None
    if released is None and times:
        released = times[-1]
    fixed = 0
    if released is not None and confirmed:
        fixed = int(
            session.scalar(
                select(func.count()).where(
                    FeedbackReport.project_id == project.id,
                    FeedbackReport.status == FeedbackStatus.CONFIRMED,
                    FeedbackReport.reviewed_at <= released[2],
                )
            )
            or 0
        )
    reliability = channel_reliability(session, project_id=project.id)
    channels = {
        c: (
            int(reliability.confirmed.get(c, 0)),
            int(reliability.rejected.get(c, 0)),
            reliability.probability(c),
        )
        for c in sorted(set(reliability.confirmed) | set(reliability.rejected))
    }
    end_read(session)
    return FeedbackFunnel(
        reported=confirmed + rejected + opened,
        open=opened,
        confirmed=confirmed,
        rejected=rejected,
        fixed=fixed,
        released_version=None if released is None else released[0],
        released_is_production=is_production,
        channels=channels,
    )
