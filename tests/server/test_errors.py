from __future__ import annotations

from typing import Any, NoReturn

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.requests import Request

from labelwise.server.errors import _busy, service_status
from labelwise.service import users
from labelwise.service.errors import (
    AuthenticationError,
    ConflictError,
    LeaseExpiredError,
    NotFoundError,
    PermissionDeniedError,
    ServiceBusyError,
    ServiceError,
    ValidationError,
)
from labelwise.store.engine import DatabaseBusyError


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthenticationError, (401, "authentication_failed")),
        (PermissionDeniedError, (403, "permission_denied")),
        (NotFoundError, (404, "not_found")),
        (ConflictError, (409, "conflict")),
        (LeaseExpiredError, (409, "lease_expired")),
        (ValidationError, (422, "validation_error")),
        (ServiceBusyError, (503, "service_busy")),
        (ServiceError, (400, "bad_request")),
    ],
)
def test_each_service_error_has_one_status(error, expected):
    assert service_status(error("x")) == expected


def test_a_subclass_inherits_its_parents_status():
    class StaleSettingsError(ConflictError):
        pass

    assert service_status(StaleSettingsError("x")) == (409, "conflict")


# --- A saturated database is a 503 with Retry-After, never a 500 --------------------------


@pytest.mark.parametrize(
    "error",
    [
        PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        DatabaseBusyError("another transaction held the database for 30 s"),
        OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked")),
    ],
    ids=["pool-exhausted", "writer-lock-timeout", "sqlite-locked"],
)
def test_a_saturated_database_is_a_503_with_retry_after(client, world, monkeypatch, error):
    def _saturated(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise error

    monkeypatch.setattr(users, "user_for_token", _saturated)
    response = client.get("/api/projects", headers=world.annotator_headers)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()["error"]
    assert body["type"] == "service_busy" and "try again" in body["message"]


def test_other_database_errors_stay_internal_errors(client, world, monkeypatch):
    def _broken(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise OperationalError("SELECT", None, Exception("no such table: jobs"))

    monkeypatch.setattr(users, "user_for_token", _broken)
    response = client.get("/api/projects", headers=world.annotator_headers)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_error"
    assert "jobs" not in response.text


def test_a_busy_page_reloads_itself():
    request = Request({"type": "http", "method": "GET", "path": "/ui/projects", "headers": []})
    response = _busy(request, ServiceBusyError(retry_after=3))
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert response.media_type == "text/html" and b'http-equiv="refresh"' in response.body
