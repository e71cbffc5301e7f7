"""CORS for the browser endpoints (quotes, consents): origins allowed per shop, one preflight per checkout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request

from plugin.errors import ApiError

# The only endpoints a publishable key reaches (POST quotes and consents, GET badge). Exact paths:
# `/api/v1/consents/<id>` needs the secret key, and an endpoint that needs the secret key never tells a browser it
# may read the answer.
BROWSER_PATHS = frozenset({"/api/v1/quotes", "/api/v1/consents", "/api/v1/badge"})
# Chrome caps at 2 h and Firefox at 24 h; the larger value lets each browser keep its own maximum.
PREFLIGHT_MAX_AGE = 86_400


class OriginNotAllowedError(ApiError):
    status, code = 403, "origin_not_allowed"
    message = "This shop does not accept requests from this web origin; add it to cors.allowed_origins."


def _is_browser_path() -> bool:
    return request.path in BROWSER_PATHS


def normalized_origin(origin: str) -> str:
    """An origin as compared: scheme and host are case-insensitive (RFC 6454 §4), a trailing slash is noise."""
    return origin.strip().rstrip("/").lower()


def allowed_origins(settings: Mapping[str, Any]) -> list[str]:
    """The shop's allowed origins; empty means any."""
    return settings["cors"]["allowed_origins"]


def origin_allowed(settings: Mapping[str, Any], origin: str | None) -> bool:
    """Whether the shop takes browser requests from this web origin (no Origin header: not a browser's CORS call)."""
    allowed = allowed_origins(settings)
    return not (origin and allowed and normalized_origin(origin) not in {normalized_origin(entry) for entry in allowed})


def check_origin(settings: Mapping[str, Any]) -> None:
    """Refuse a browser request from an origin the shop has not allowed."""
    if not origin_allowed(settings, request.headers.get("Origin")):
        g.cors_refused = True
        raise OriginNotAllowedError()


def _preflight() -> Response | None:
    if request.method != "OPTIONS" or not _is_browser_path():
        return None
    # A preflight carries no key, so it cannot know the shop: it allows the request, and the real request
    # is checked against the shop's origins once its key says which shop it is.
    response = Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    response.headers["Vary"] = "Origin"
    return response


def _allow_origin(response: Response) -> Response:
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy hop: this runs on every call
    # The Origin header as `request.headers.get` finds it, without building the headers view for every answer.
    origin = current.environ.get("HTTP_ORIGIN")
    if origin and current.path in BROWSER_PATHS and current.method != "OPTIONS" and not g.get("cors_refused"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")
    return response


def init_app(app: Flask) -> None:
    """Answer preflights before anything else runs, and tag browser responses."""
    app.before_request_funcs.setdefault(None, []).insert(0, _preflight)
    app.after_request(_allow_origin)
