"""The flask-smorest Blueprint, reading bodies with the project's strict JSON parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint as SmorestBlueprint

from plugin.schemas import ErrorSchema
from plugin.validation import JsonBodyParser

ERROR_RESPONSES = {
    400: "invalid_json",
    401: "authentication_required",
    403: "secret_key_required",
    413: "payload_too_large",
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


class Blueprint(SmorestBlueprint):
    """A smorest blueprint whose parse and validation errors take the contract's error shape."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def documents_errors(self, *statuses: int):  # type: ignore[no-untyped-def]
        """Document the error shape for these statuses on a view."""
        return documentation_only(
            *(
                self.alt_response(status, schema=ErrorSchema, description=ERROR_RESPONSES.get(status, "error"))
                for status in statuses
            )
        )
