"""Users as the API shows them (never the password hash)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import Text, UtcDateTime


class UserIn(BaseModel):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=8, max_length=1000)
    is_admin: bool = False


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    is_admin: bool
    created_at: UtcDateTime
