"""POST /api/v1/consents (publishable key, from the widget) and GET /api/v1/consents/<id> (secret key)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request

from plugin.api.blueprint import Blueprint
from plugin.api.cors import check_origin
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.config import quote_signing_keys
from plugin.models import utcnow
from plugin.rate_limits import per_key_and_address
from plugin.schemas import ConsentRequestSchema, ConsentSchema
from plugin.services.consents import consent_body, get_consent, record_consent

bp = Blueprint("consents", __name__, url_prefix="/api/v1/consents", description="Shoppers' consent evidence.")


@bp.route("", methods=["POST"])
@per_key_and_address("RATE_LIMIT_QUOTES")
@require_key(KeyKind.PUBLISHABLE, KeyKind.SECRET, cached=True)
@bp.arguments(ConsentRequestSchema)
@bp.response(201, ConsentSchema)
@bp.documents_errors(400, 401, 403, 413, 415, 422, 429)
def create(data: dict[str, Any]) -> Response:
    """Record what the shopper saw when choosing protection; pass the id on as `sp_consent` metadata."""
    shop = current_snapshot()
    check_origin(shop.settings)
    consent = record_consent(
        shop,
        data,
        quote_secrets=quote_signing_keys(current_app.config),
        now=utcnow(),
        page_origin=request.headers.get("Origin"),
        user_agent=request.headers.get("User-Agent"),
    )
    response = jsonify(consent_body(consent, quote_signing_keys(current_app.config)))
    response.status_code = 201
    return response


@bp.route("/<consent_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, ConsentSchema)
@bp.documents_errors(401, 403, 404)
def show(consent_id: str) -> dict[str, Any]:
    """One consent, as evidence."""
    return consent_body(get_consent(current_snapshot().id, consent_id), quote_signing_keys(current_app.config))
