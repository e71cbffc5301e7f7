"""Every JSON answer the API tests get must match /api/openapi.json: an undocumented status or shape fails.

Validation is schemathesis' own (the OpenAPI 3.0 response schema for the status, `nullable` included), so the
document is held to what schemathesis' fuzzing run holds it to.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.specs.openapi.schemas import OpenApiSchema

_SCHEMAS: dict[int, OpenApiSchema] = {}
CHECKED_PREFIXES = ("/api/v1/", "/webhooks/")


def openapi_schema(app: Flask) -> OpenApiSchema:
    """The app's OpenAPI document, loaded once per app."""
    if id(app) not in _SCHEMAS:
        document = app.test_client().get("/api/openapi.json").get_json()
        _SCHEMAS[id(app)] = schemathesis.openapi.from_dict(document)
    return _SCHEMAS[id(app)]


class UndocumentedResponseError(AssertionError):
    """The answer is not one the OpenAPI document describes."""


def check_response(app: Flask, method: str, path: str, response: Any) -> None:
    """Fail unless the answer's status is documented for the operation and its JSON matches that schema."""
    if not path.startswith(CHECKED_PREFIXES) or method in {"HEAD", "OPTIONS"}:
        return
    operation = openapi_schema(app).find_operation_by_path(method, path)
    if operation is None:  # not an operation of the API: only JSON errors are allowed there
        if response.status_code in {404, 405}:
            body = response.get_json(silent=True)
            if not (isinstance(body, dict) and set(body) == {"error"}):
                raise UndocumentedResponseError(f"{method} {path}: {response.status_code} is not a JSON error")
            return
        raise UndocumentedResponseError(f"{method} {path} answered {response.status_code} but is not documented")
    documented = operation.definition.raw.get("responses", {})
    if str(response.status_code) not in documented and "default" not in documented:
        raise UndocumentedResponseError(
            f"{method} {path} answered {response.status_code}, documented: {sorted(documented)}"
        )
    if response.mimetype == "application/json":
        try:
            operation.validate_response(response)
        except Exception as exc:  # schemathesis raises a FailureGroup of its checks; name them all
            details = "; ".join(str(getattr(e, "message", e)) for e in getattr(exc, "exceptions", [exc]))
            raise UndocumentedResponseError(f"{method} {path} ({response.status_code}): {details}") from exc


class OpenApiCheckedClient(FlaskClient):
    """A test client that checks every answer under /api/v1 and /webhooks against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        request = response.request
        check_response(self.application, request.method, request.path, response)
        return response
