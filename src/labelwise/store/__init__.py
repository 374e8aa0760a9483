"""Persistence: SQLAlchemy 2 models, the engine factory and Alembic migrations.

SQLite (a file, WAL mode) is the zero-set-up default; PostgreSQL serves teams through a
``postgresql+psycopg://`` URL. The store may import library value types (``LabelSource``)
and nothing above it.

Names resolve on first use (PEP 562): the CLI imports ``labelwise.store.enums`` for its
options without paying for SQLAlchemy.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from labelwise._lazy import lazy_exports as _lazy_exports

if _TYPE_CHECKING:
    from labelwise.store.engine import make_engine, make_session_factory, upgrade_database
    from labelwise.store.models import (
        Annotation,
        AnnotationKind,
        ApiToken,
        Base,
        ClusterStatus,
        Event,
        FeedbackReport,
        FeedbackStatus,
        ImportRow,
        IntentCluster,
        IntentClusterMember,
        Item,
        Job,
        JobStatus,
        LabelingFunctionRecord,
        LabelingFunctionVersion,
        Lease,
        Membership,
        ModelVersion,
        Project,
        QueryRound,
        QueueEntry,
        RelabelSuspect,
        Role,
        ServiceToken,
        StreamBudget,
        StreamScore,
        SuggestionDecision,
        TaskType,
        TrafficMessage,
        TrafficStat,
        User,
        WeakLabel,
    )

_LAZY = {
    "Annotation": "labelwise.store.models",
    "AnnotationKind": "labelwise.store.enums",
    "ApiToken": "labelwise.store.models",
    "Base": "labelwise.store.models",
    "ClusterStatus": "labelwise.store.enums",
    "Event": "labelwise.store.models",
    "FeedbackReport": "labelwise.store.models",
    "FeedbackStatus": "labelwise.store.enums",
    "ImportRow": "labelwise.store.models",
    "IntentCluster": "labelwise.store.models",
    "IntentClusterMember": "labelwise.store.models",
    "Item": "labelwise.store.models",
    "Job": "labelwise.store.models",
    "JobStatus": "labelwise.store.enums",
    "LabelingFunctionRecord": "labelwise.store.models",
    "LabelingFunctionVersion": "labelwise.store.models",
    "Lease": "labelwise.store.models",
    "Membership": "labelwise.store.models",
    "ModelVersion": "labelwise.store.models",
    "Project": "labelwise.store.models",
    "QueryRound": "labelwise.store.models",
    "QueueEntry": "labelwise.store.models",
    "RelabelSuspect": "labelwise.store.models",
    "Role": "labelwise.store.enums",
    "ServiceToken": "labelwise.store.models",
    "StreamBudget": "labelwise.store.models",
    "StreamScore": "labelwise.store.models",
    "SuggestionDecision": "labelwise.store.models",
    "TaskType": "labelwise.store.enums",
    "TrafficMessage": "labelwise.store.models",
    "TrafficStat": "labelwise.store.models",
    "User": "labelwise.store.models",
    "WeakLabel": "labelwise.store.models",
    "make_engine": "labelwise.store.engine",
    "make_session_factory": "labelwise.store.engine",
    "upgrade_database": "labelwise.store.engine",
}

__all__ = [
    "Annotation",
    "AnnotationKind",
    "ApiToken",
    "Base",
    "ClusterStatus",
    "Event",
    "FeedbackReport",
    "FeedbackStatus",
    "ImportRow",
    "IntentCluster",
    "IntentClusterMember",
    "Item",
    "Job",
    "JobStatus",
    "LabelingFunctionRecord",
    "LabelingFunctionVersion",
    "Lease",
    "Membership",
    "ModelVersion",
    "Project",
    "QueryRound",
    "QueueEntry",
    "RelabelSuspect",
    "Role",
    "ServiceToken",
    "StreamBudget",
    "StreamScore",
    "SuggestionDecision",
    "TaskType",
    "TrafficMessage",
    "TrafficStat",
    "User",
    "WeakLabel",
    "make_engine",
    "make_session_factory",
    "upgrade_database",
]


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
