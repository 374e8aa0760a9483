"""Reusable SQL conditions shared by serving and training."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.orm import aliased

from labelwise.store.models import Annotation, AnnotationKind, TrafficStat

#: ``annotations.resolution`` of a flag whose reviewer took the item out of the project's
#: scope: it is neither served again nor trained on (its labels stay, for the record).
OUT_OF_SCOPE = "out_of_scope"


def out_of_scope(item_id: Any) -> Any:
    """SQL condition: the item ``item_id`` (a column) was reviewed out of scope.

    The flag is read through an alias, so the condition also works inside a query that
    itself selects annotations (SQLAlchemy would otherwise correlate the subquery's
    ``annotations`` away into the outer query).
    """
    flag = aliased(Annotation)
    return exists().where(
        flag.item_id == item_id,
        flag.kind == AnnotationKind.FLAG,
        flag.undone_at.is_(None),
        flag.resolution == OUT_OF_SCOPE,
    )


def near_copy(item_id: Any) -> Any:
    """SQL condition: the item ``item_id`` (a column) is production traffic grouped under
    another item's text (its group is served once, through that leader)."""
    stat = aliased(TrafficStat)
    return exists().where(
        stat.item_id == item_id,
        stat.group_item_id.is_not(None),
        stat.group_item_id != item_id,
    )


def utc_day(column: Any, dialect: str) -> Any:
    """SQL expression: the UTC calendar day of a timezone-aware ``column`` as 'YYYY-MM-DD'.

    SQLite stores these columns as UTC text; PostgreSQL's ``timestamptz`` is turned to
    UTC first, so the day does not depend on the connection's time zone.
    """
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)
