"""One error tree (a code and an HTTP status each) and the one JSON error shape."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Paths whose errors are JSON for machines; everything else (admin pages, the claim portal) gets HTML.
JSON_PATH_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz")
JSON_PATHS = frozenset({"/api", "/webhooks"})

FieldErrors = Mapping[str, list[str]]
NAMED_OBJECTS = ("claim",)  # ids an error may name at the top level of its body


class ApiError(Exception):
    """An error a client can act on, shown as `{"error": {"code", "message", "fields"}}`."""

    status = 400
    code = "bad_request"
    message = "The request could not be understood."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: FieldErrors | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
        # More members of the error object for errors that name something (409 claim_exists names the claim).
        self.extra: dict[str, Any] = {}
        if code:
            self.code = code


class InvalidJsonError(ApiError):
    status, code, message = 400, "invalid_json", "The request body is not valid JSON."


class AuthenticationError(ApiError):
    status, code = 401, "authentication_required"
    message = "Send a valid API key as `Authorization: Bearer <key>`."


class PermissionDeniedError(ApiError):
    status, code = 403, "secret_key_required"
    message = "This endpoint needs the shop's secret key; a publishable key can only quote and consent."


class NotFoundError(ApiError):
    status, code, message = 404, "not_found", "No such object."


class MethodNotAllowedError(ApiError):
    status, code, message = 405, "method_not_allowed", "This path does not accept that method."


class ConflictError(ApiError):
    status, code, message = 409, "conflict", "The request conflicts with the object's current state."


class PayloadTooLargeError(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is larger than 1 MiB."


class UnsupportedMediaTypeError(ApiError):
    status, code = 415, "unsupported_media_type"
    message = "Send the body as JSON, with `Content-Type: application/json`."


class ValidationFailedError(ApiError):
    status, code, message = 422, "validation_error", "Some fields are invalid; see `fields`."


class ServiceUnavailableError(ApiError):
    status, code = 503, "service_unavailable"
    message = "The service cannot reach its database just now; nothing was changed. Retry in a moment."


class RateLimitedError(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down and retry shortly."


_HTTP_ERRORS: dict[int, type[ApiError]] = {
    400: ApiError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationFailedError,
    429: RateLimitedError,
}


def error_body(code: str, message: str, fields: FieldErrors | None = None) -> dict[str, Any]:
    """The JSON error shape of the contract."""
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def error_response(error: ApiError) -> Response:
    """A JSON response for an ApiError; its extra members go in the error object, and the object an error names
    also beside it (`{"error": {…, "claim": "clm_…"}, "claim": "clm_…"}`)."""
    body = error_body(error.code, error.message, error.fields)
    if error.extra:
        body["error"].update(error.extra)
        body.update({key: value for key, value in error.extra.items() if key in NAMED_OBJECTS})
    response = jsonify(body)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _wants_json() -> bool:
    return request.path.startswith(JSON_PATH_PREFIXES) or request.path.rstrip("/") in JSON_PATHS


def from_http_exception(exc: HTTPException) -> ApiError:
    """The ApiError that stands for a werkzeug HTTP exception (404, 405, 413, 429, …)."""
    status = exc.code or 500
    error_class = _HTTP_ERRORS.get(status)
    if error_class is None:
        code = "internal_error" if status >= 500 else "http_error"
        error = ApiError(exc.description or "The request failed.", code=code)
        error.status = status
        return error
    if error_class is ApiError:
        return ApiError(exc.description or None)
    return error_class()


def handle_http_exception(exc: HTTPException) -> Any:
    """JSON errors on machine paths; the usual HTML page elsewhere."""
    if not _wants_json():
        return exc
    error = from_http_exception(exc)
    response = error_response(error)
    if exc.code == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def database_unreachable(exc: BaseException) -> bool:
    """Whether a database error says the server cannot be reached (not that our statement was wrong)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def handle_database_error(exc: Exception) -> Any:
    """The database is unreachable (restarting, failing over, locked too long): a 503 the client retries.

    The transaction was rolled back, so nothing changed; a webhook sender retries it as it should, and a
    browser or API client sees an honest "try again" instead of an internal error. Any other database error
    is a bug, left to Flask's 500."""
    if not database_unreachable(exc):
        raise exc
    from plugin.extensions import db

    db.session.rollback()
    log.warning("database unavailable", extra={"path": request.path, "error": type(exc).__name__})
    error = ServiceUnavailableError(headers={"Retry-After": "1"})
    if not _wants_json():
        return Response(error.message, status=503, headers=error.headers, mimetype="text/plain")
    return error_response(error)


def register_error_handlers(app: Flask) -> None:
    """Shape every client error once, here."""
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_database_error)
