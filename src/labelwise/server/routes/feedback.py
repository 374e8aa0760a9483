"""User feedback: a bot reports (scope ``feedback``); project members triage the reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from labelwise.server.deps import PageDep, ProjectMember, ScopedCaller, SessionDep, project_scope
from labelwise.server.schemas.annotations import plain_value
from labelwise.server.schemas.feedback import (
    ConfirmIn,
    FeedbackBatchIn,
    FeedbackFunnelOut,
    FeedbackPageOut,
    FeedbackReceiptOut,
    FeedbackReportOut,
)
from labelwise.service import feedback
from labelwise.store import FeedbackStatus, Project

router = APIRouter(prefix="/projects/{project_id}/feedback", tags=["feedback"])

ReportIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="A feedback report's id.")]


@router.post("", response_model=FeedbackReceiptOut)
def report_feedback(
    body: FeedbackBatchIn,
    session: SessionDep,
    caller: Annotated[ScopedCaller, Depends(project_scope("feedback"))],
) -> FeedbackReceiptOut:
    """Report up to 1,000 messages the bot got wrong.

    Each report names an ingested message by ``external_id`` or carries its ``text``;
    a bad report is counted in ``rejected`` with its index, field and reason (an unknown
    external id names ``external_id``), and the rest are stored.
    """
    receipt = feedback.report_feedback(session, project_id=caller.project_id, reports=body.reports)
    return FeedbackReceiptOut.model_validate(receipt)


@router.get("", response_model=FeedbackPageOut)
def list_reports(
    session: SessionDep,
    access: ProjectMember,
    page: PageDep,
    status: Annotated[
        FeedbackStatus | None,
        Query(description="open (ranked by expected impact), confirmed or rejected."),
    ] = FeedbackStatus.OPEN,
) -> FeedbackPageOut:
    """The project's reports: open ones by expected model impact, highest first."""
    result = feedback.list_reports(
        session,
        project_id=access.project_id,
        status=status,
        offset=page.offset,
        limit=page.limit,
    )
    return FeedbackPageOut(
        total=result.total, reports=[FeedbackReportOut.from_view(v) for v in result.reports]
    )


@router.get("/funnel", response_model=FeedbackFunnelOut)
def feedback_funnel(session: SessionDep, access: ProjectMember) -> FeedbackFunnelOut:
    """Reported -> confirmed / rejected -> fixed in the released model, and each channel's
    reliability."""
    project = session.get_one(Project, access.project_id)
    return FeedbackFunnelOut.from_funnel(feedback.feedback_funnel(session, project))


@router.post("/{report_id}/confirm", response_model=FeedbackReportOut)
def confirm_report(
    report_id: ReportIdPath, body: ConfirmIn, session: SessionDep, access: ProjectMember
) -> FeedbackReportOut:
    """The report is true: label its message (a human label, recorded as from feedback)."""
    view = feedback.confirm_report(
        session,
        project_id=access.project_id,
        report_id=report_id,
        reviewer=access.user,
        label=plain_value(body.label),
    )
    return FeedbackReportOut.from_view(view)


@router.post("/{report_id}/reject", response_model=FeedbackReportOut)
def reject_report(
    report_id: ReportIdPath, session: SessionDep, access: ProjectMember
) -> FeedbackReportOut:
    """The report is false: the bot was right; nothing is labeled."""
    view = feedback.reject_report(
        session, project_id=access.project_id, report_id=report_id, reviewer=access.user
    )
    return FeedbackReportOut.from_view(view)
