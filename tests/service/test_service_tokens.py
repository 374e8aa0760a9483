"""Service tokens: scopes, projects, revocation, and no way into a person's routes."""

from __future__ import annotations

import pytest

from labelwise.service import projects, service_tokens, users
from labelwise.service.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


@pytest.fixture
def project(session, owner):
    return projects.create_project(session, name="bot", labels=["a", "b"], owner=owner)


def test_a_token_may_do_its_scopes_in_its_project_only(session, owner, project):
    other = projects.create_project(session, name="other", labels=["a", "b"], owner=owner)
    row, secret = service_tokens.create_service_token(
        session,
        project_id=project.id,
        name="prod bot",
        scopes=["predict", "ingest", "ingest"],
        created_by_id=owner.id,
    )
    assert secret.startswith("lws_") and row.scopes == ["ingest", "predict"]
    assert secret not in row.token_hash
    found = service_tokens.authorize_service(
        session, token=secret, project_id=project.id, scope="ingest"
    )
    assert found.id == row.id and found.last_used_at is not None
    with pytest.raises(PermissionDeniedError, match="not feedback"):
        service_tokens.authorize_service(
            session, token=secret, project_id=project.id, scope="feedback"
        )
    with pytest.raises(PermissionDeniedError, match=f"belongs to project {project.id}"):
        service_tokens.authorize_service(session, token=secret, project_id=other.id, scope="ingest")


def test_a_service_token_is_refused_where_a_person_is_needed(session, owner, project):
    _, secret = service_tokens.create_service_token(
        session, project_id=project.id, name="bot", scopes=["ingest"], created_by_id=owner.id
    )
    with pytest.raises(PermissionDeniedError, match="only ingest traffic"):
        users.user_for_token(session, token=secret)
    with pytest.raises(AuthenticationError):
        users.user_for_token(session, token="lws_unknown")


def test_revoked_tokens_stop_working_and_stay_listed(session, owner, project):
    row, secret = service_tokens.create_service_token(
        session, project_id=project.id, name="bot", scopes=["predict"], created_by_id=owner.id
    )
    service_tokens.revoke_service_token(
        session, project_id=project.id, token_id=row.id, user_id=owner.id
    )
    with pytest.raises(AuthenticationError, match="revoked"):
        service_tokens.authorize_service(
            session, token=secret, project_id=project.id, scope="predict"
        )
    (listed,) = service_tokens.list_service_tokens(session, project_id=project.id)
    assert listed.revoked_at is not None
    with pytest.raises(NotFoundError):
        service_tokens.revoke_service_token(
            session, project_id=project.id + 1, token_id=row.id, user_id=owner.id
        )


@pytest.mark.parametrize(
    ("name", "scopes", "reason"),
    [
        ("bot", [], "at least one scope"),
        ("bot", ["label"], "Unknown scope 'label'"),
        (" ", ["ingest"], "needs a name"),
    ],
)
def test_bad_requests_are_refused(session, owner, project, name, scopes, reason):
    with pytest.raises(ValidationError, match=reason):
        service_tokens.create_service_token(
            session, project_id=project.id, name=name, scopes=scopes, created_by_id=owner.id
        )
