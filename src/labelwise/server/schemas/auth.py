"""Logging in: a username and password for an API token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from labelwise.server.schemas.common import Text


class LoginIn(BaseModel):
    username: Text = Field(min_length=1, max_length=100)
    password: Text = Field(min_length=1, max_length=1000)
    token_name: Text = Field(default="", max_length=100, description="A note to tell tokens apart.")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
