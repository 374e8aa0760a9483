"""Logging in: a username and password for an API token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1)
    token_name: str = Field(default="", max_length=100, description="A note to tell tokens apart.")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
