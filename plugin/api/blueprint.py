"""The flask-smorest Blueprint, reading bodies with the project's strict JSON parser."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint

from plugin.schemas import ErrorSchema
from plugin.validation import JsonBodyParser

ERROR_RESPONSES = {
    400: "invalid_json",
    401: "authentication_required",
    403: "secret_key_required",
    413: "payload_too_large",
    422: "validation_error",
}


class Blueprint(SmorestBlueprint):
    """A smorest blueprint whose parse and validation errors take the contract's error shape."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def documents_errors(self, *statuses: int):  # type: ignore[no-untyped-def]
        """Document the error shape for these statuses on a view."""

        def decorator(view):  # type: ignore[no-untyped-def]
            for status in statuses:
                view = self.alt_response(
                    status, schema=ErrorSchema, description=ERROR_RESPONSES.get(status, "error")
                )(view)
            return view

        return decorator
