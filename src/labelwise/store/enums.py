"""The store's enumerations, apart from the ORM models so that the CLI can declare options
over them (``--role``) without importing SQLAlchemy."""

from __future__ import annotations

from enum import StrEnum


class TaskType(StrEnum):
    SINGLE_LABEL = "single_label"
    MULTI_LABEL = "multi_label"
    SPANS = "spans"
    INTENTS_ENTITIES = "intents_entities"


class Role(StrEnum):
    ADMIN = "admin"
    ANNOTATOR = "annotator"


class AnnotationKind(StrEnum):
    LABEL = "label"
    SKIP = "skip"
    FLAG = "flag"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    # A retrain with too few trainable labels: nothing went wrong, nothing was produced.
    SKIPPED = "skipped"


class FeedbackStatus(StrEnum):
    """A user's report, before and after review."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ClusterStatus(StrEnum):
    """Where an intent cluster stands: awaiting review, or what the admin decided."""

    OPEN = "open"
    CREATED = "created"
    OUT_OF_SCOPE = "out_of_scope"
    DISMISSED = "dismissed"
