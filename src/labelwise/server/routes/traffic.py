"""Production traffic: a bot posts what its users wrote (service token scope ``ingest``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from labelwise.server.deps import ProjectMember, ScopedCaller, SessionDep, project_scope
from labelwise.server.schemas.traffic import IngestReportOut, TrafficBatchIn, TrafficSummaryOut
from labelwise.service import live_quality, traffic

router = APIRouter(prefix="/projects/{project_id}", tags=["traffic"])


@router.post("/traffic", response_model=IngestReportOut)
def ingest_traffic(
    body: TrafficBatchIn,
    session: SessionDep,
    caller: Annotated[ScopedCaller, Depends(project_scope("ingest"))],
) -> IngestReportOut:
    """Store a batch of up to 10,000 production messages.

    Each message is checked alone: a bad one is counted in ``rejected`` with its index,
    field and reason, and the rest are stored. A message whose ``external_id`` was
    ingested before is a ``duplicate`` (nothing changes, so a retry is safe); a text
    already in the pool raises that item's traffic count instead of adding an item.
    The answer does not wait for embeddings: the retrain worker computes them.
    """
    report = traffic.ingest_traffic(session, project_id=caller.project_id, messages=body.messages)
    return IngestReportOut.model_validate(report)


@router.get("/traffic/summary", response_model=TrafficSummaryOut)
def traffic_summary(session: SessionDep, access: ProjectMember) -> TrafficSummaryOut:
    """Production traffic at a glance: messages per day, repeats, the production model's
    coverage, near-duplicate groups (and the worker's backlog), the most asked texts, and
    the bot's accuracy on the random audit of live traffic with the most-confused pairs."""
    summary = traffic.summarize_traffic(session, project_id=access.project_id)
    live = live_quality.live_quality(session, project_id=access.project_id)
    return TrafficSummaryOut.from_summary(summary, live)
