"""ORM models: typed ``Mapped[]`` columns, named constraints, timezone-aware times.

Design notes (why, not what):

- Items carry a dense per-project ``position`` (0..n-1). The library is index-based; the
  position is the index into the project's feature matrix, so the worker never maps ids.
- An annotation stores a JSON ``value`` (a label name, a list of names, a list of spans)
  and its ``source`` (human / model / rule), so span tasks need new values, not new
  tables. Labeling functions' votes are the exception: ``weak_labels``, apart from
  annotations, so a rule never completes an item, starts a retrain or exports as a
  person's label.
- Undo never deletes: it stamps ``undone_at``. With the append-only ``events`` table this
  keeps a full history of who decided what and when.
- A retrain writes only the top of its ranking (``queue_entries``) under a new
  ``query_rounds`` row; pointing ``projects.current_round_id`` at it is the atomic swap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from labelwise.data import LabelSource

# Re-exported (``as``): they lived here before ``store.enums``, and callers import them from here.
from labelwise.store.enums import AnnotationKind as AnnotationKind
from labelwise.store.enums import ClusterStatus as ClusterStatus
from labelwise.store.enums import FeedbackStatus as FeedbackStatus
from labelwise.store.enums import JobStatus as JobStatus
from labelwise.store.enums import Role as Role
from labelwise.store.enums import TaskType as TaskType

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_ONE_QUEUED_RETRAIN = "status = 'queued' AND kind = 'retrain'"


def _username_key(context: Any) -> str:
    return username_key(context.get_current_parameters()["username"])


def username_key(username: str) -> str:
    """The case-insensitive form a username is unique under."""
    return username.casefold()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


def _enum(cls: type[StrEnum]) -> Enum:
    # Stored as the lowercase value, checked by a named constraint, portable to SQLite.
    return Enum(
        cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        name=cls.__name__.lower(),
        length=32,
    )


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    # Usernames compare case-insensitively: "Admin" beside "admin" is refused, and log-in
    # finds either. Kept as a column (not an expression index) so every database reflects it.
    username_key: Mapped[str] = mapped_column(String(100), unique=True, default=_username_key)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # SHA-256 of the secret: tokens are long random strings, so a fast hash is enough and
    # lets a request find its token by equality instead of trying every argon2 hash.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship()


class ServiceToken(Base):
    """A production bot's credential: one project, a few scopes (ingest, feedback,
    predict), and nothing a person can do.

    Kept apart from ``api_tokens`` (which authenticate people), so no route that takes a
    user can ever be reached with one: a service token is only looked up by the routes
    that accept it.
    """

    __tablename__ = "service_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[TaskType] = mapped_column(_enum(TaskType), default=TaskType.SINGLE_LABEL)
    labels: Mapped[list[str]] = mapped_column(JSON)
    # Entity types of span tasks: intents_entities reads them here (its labels are the
    # intents); a spans project mirrors its labels. Read through the project's Task only.
    entity_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Strategy, features, retrain cadence, lease length, overlap, audit share: one JSON
    # document validated by the service's ProjectSettings, so a new knob needs no migration.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    current_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("query_rounds.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    # The model version the predict endpoint answers from: promoted by an admin, never
    # moved by a retrain (a new version serves the queue at once, production only when
    # somebody has compared it). None until the first promotion.
    production_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.ANNOTATOR)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "position"),
        UniqueConstraint("project_id", "content_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(500), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    # Kept out of training and served at random, so its accuracy is an unbiased estimate.
    is_audit: Mapped[bool] = mapped_column(Boolean, default=False)
    # The held-out evaluation set: imported with a reference (gold) label, never served
    # and never trained on; every model version is scored on it.
    is_evaluation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reference_label: Mapped[Any] = mapped_column(
        JSON(none_as_null=True), nullable=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    label_count: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifact_path: Mapped[str | None] = mapped_column(String(1000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueryRound(Base):
    """One rescoring of the pool by one model version."""

    __tablename__ = "query_rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), default=None
    )
    strategy: Mapped[str] = mapped_column(Text)
    n_scored: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueEntry(Base):
    __tablename__ = "queue_entries"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("query_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    # The model's top classes for this item as [[label, probability], ...], best first:
    # what the labeling page offers as suggestions, computed once by the worker. Span
    # tasks store {"intents": [[label, p], ...], "spans": [{start, end, label,
    # confidence}, ...], "focus": <the least confident span> | null} instead.
    suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("annotator_id", "client_key"),
        Index("ix_annotations_project_created", "project_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[AnnotationKind] = mapped_column(
        _enum(AnnotationKind), default=AnnotationKind.LABEL
    )
    # A label name, a list of names (multi-label) or, later, a list of spans; None for skip.
    value: Mapped[Any] = mapped_column(JSON, default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[LabelSource] = mapped_column(_enum(LabelSource), default=LabelSource.HUMAN)
    seconds_spent: Mapped[float | None] = mapped_column(Float, default=None)
    # Under which model and score the item was served: provenance for every decision.
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    strategy: Mapped[str | None] = mapped_column(Text, default=None)
    query_score: Mapped[float | None] = mapped_column(Float, default=None)
    client_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(default=None)
    # A flag's review: who resolved it, when, and how (labeled, out of scope, requeued).
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolution: Mapped[str | None] = mapped_column(String(32), default=None)


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (
        Index("ix_leases_project_open", "project_id", "released_at", "expires_at"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    strategy: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float, default=None)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_project_status", "project_id", "status"),
        # At most one queued retrain per project: concurrent submits cannot queue
        # duplicate full retrains (the second insert fails and finds the first).
        Index(
            "uq_jobs_one_queued_retrain",
            "project_id",
            unique=True,
            sqlite_where=text(_ONE_QUEUED_RETRAIN),
            postgresql_where=text(_ONE_QUEUED_RETRAIN),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50), default="retrain")
    trigger: Mapped[str] = mapped_column(String(50), default="manual")
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # What the job was asked to do (an import's staged file and options) and how far it
    # got / what it produced (rows read, counts, located errors): JSON, so a new job kind
    # needs no migration.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    label_count: Mapped[int | None] = mapped_column(Integer, default=None)
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Event(Base):
    """Append-only log: the service inserts, nothing updates or deletes."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None, index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportRow(Base):
    """A parsed row of an import job, staged before the job publishes it.

    A large file is staged in many short transactions (labeling goes on meanwhile) and
    published from here in one; the job's rows are deleted once it ends either way.
    ``first`` marks the first row of the file with its text (later ones are duplicates
    whose labels may still attach to the item).
    """

    __tablename__ = "import_rows"
    # Publishing reads one job's id range at a time (migration 0015).
    __table_args__ = (Index("ix_import_rows_job_id_id", "job_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first: Mapped[bool] = mapped_column(Boolean, default=True)


class TrafficStat(Base):
    """How often production sent an item's text: one row per item that came from traffic.

    A repeat of a known text bumps ``count`` and ``last_seen_at`` instead of adding an
    item (a query asked 500 times matters more than one asked once). ``group_item_id``
    is the representative of the item's near-duplicate group, set by the worker once the
    text is embedded (None: not embedded yet; itself: it leads its group).
    """

    __tablename__ = "traffic_stats"
    __table_args__ = (Index("ix_traffic_stats_project_last_seen", "project_id", "last_seen_at"),)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    group_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="SET NULL"), default=None
    )


