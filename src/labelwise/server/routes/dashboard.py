"""The "is active learning helping?" numbers for one project."""

from __future__ import annotations

from fastapi import APIRouter

from labelwise.server.deps import ProjectAdmin, SessionDep
from labelwise.server.schemas.dashboard import DashboardOut
from labelwise.service import dashboard, intent_discovery

router = APIRouter(prefix="/projects/{project_id}", tags=["dashboard"])


@router.get("/dashboard", response_model=DashboardOut)
def read_dashboard(session: SessionDep, access: ProjectAdmin) -> DashboardOut:
    """Progress, sampling bias, throughput, learning curve on the audit sample, pool
    uncertainty per model version, stopping signals, recent jobs, and whether active
    learning is helping: the labels it saved against random sampling, and failure signals.

    Project admins only: it shows each annotator's pace.
    """
    out = DashboardOut.model_validate(
        dashboard.project_dashboard(session, project_id=access.project_id)
    )
    clusters = intent_discovery.count_open_clusters(session, project_id=access.project_id)
    return out.model_copy(update={"open_clusters": clusters})
