"""Items of a project, one at a time or a page at a time."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    text: str
    meta: dict[str, Any]
    source: str
    is_audit: bool
    is_evaluation: bool
    created_at: UtcDateTime


class ItemsPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ItemOut]
