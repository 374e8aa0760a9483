"""A project with a published model version, and service tokens for it, for route tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from labelwise.service import service_tokens, training
from labelwise.service.training import RetrainWorker
from labelwise.settings import Settings
from labelwise.store import Project
from tests.server.conftest import Factory, World
from tests.server.test_training import ROWS


def trained_project(
    factory: Factory,
    world: World,
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    versions: int = 1,
    name: str = "served",
) -> Project:
    """A project of the world's admin (the annotator a member) with ``versions`` models."""
    project = factory.project(world.admin, name=name, settings={"min_labels": 2})
    factory.member(project, world.annotator)
    factory.items(project, ROWS)
    worker = RetrainWorker(session_factory, data_dir=settings.data_dir)
    for _ in range(versions):
        with session_factory() as session:
            training.request_retrain(session, project_id=project.id)
        worker.run_pending()
    return project


def service_headers(
    session_factory: sessionmaker[Session], project: Project, *scopes: str
) -> dict[str, Any]:
    """A bearer header with a new service token of ``project`` holding ``scopes``."""
    with session_factory() as session:
        _, secret = service_tokens.create_service_token(
            session, project_id=project.id, name="bot", scopes=scopes, created_by_id=None
        )
    return {"Authorization": f"Bearer {secret}"}
