"""GET /api/v1/badge: the trust badge's words for product and cart pages (publishable or secret key, browsers)."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response, request
from marshmallow import Schema, fields

from plugin.api.blueprint import Blueprint, documentation_only
from plugin.api.cors import check_origin
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.badge_texts import badge_items, badge_texts
from plugin.i18n import LOCALES, language_code
from plugin.rate_limits import per_key_and_address

# A badge shows on every product page: the browser keeps the answer for five minutes (a settings change shows
# within that). Private: the answer depends on the key in the Authorization header, which a shared cache ignores.
CACHE_CONTROL = "private, max-age=300"
LANGUAGES = tuple(LOCALES)  # "en" first: the default
_encoder = msgspec.json.Encoder()
bp = Blueprint("badge", __name__, url_prefix="/api/v1/badge", description="The trust badge for product pages.")


class BadgeQuerySchema(Schema):
    locale = fields.String(
        metadata={
            "description": "A language tag (`zh-CN`, `en`); one we do not speak, or none, falls back to the "
            "request's Accept-Language, else English."
        }
    )


class BadgeItemSchema(Schema):
    coverage = fields.String(metadata={"enum": ["shipping", "returns"]})
    text = fields.String()


class BadgeSchema(Schema):
    language = fields.String(metadata={"enum": list(LANGUAGES)})
    label = fields.String(metadata={"description": "The list's accessible name."})
    items = fields.List(
        fields.Nested(BadgeItemSchema),
        metadata={"description": "One per enabled coverage (shipping first); empty: show no badge."},
    )
    terms_url = fields.String()
    terms_label = fields.String()


def _language(requested: str | None) -> str:
    """The `locale` asked for if we speak it, else the best of Accept-Language, else English."""
    asked = language_code(requested[:64] if requested else None)
    if asked is not None:
        return asked
    if not request.environ.get("HTTP_ACCEPT_LANGUAGE"):
        return "en"
    return request.accept_languages.best_match(LANGUAGES, default="en")


def badge_body(settings: Any, language: str, default_terms_url: str) -> dict[str, Any]:
    """The badge's answer: its words in `language` for the shop's enabled coverages."""
    texts = badge_texts(language)
    return {
        "language": texts.language,
        "label": texts.label,
        "items": [{"coverage": item.coverage, "text": item.text} for item in badge_items(settings, texts)],
        "terms_url": settings["offer"]["terms_url"] or default_terms_url,
        "terms_label": texts.terms,
    }


@bp.route("", methods=["GET"])
@per_key_and_address("RATE_LIMIT_QUOTES")
@require_key(KeyKind.PUBLISHABLE, KeyKind.SECRET, cached=True)
@documentation_only(bp.arguments(BadgeQuerySchema, location="query"), bp.response(200, BadgeSchema))
@bp.documents_errors(401, 403, 422, 429)
def badge() -> Response:
    """What the shop's protection covers, in the shopper's language, for a badge near the price or the cart."""
    shop = current_snapshot()
    check_origin(shop.settings)
    body = badge_body(
        shop.settings,
        _language(request.args.get("locale")),
        f"{request.scheme}://{request.host}{request.script_root}/terms/{shop.id}",
    )
    response = Response(_encoder.encode(body), mimetype="application/json")
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Accept-Language"
    return response
