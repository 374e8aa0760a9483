"""Who may do what: the one-query check behind the project list's admin links."""

from __future__ import annotations

from labelwise.service import policies, projects
from labelwise.store import Role
from tests.service.pool_factory import make_user


def test_administered_projects_follow_roles(session):
    root = make_user(session, "root", admin=True)
    lead = make_user(session, "lead")
    ids = [
        projects.create_project(session, name=name, labels=["a", "b"], owner=root).id
        for name in ("one", "two", "three")
    ]
    projects.add_member(session, project_id=ids[0], user=lead, role=Role.ADMIN)
    projects.add_member(session, project_id=ids[1], user=lead, role=Role.ANNOTATOR)
    assert policies.administered_projects(session, user=lead, project_ids=ids) == {ids[0]}
    assert policies.administered_projects(session, user=root, project_ids=ids) == set(ids)
    assert policies.administered_projects(session, user=lead, project_ids=[]) == set()
