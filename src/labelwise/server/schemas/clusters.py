"""New-intent discovery: the clusters of a project, and an admin's decision on one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from labelwise.server.schemas.common import Id, Text, UtcDateTime
from labelwise.service.intent_discovery import ClusterMember, ClusterView
from labelwise.store import ClusterStatus

#: Member ids one decision may confirm (a cluster is at most the clustered candidates).
MAX_CONFIRM = 10_000


class ClusterMemberOut(BaseModel):
    item_id: int
    text: str
    rank: int = Field(description="0 = nearest the cluster's centroid.")
    similarity: float = Field(description="Cosine similarity to the centroid.")

    @classmethod
    def from_member(cls, member: ClusterMember) -> ClusterMemberOut:
        return cls(
            item_id=member.item_id,
            text=member.text,
            rank=member.rank,
            similarity=round(member.similarity, 4),
        )


class ClusterOut(BaseModel):
    id: int
    status: ClusterStatus
    size: int
    suggested_name: str = Field(description="Distinctive words of the cluster joined by '_'.")
    terms: list[str]
    representatives: list[ClusterMemberOut] = Field(
        description="The members nearest the centroid: what to read first."
    )
    members: list[ClusterMemberOut] = Field(description="Up to 200 members, nearest first.")
    created_label: str | None = Field(
        description="The label created from it, or the out-of-scope class it was given."
    )
    created_at: UtcDateTime
    decided_at: UtcDateTime | None
    job_id: int | None
    model_version_id: int | None

    @classmethod
    def from_view(cls, view: ClusterView) -> ClusterOut:
        return cls(
            id=view.id,
            status=view.status,
            size=view.size,
            suggested_name=view.suggested_name,
            terms=view.terms,
            representatives=[ClusterMemberOut.from_member(m) for m in view.representatives],
            members=[ClusterMemberOut.from_member(m) for m in view.members],
            created_label=view.created_label,
            created_at=view.created_at,
            decided_at=view.decided_at,
            job_id=view.job_id,
            model_version_id=view.model_version_id,
        )


class CreateIntentIn(BaseModel):
    name: Text = Field(
        min_length=1,
        max_length=1000,
        description="The new intent's name (a new label of the project; at most 100 "
        "characters once stripped).",
    )
    confirm: list[Id] | Literal["all"] = Field(
        default="all",
        max_length=MAX_CONFIRM,
        description='Member item ids to label with the new intent, or "all"; [] adds the '
        "label only.",
    )
