"""Service tokens: a production bot's project-scoped credential."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import Name, UtcDateTime

Scope = Literal["ingest", "feedback", "predict"]


class ServiceTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name, Field(max_length=100, description="Which bot or service uses it.")]
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=3,
            description="What it may do: ingest traffic, report feedback, predict.",
        ),
    ]


class ServiceTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    scopes: list[str]
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None = Field(
        description="Refreshed at most once a minute while the token is used."
    )
    revoked_at: UtcDateTime | None


class ServiceTokenCreated(ServiceTokenOut):
    token: str = Field(description="The secret, shown this once; only its hash is stored.")
