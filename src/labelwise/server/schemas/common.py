"""Field types shared by the resource schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive (they are stored in UTC).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


#: A time the API always writes with its UTC offset, whatever the database returned.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