class TrafficMessage(Base):
    """One production message as received: what the bot saw and what its model said.

    ``external_id`` makes ingest idempotent (a message sent twice is stored once); a
    message without one is always new, and its text may still repeat a known item.
    """

    __tablename__ = "traffic_messages"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index("ix_traffic_messages_project_received", "project_id", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # The message's own time (the bot's clock) beside the time it reached us.
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    conversation_id: Mapped[str | None] = mapped_column(String(200), default=None)
    channel: Mapped[str] = mapped_column(String(100), default="")
    # The production model's answer when the message was handled: a label name (or
    # list), and its confidence in [0, 1].
    predicted: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FeedbackReport(Base):
    """A user's report that the bot got a message wrong, and its review.

    The report always points at an item (the ingested message's, or the item its text
    became); ``traffic_message_id`` is set when it named an ingested message by external
    id. ``meant_label`` ("what I meant") is a label of the project or None, never free
    text. The ``model_*`` columns and ``density`` are the evidence the triage ranking
    used, scored with ``scored_version_id`` (rescored when a newer version exists);
    ``impact`` is the last score computed. ``fixed_version_id`` is the first model version
    trained after the confirmation (the funnel's "fixed in a released model").
    ``report_key`` is the reporter's own key for the report (optional, unique per project).
    """

    __tablename__ = "feedback_reports"
    __table_args__ = (
        Index("ix_feedback_reports_project_status", "project_id", "status"),
        Index("ix_feedback_reports_project_channel", "project_id", "channel"),
        # A client's id for its report: a retried batch stores nothing twice.
        Index("uq_feedback_reports_project_report_key", "project_id", "report_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    traffic_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("traffic_messages.id", ondelete="SET NULL"), default=None
    )
    report_key: Mapped[str | None] = mapped_column(String(200), default=None)
    # What production answered for the message (a label name, or None if unknown).
    predicted: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    meant_label: Mapped[str | None] = mapped_column(String(200), default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(100), default="")
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[FeedbackStatus] = mapped_column(
        _enum(FeedbackStatus), default=FeedbackStatus.OPEN
    )
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_label: Mapped[str | None] = mapped_column(String(200), default=None)
    annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="SET NULL"), default=None
    )
    fixed_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    scored_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    model_label: Mapped[str | None] = mapped_column(String(200), default=None)
    model_margin: Mapped[float | None] = mapped_column(Float, default=None)
    model_p_production: Mapped[float | None] = mapped_column(Float, default=None)
    density: Mapped[float] = mapped_column(Float, default=1.0)
    impact: Mapped[float | None] = mapped_column(Float, default=None)


