"""What an import did."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ImportReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    file: str
    rows: int
    added: int
    duplicates: int
    labeled: int
    skipped: list[dict[str, Any]]
    evaluation: bool
