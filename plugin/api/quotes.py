"""POST /api/v1/quotes: price a cart (publishable or secret key, callable from browsers)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from plugin.api.blueprint import Blueprint
from plugin.api.cors import check_origin
from plugin.auth import KeyKind, current_shop, require_key
from plugin.extensions import limiter
from plugin.models import utcnow
from plugin.schemas import QuoteRequestSchema, QuoteSchema
from plugin.services.quotes import OFFER_LANGUAGES, IssuedQuote, cart_from_request, quote_cart
from plugin.services.settings import effective_settings

bp = Blueprint("quotes", __name__, url_prefix="/api/v1/quotes", description="Price shipping protection.")


def _language(requested: str | None) -> str:
    if requested:
        primary = requested.replace("_", "-").split("-")[0].lower()
        if primary in OFFER_LANGUAGES:
            return primary
    return request.accept_languages.best_match(OFFER_LANGUAGES, default="en")


def quote_body(quote: IssuedQuote) -> dict[str, Any]:
    """The contract's quote object."""
    price = quote.price
    return {
        "id": quote.id,
        "object": "quote",
        "eligible": price.eligible,
        "reasons": [str(reason) for reason in price.reasons],
        "currency": price.currency,
        "declared_value": price.declared_value,
        "premium": price.premium,
        "customer_price": price.customer_price,
        "merchant_contribution": price.merchant_contribution,
        "excluded_items": [{"sku": item.sku, "reason": str(item.reason)} for item in price.excluded_items],
        "expires_at": quote.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if quote.expires_at else None,
        "offer": {
            "title": quote.offer.title,
            "description": quote.offer.description,
            "terms_url": quote.offer.terms_url,
            "terms_version": quote.offer.terms_version,
        },
    }


@bp.route("", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATE_LIMIT_QUOTES"], methods=["POST"])
@require_key(KeyKind.PUBLISHABLE, KeyKind.SECRET)
@bp.arguments(QuoteRequestSchema)
@bp.response(200, QuoteSchema)
@bp.documents_errors(400, 401, 413, 422)
def create_quote(cart_data: dict[str, Any]) -> dict[str, Any]:
    """Price a cart under the shop's rules; an eligible answer carries a signed `id` valid for 24 hours."""
    shop = current_shop()
    settings = effective_settings(shop)
    check_origin(settings)
    quote = quote_cart(
        shop,
        settings,
        cart_from_request(cart_data),
        signing_key=current_app.config["SECRET_KEY"],
        now=utcnow(),
        language=_language(cart_data.get("locale")),
        default_terms_url=url_for("terms.page", shop_id=shop.id, _external=True),
    )
    return quote_body(quote)