class RelabelSuspect(Base):
    """A human label suspected wrong by the relabel job, and its review.

    The job ranks the project's human labels by out-of-fold confident learning
    (``labelwise.evaluation.label_issues``) and replaces the *open* suspects with its new
    ranking; reviewed rows stay as history. A suspect is served to someone other than the
    annotator who gave the label; their label resolves it: ``kept`` (the same label) or
    ``changed`` (then the suspected annotation is superseded: stamped ``undone_at`` with
    resolution ``relabeled``, so the reviewer's label trains and exports in its place).
    """

    __tablename__ = "relabel_suspects"
    __table_args__ = (
        Index("ix_relabel_suspects_project_status_rank", "project_id", "status", "rank"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # The suspected label: its annotation and who gave it (None: imported with the file).
    annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="SET NULL"), default=None
    )
    annotator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    given_label: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    suggested_label: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    # Suspicion: 1 - the out-of-fold probability of the given label; rank 0 = most suspect.
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    # open | kept | changed
    status: Mapped[str] = mapped_column(String(16), default="open")
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    review_annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="SET NULL"), default=None
    )
    outcome_label: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class IntentCluster(Base):
    """A cluster of messages the model could not place: a possible new intent.

    Found by a discovery job (``job_id``) over the candidates of the model version it
    read (out-of-scope predictions and low confidence); a new discovery replaces the
    ``open`` clusters, while decided ones (``created`` / ``out_of_scope`` / ``dismissed``)
    stay as the record of what the admin did. ``representatives`` holds the item ids
    shown first (nearest the centroid); ``terms`` the distinctive words behind
    ``suggested_name``.
    """

    __tablename__ = "intent_clusters"
    __table_args__ = (Index("ix_intent_clusters_project_status", "project_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[ClusterStatus] = mapped_column(_enum(ClusterStatus), default=ClusterStatus.OPEN)
    size: Mapped[int] = mapped_column(Integer)
    suggested_name: Mapped[str] = mapped_column(String(200))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    representatives: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The label the admin created (or chose) from this cluster, once decided.
    created_label: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntentClusterMember(Base):
    """One item of an intent cluster: its rank (0 = nearest the centroid) and cosine
    similarity to the centroid."""

    __tablename__ = "intent_cluster_members"
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("intent_clusters.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    similarity: Mapped[float] = mapped_column(Float)


class StreamBudget(Base):
    """A project's stream budget manager state, carried between the worker's batches.

    ``state`` is :meth:`labelwise.stream.BudgetState.to_dict` (threshold, recent scores,
    admissions in the current period, past periods): plain JSON, one row per project.
    """

    __tablename__ = "stream_budgets"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamScore(Base):
    """A traffic item's expected impact as last scored, and when the budget admitted it.

    One row per scored traffic item (a group leader), kept apart from ``traffic_stats``
    so ingest's hot rows stay narrow and projects without a budget never write here.
    ``scored_count`` is the traffic count it was scored at: a repeat that raised the
    count offers the item again. ``admitted_at`` (None: not admitted) orders the
    ``stream`` queue source.
    """

    __tablename__ = "stream_scores"
    __table_args__ = (Index("ix_stream_scores_project_admitted", "project_id", "admitted_at"),)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    impact: Mapped[float] = mapped_column(Float)
    scored_count: Mapped[int] = mapped_column(Integer, default=1)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    admitted_at: Mapped[datetime | None] = mapped_column(default=None)


class LabelingFunctionRecord(Base):
    """A project's labeling function: a declarative spec (no code), versioned.

    Weak labels are not annotations: the votes live in ``weak_labels``, so they never
    complete an item, count toward a retrain or export as a person's label. ``version``
    rises with every edit (``labeling_function_versions`` keeps each); ``applied_version``
    and ``applied_through_item_id`` say how far its votes are computed (the version they
    came from, and the highest item id they cover), so only new items and edited
    functions are applied again. ``error`` holds why applying it stopped (a pattern that
    timed out on a new item); such a function is disabled until edited.
    """

    __tablename__ = "labeling_functions"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint(
            "kind IN ('keyword', 'regex', 'label_name', 'exemplar', 'zero_shot')",
            name="declarative_kind",
        ),
        CheckConstraint("origin IN ('person', 'suggestion')", name="known_origin"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    # The whole declarative spec (name, kind, label and the kind's keys), as
    # ``labelwise.weak.function_from_spec`` reads it.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    origin: Mapped[str] = mapped_column(String(16), default="person")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_version: Mapped[int | None] = mapped_column(Integer, default=None)
    applied_through_item_id: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class LabelingFunctionVersion(Base):
    """One version of a labeling function as it was saved: what a weak label's
    ``version`` refers to."""

    __tablename__ = "labeling_function_versions"
    function_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_functions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    edited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeakLabel(Base):
    """A labeling function's vote on an item (abstentions are not stored)."""

    __tablename__ = "weak_labels"
    function_id: Mapped[int] = mapped_column(
        ForeignKey("labeling_functions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))


class SuggestionDecision(Base):
    """A person's answer to a suggested labeling function, by the suggestion's key (its
    name): a decided suggestion is not offered again."""

    __tablename__ = "labeling_function_suggestions"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        CheckConstraint("decision IN ('accepted', 'rejected')", name="known_decision"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
