"""Domain errors raised by the service layer; the server maps each to one HTTP status."""

from __future__ import annotations

from labelwise.exceptions import LabelwiseError


class ServiceError(LabelwiseError):
    """Root of the errors a use case raises on purpose."""


class NotFoundError(ServiceError, LookupError):
    """The object does not exist, or the caller may not know that it does."""


class PermissionDeniedError(ServiceError, PermissionError):
    """The caller is known but lacks the role this action needs."""


class AuthenticationError(ServiceError):
    """Wrong password, unknown user, or a missing / revoked token."""


class ConflictError(ServiceError):
    """The request clashes with stored state (a duplicate name, an expired lease...)."""


class LeaseExpiredError(ConflictError):
    """The lease ran out and the item may already be with someone else."""


class ValidationError(ServiceError, ValueError):
    """A value the use case cannot accept (an unknown label, a bad setting)."""


class UploadTooLargeError(ValidationError):
    """An uploaded file is larger than the server's upload limit; nothing was kept."""


class ServiceBusyError(ServiceError):
    """The database is saturated right now (all connections or the writer lock taken).

    Nothing was stored; the same request may be sent again after ``retry_after`` seconds.
    """

    def __init__(
        self, message: str = "The server is busy; try again shortly.", *, retry_after: int = 2
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
