"""Projects, their settings and their members."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import EntityType, LabelName, Name, Text, UtcDateTime
from labelwise.store import Role, TaskType


class ProjectIn(BaseModel):
    name: Name = Field(min_length=1, max_length=200)
    labels: list[Annotated[LabelName, Field(min_length=1, max_length=200)]] = Field(
        min_length=1,
        max_length=10_000,
        json_schema_extra={"uniqueItems": True},
        description="Distinct names; a single-label project needs at least two (a choice "
        "needs two options), a multi-label project at least one. A spans project's labels "
        "are its entity types (at least one); an intents_entities project's labels are its "
        "intents (at least two).",
    )
    task: TaskType = TaskType.SINGLE_LABEL
    entity_types: list[Annotated[EntityType, Field(min_length=1, max_length=200)]] = Field(
        default=[],
        max_length=10_000,
        json_schema_extra={"uniqueItems": True},
        description="The entity types of an intents_entities project (at least one); a "
        "spans project may leave it empty (its labels are the types) or repeat its labels. "
        "Other tasks take none.",
    )
    settings: dict[str, Any] | None = Field(
        default=None, description="Overrides of the default project settings."
    )
    guidelines: Text = Field(default="", max_length=100_000)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    task: TaskType
    labels: list[str]
    entity_types: list[str] = Field(
        description="Entity types (span tasks); [] for classification projects."
    )
    settings: dict[str, Any]
    guidelines: str
    created_at: UtcDateTime


class MemberIn(BaseModel):
    username: Text = Field(min_length=1, max_length=100)
    role: Role = Role.ANNOTATOR


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    project_id: int
    user_id: int
    role: Role


class MemberRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    username: str
    role: Role


class GuidelinesIn(BaseModel):
    guidelines: Text = Field(max_length=100_000)
