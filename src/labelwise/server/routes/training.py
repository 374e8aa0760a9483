"""Retraining: jobs and asking for one (the versions they publish: ``model_versions``)."""

from __future__ import annotations

from fastapi import APIRouter, status

from labelwise.server.deps import ProjectAdmin, ProjectMember, SessionDep
from labelwise.server.schemas.training import JobOut
from labelwise.service import training
from labelwise.store import Role

router = APIRouter(prefix="/projects/{project_id}", tags=["training"])


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(session: SessionDep, access: ProjectMember) -> list[JobOut]:
    """Retrain jobs, newest first; a failure's ``detail`` for project admins only."""
    jobs = training.list_jobs(session, project_id=access.project_id)
    admin = access.role is Role.ADMIN
    return [JobOut.model_validate(job).for_member(admin=admin) for job in jobs]


@router.post("/jobs/retrain", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def request_retrain(session: SessionDep, access: ProjectAdmin) -> JobOut:
    """Queue a retrain now (or get the one already waiting); the worker runs it."""
    return JobOut.model_validate(training.request_retrain(session, project_id=access.project_id))
