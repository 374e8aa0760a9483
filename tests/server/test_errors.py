from __future__ import annotations

import pytest

from labelwise.server.errors import service_status
from labelwise.service.errors import (
    AuthenticationError,
    ConflictError,
    LeaseExpiredError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    ValidationError,
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthenticationError, (401, "authentication_failed")),
        (PermissionDeniedError, (403, "permission_denied")),
        (NotFoundError, (404, "not_found")),
        (ConflictError, (409, "conflict")),
        (LeaseExpiredError, (409, "lease_expired")),
        (ValidationError, (422, "validation_error")),
        (ServiceError, (400, "bad_request")),
    ],
)
def test_each_service_error_has_one_status(error, expected):
    assert service_status(error("x")) == expected


def test_a_subclass_inherits_its_parents_status():
    class StaleSettingsError(ConflictError):
        pass

    assert service_status(StaleSettingsError("x")) == (409, "conflict")
