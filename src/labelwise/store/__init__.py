"""Persistence: SQLAlchemy 2 models, the engine factory and Alembic migrations.

SQLite (a file, WAL mode) is the zero-set-up default; PostgreSQL serves teams through a
``postgresql+psycopg://`` URL. The store may import library value types (``LabelSource``)
and nothing above it.
"""

from labelwise.store.engine import make_engine, make_session_factory, upgrade_database
from labelwise.store.models import (
    Annotation,
    AnnotationKind,
    ApiToken,
    Base,
    Event,
    ImportRow,
    Item,
    Job,
    JobStatus,
    Lease,
    Membership,
    ModelVersion,
    Project,
    QueryRound,
    QueueEntry,
    Role,
    TaskType,
    User,
)

__all__ = [
    "Annotation",
    "AnnotationKind",
    "ApiToken",
    "Base",
    "Event",
    "ImportRow",
    "Item",
    "Job",
    "JobStatus",
    "Lease",
    "Membership",
    "ModelVersion",
    "Project",
    "QueryRound",
    "QueueEntry",
    "Role",
    "TaskType",
    "User",
    "make_engine",
    "make_session_factory",
    "upgrade_database",
]
