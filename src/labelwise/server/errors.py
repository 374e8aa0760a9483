"""Domain errors → HTTP, once: every failure answers ``{"error": {...}}`` (``ErrorBody``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match

from labelwise.exceptions import InputError
from labelwise.server.schemas.errors import ErrorBody, ErrorDetail, public_file_name
from labelwise.service.errors import (
    AuthenticationError,
    ConflictError,
    LeaseExpiredError,
    NotFoundError,
    PermissionDeniedError,
    ServiceBusyError,
    ServiceError,
    UploadTooLargeError,
    ValidationError,
)
from labelwise.service.transactions import busy_error

logger = logging.getLogger(__name__)

# Looked up along the exception's MRO, so a subclass inherits its parent's status.
SERVICE_ERRORS: Mapping[type[ServiceError], tuple[int, str]] = {
    AuthenticationError: (401, "authentication_failed"),
    PermissionDeniedError: (403, "permission_denied"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    LeaseExpiredError: (409, "lease_expired"),
    ValidationError: (422, "validation_error"),
    UploadTooLargeError: (413, "upload_too_large"),
    ServiceBusyError: (503, "service_busy"),
}
_HTTP_TYPES = {401: "authentication_failed", 403: "permission_denied", 404: "not_found"}


def error_response(
    status_code: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=status_code, headers=headers)


def service_status(exc: ServiceError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in SERVICE_ERRORS:
            return SERVICE_ERRORS[cls]
    return 400, "bad_request"


def _service_error(request: Request, exc: ServiceError) -> Response:
    if isinstance(exc, InputError):  # e.g. ImportFailedError: located bad input comes first
        return _input_error(request, exc)
    if isinstance(exc, ServiceBusyError):
        return _busy(request, exc)
    status_code, kind = service_status(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return error_response(status_code, ErrorDetail(type=kind, message=str(exc)), headers)


def _busy(request: Request, exc: ServiceBusyError) -> Response:
    """503 with ``Retry-After``: JSON for the API, a page that reloads itself for the UI."""
    headers = {"Retry-After": str(exc.retry_after)}
    if request.url.path.startswith("/ui/") and request.method == "GET":
        page = (
            '<!doctype html><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{exc.retry_after}">'
            "<title>Busy</title><p>The server is busy with other requests; this page "
            "reloads itself in a moment.</p>"
        )
        return HTMLResponse(page, status_code=503, headers=headers)
    return error_response(503, ErrorDetail(type="service_busy", message=str(exc)), headers)


def _database_error(request: Request, exc: Exception) -> Response:
    """A saturated database (pool exhausted, writer lock timed out) is a 503, not a 500."""
    busy = busy_error(exc)
    if busy is None:
        return _unexpected_error(request, exc)
    logger.warning("Busy on %s %s: %s", request.method, request.url.path, exc)
    return _busy(request, busy)


def _input_error(_request: Request, exc: InputError) -> JSONResponse:
    detail = exc.to_dict()
    # Clients know their file by its name; the server's folders are none of their business.
    detail["file"] = public_file_name(detail["file"])
    if "errors" in detail:
        detail["errors"] = [{**e, "file": public_file_name(e["file"])} for e in detail["errors"]]
    return error_response(422, ErrorDetail(type="input_error", **detail))


def _json_decode_error(exc: RequestValidationError, error: Mapping[str, Any]) -> JSONResponse:
    """A body that is not JSON: say where, as a line and a column (not as a field)."""
    position = error["loc"][-1] if isinstance(error["loc"][-1], int) else 0
    document = exc.body if isinstance(exc.body, str) else ""
    line = document.count("\n", 0, position) + 1
    column = position - document.rfind("\n", 0, position)
    reason = error.get("ctx", {}).get("error", "JSON decode error")
    message = f"the request body is not valid JSON: {reason} at line {line}, column {column}"
    return error_response(
        422,
        ErrorDetail(
            type="request_validation_error",
            message=message,
            line=line,
            errors=[{"loc": ["body"], "message": message, "type": "json_invalid"}],
        ),
    )


def _union_arm(part: object) -> bool:
    return isinstance(part, str) and (part in _SCALAR_ARMS or "[" in part or "(" in part)


_SCALAR_ARMS = frozenset({"str", "int", "float", "bool", "list", "dict"})


def _request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if errors and errors[0].get("type") == "json_invalid":
        return _json_decode_error(exc, errors[0])
    problems = [
        {"loc": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "message": "invalid request"}
    # ("body", "labels", 0) → "labels.0": the field as the client wrote it, without the
    # names pydantic gives the arms of a union ("value.function-after[refuse_nul(), str]").
    field = ".".join(str(part) for part in first["loc"][1:] if not _union_arm(part)) or None
    return error_response(
        422,
        ErrorDetail(
            type="request_validation_error",
            message=f"{field or 'request'}: {first['message']}",
            field=field,
            errors=problems,
        ),
    )


# HEAD is left out as the OpenAPI schema leaves it out (Starlette answers it for every GET).
_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names the first route's only)."""
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    )


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = ErrorDetail(type=_HTTP_TYPES.get(exc.status_code, "http_error"), message=exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, detail, headers or None)


def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, ErrorDetail(type="internal_error", message="Internal server error."))


def register_error_handlers(app: FastAPI) -> None:
    # The decorator form keeps each handler's precise exception type for mypy.
    app.exception_handler(ServiceError)(_service_error)
    app.exception_handler(InputError)(_input_error)
    app.exception_handler(RequestValidationError)(_request_validation_error)
    app.exception_handler(StarletteHTTPException)(_http_error)
    app.exception_handler(OperationalError)(_database_error)
    app.exception_handler(PoolTimeoutError)(_database_error)
    app.exception_handler(Exception)(_unexpected_error)
