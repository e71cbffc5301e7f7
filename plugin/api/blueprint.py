"""The flask-smorest Blueprint, reading bodies with the project's strict JSON parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_smorest import Blueprint as SmorestBlueprint

from plugin.domain.untrusted_text import is_clean, scrub
from plugin.errors import NotFoundError, UnsupportedMediaTypeError, ValidationFailedError
from plugin.schemas import ErrorSchema
from plugin.validation import UNSTORABLE_TEXT, JsonBodyParser

ERROR_RESPONSES = {
    400: "invalid_json",
    401: "authentication_required",
    403: "secret_key_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def documentation_only(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply smorest decorators for what they write in the OpenAPI document, without their call wrappers.

    Each smorest decorator wraps the view in a function that only forwards the call; on the quote path, a
    dozen such hops cost more than the pricing itself. The documentation lives in `_apidoc`, which is kept.
    """

    def apply(view: Any) -> Any:
        documented = view
        for decorator in reversed(decorators):
            documented = decorator(documented)
        view._apidoc = documented._apidoc
        return view

    return apply


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Content-Type values that are JSON as sent, byte for byte: accepted without parsing (others are parsed and checked).
PLAIN_JSON = frozenset({"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"})


def is_json_media_type(mimetype: str) -> bool:
    """application/json, or any application/*+json (merge-patch+json, problem+json, …)."""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def refuse_unusable_input() -> None:
    """Before any view: path and query text the database could not hold is a 4xx, not a driver error."""
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy hop: this runs on every call
    if current.view_args and any(isinstance(v, str) and not is_clean(v) for v in current.view_args.values()):
        raise NotFoundError()  # no object's id holds NUL
    if not current.environ.get("QUERY_STRING"):
        return  # no query: nothing to parse (most API calls, every quote)
    unstorable = {
        scrub(name): [UNSTORABLE_TEXT]
        for name, values in current.args.lists()
        if not is_clean(name) or not all(is_clean(value) for value in values)
    }
    if unstorable:
        raise ValidationFailedError(fields=unstorable)


def require_json_body() -> None:
    """A body declared as anything but JSON is a 415 (a body without Content-Type is read as JSON)."""
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy hop: this runs on every call
    if current.method not in _BODY_METHODS:
        return
    if current.environ.get("CONTENT_TYPE") in PLAIN_JSON:
        return  # what clients send: no need to parse the header's parameters or look for a body
    mimetype = current.mimetype
    if mimetype and _has_body() and not is_json_media_type(mimetype):
        raise UnsupportedMediaTypeError(
            f"This endpoint takes JSON (`application/json`), not `{mimetype}`.",
            fields={"Content-Type": ["Must be application/json or application/*+json."]},
        )


class Blueprint(SmorestBlueprint):
    """A smorest blueprint whose parse and validation errors take the contract's error shape.

    `json_bodies=False` (webhook routes) reads bodies whatever their Content-Type: the signature decides.
    """

    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args: Any, json_bodies: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_unusable_input)
        if json_bodies:
            self.before_request(require_json_body)

    def documents_errors(self, *statuses: int) -> Callable[[Any], Any]:
        """Document the error shape for these statuses on a view."""
        return documentation_only(
            *(
                self.alt_response(status, schema=ErrorSchema, description=ERROR_RESPONSES.get(status, "error"))
                for status in statuses
            )
        )
