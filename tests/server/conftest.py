"""An app per test over the test database, and factories that build state through the service."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from labelwise.server.app import create_app
from labelwise.service import importing, projects, users
from labelwise.settings import Settings
from labelwise.store import Project, Role, User

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A fixed serving seed: which items a test is served repeats from run to run.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        run_worker=False,
        serving_seed=20261125,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # The context manager runs the lifespan, which disposes of the app's engine at the end.
    with TestClient(create_app(settings)) as client:
        yield client


@dataclass
class Factory:
    """Users, tokens, projects and items, each made in its own short session."""

    session_factory: sessionmaker[Session]
    tmp_path: Path

    def user(self, username: str = "ana", *, is_admin: bool = False) -> User:
        with self.session_factory() as session:
            return users.create_user(
                session, username=username, password=PASSWORD, is_admin=is_admin
            )

    def headers(self, user: User) -> dict[str, str]:
        with self.session_factory() as session:
            token = users.create_token(session, user=user, name="test")
        return {"Authorization": f"Bearer {token}"}

    def project(
        self,
        owner: User,
        name: str = "intents",
        labels: Sequence[str] = ("greet", "bye"),
        **kwargs: Any,
    ) -> Project:
        with self.session_factory() as session:
            return projects.create_project(session, name=name, labels=labels, owner=owner, **kwargs)

    def member(self, project: Project, user: User, role: Role = Role.ANNOTATOR) -> None:
        with self.session_factory() as session:
            projects.add_member(session, project_id=project.id, user=user, role=role)

    def items(self, project: Project, rows: Sequence[dict[str, Any]]) -> None:
        path = self.tmp_path / f"items-{project.id}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        with self.session_factory() as session:
            importing.import_items(session, project_id=project.id, path=path)


@pytest.fixture
def factory(session_factory: sessionmaker[Session], tmp_path: Path) -> Factory:
    return Factory(session_factory, tmp_path)


@dataclass
class World:
    """A site admin who owns a project, one annotator in it, and an outsider."""

    admin: User
    annotator: User
    outsider: User
    project: Project
    admin_headers: dict[str, str]
    annotator_headers: dict[str, str]
    outsider_headers: dict[str, str]


@pytest.fixture
def world(factory: Factory) -> World:
    admin = factory.user("root", is_admin=True)
    annotator = factory.user("ann")
    outsider = factory.user("out")
    project = factory.project(admin)
    factory.member(project, annotator)
    return World(
        admin=admin,
        annotator=annotator,
        outsider=outsider,
        project=project,
        admin_headers=factory.headers(admin),
        annotator_headers=factory.headers(annotator),
        outsider_headers=factory.headers(outsider),
    )


def assert_error(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The one error body shape; returns its ``error`` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == kind
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Production argon2 costs ~0.2 s a hash; every test here makes several users.
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
