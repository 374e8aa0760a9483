from __future__ import annotations

import pytest

from labelwise.service import policies, projects, users
from labelwise.service.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from labelwise.store import Role


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="owner-password")


def test_create_project_makes_the_owner_admin(session, owner):
    project = projects.create_project(session, name="intents", labels=["a", "b"], owner=owner)
    assert project.settings["strategy"] == "margin"
    assert policies.project_role(session, project_id=project.id, user=owner) is Role.ADMIN


@pytest.mark.parametrize(
    ("labels", "settings", "message"),
    [
        ([], None, "at least one"),
        (["a", "a"], None, "distinct"),
        (["a"], {"strategy": "psychic"}, "unknown strategy"),
        (["a"], {"retrain_every": 0}, "retrain_every"),
        (["a"], {"no_such_knob": 1}, "no_such_knob"),
    ],
)
def test_bad_projects_are_refused_with_the_reason(session, owner, labels, settings, message):
    with pytest.raises(ValidationError, match=message):
        projects.create_project(session, name="p", labels=labels, owner=owner, settings=settings)


def test_duplicate_project_name_conflicts(session, owner):
    projects.create_project(session, name="p", labels=["a"], owner=owner)
    with pytest.raises(ConflictError):
        projects.create_project(session, name="p", labels=["a"], owner=owner)


def test_outsiders_do_not_see_a_project_and_annotators_are_not_admins(session, owner):
    project = projects.create_project(session, name="p", labels=["a"], owner=owner)
    outsider = users.create_user(session, username="out", password="outsider-pw")
    annotator = users.create_user(session, username="ann", password="annotator-pw")
    projects.add_member(session, project_id=project.id, user=annotator)
    with pytest.raises(NotFoundError):
        policies.require_member(session, project_id=project.id, user=outsider)
    assert projects.list_projects(session, user=outsider) == []
    assert [p.id for p in projects.list_projects(session, user=annotator)] == [project.id]
    with pytest.raises(PermissionDeniedError):
        policies.require_project_admin(session, project_id=project.id, user=annotator)


def test_update_settings_validates_the_merged_settings(session, owner):
    project = projects.create_project(session, name="p", labels=["a"], owner=owner)
    projects.update_settings(session, project_id=project.id, changes={"retrain_every": 5})
    assert project.settings["retrain_every"] == 5
    with pytest.raises(ValidationError):
        projects.update_settings(session, project_id=project.id, changes={"overlap": 0})
