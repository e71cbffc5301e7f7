"""POST /api/v1/quotes: price a cart (publishable or secret key, callable from browsers)."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response, current_app, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from plugin.api.blueprint import Blueprint, documentation_only
from plugin.api.cart_decoding import QuoteRequest, decode_quote_request
from plugin.api.cors import check_origin
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.i18n import LOCALES, language_code
from plugin.models import rfc3339, utcnow
from plugin.offer_texts import OfferKind, offer_kind, offer_texts
from plugin.rate_limits import per_key_and_address
from plugin.schemas import QuoteRequestSchema, QuoteSchema
from plugin.services.quotes import IssuedQuote, OfferTexts, quote_cart
from plugin.services.shop_snapshots import ShopSnapshot
from plugin.validation import read_body

_encoder = msgspec.json.Encoder()
OFFER_LANGUAGES = tuple(LOCALES)  # "en" first: the default
QUOTE_KEY_KINDS = (KeyKind.PUBLISHABLE, KeyKind.SECRET)
bp = Blueprint("quotes", __name__, url_prefix="/api/v1/quotes", description="Price shipping protection.")


def answer_language(requested: str | None, accept_language: str) -> str:
    """The quote's `locale` if we speak it, else the best of the Accept-Language header, else English."""
    asked = language_code(requested)
    if asked is not None:
        return asked
    if not any(language in accept_language for language in OFFER_LANGUAGES[1:]):
        return "en"  # nothing but English could match: skip parsing the header
    return parse_accept_header(accept_language, LanguageAccept).best_match(OFFER_LANGUAGES, default="en")


def shop_offer_kind(shop: ShopSnapshot) -> OfferKind:
    """The combination of coverages the shop offers, as kept with its snapshot."""
    return shop.offer_kind if shop.offer_kind is not None else offer_kind(shop.settings)


def encoded_quote(
    shop: ShopSnapshot, quote_request: QuoteRequest, *, signing_key: str, texts: OfferTexts, site_root: str
) -> bytes:
    """Price a decoded cart for the shop and answer the contract's quote object as JSON (`site_root`: the scheme,
    host and script root the request came to, which the default terms link is under)."""
    quote = quote_cart(
        shop,
        quote_request.cart,
        signing_key=signing_key,
        now=utcnow(),
        texts=texts,
        default_terms_url=f"{site_root}/terms/{shop.id}",
        shipping_carrier=quote_request.shipping_carrier,
    )
    return _encoder.encode(quote_body(quote))


def quote_body(quote: IssuedQuote) -> dict[str, Any]:
    """The contract's quote object."""
    price = quote.price
    texts = quote.offer.texts
    return {
        "id": quote.id,
        "object": "quote",
        "eligible": price.eligible,
        "reasons": [str(reason) for reason in price.reasons],
        "currency": price.currency,
        "declared_value": price.declared_value,
        "coverages": [
            {
                "type": str(part.type),
                "premium": part.premium,
                "customer_price": part.customer_price,
                "merchant_contribution": part.merchant_contribution,
                "rate": None if part.rate is None else str(part.rate),
                "rate_tier": part.rate_tier,
            }
            for part in price.coverages
        ],
        "premium": price.premium,
        "customer_price": price.customer_price,
        "merchant_contribution": price.merchant_contribution,
        "rate_tier": price.rate_tier,
        "excluded_items": [{"sku": item.sku, "reason": str(item.reason)} for item in price.excluded_items],
        "expires_at": rfc3339(quote.expires_at),
        "offer": {
            "title": quote.offer.title,
            "description": quote.offer.description,
            "terms_url": quote.offer.terms_url,
            "terms_version": quote.offer.terms_version,
            "language": texts.language,
            "texts": {"title": texts.title, "description": texts.description, **texts.widget},
        },
    }


@bp.route("", methods=["POST"])
@per_key_and_address("RATE_LIMIT_QUOTES")
@require_key(*QUOTE_KEY_KINDS, cached=True)
@documentation_only(
    bp.doc(
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": QuoteRequestSchema}},
            "description": "The cart. Unknown fields are ignored, so a store can pass its own cart object.",
        }
    ),
    bp.response(200, QuoteSchema),
)
@bp.documents_errors(400, 401, 403, 413, 415, 422, 429)
def create_quote() -> Response:
    """Price a cart under the shop's rules; an eligible answer carries a signed `id` valid for 24 hours."""
    shop = current_snapshot()
    check_origin(shop.settings)
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy hop, not five
    quote_request = decode_quote_request(read_body(current))
    language = answer_language(quote_request.locale, current.environ.get("HTTP_ACCEPT_LANGUAGE", ""))
    answer = encoded_quote(
        shop,
        quote_request,
        signing_key=current_app.config["SECRET_KEY"],
        texts=offer_texts(language, shop_offer_kind(shop)),
        site_root=f"{current.scheme}://{current.host}{current.script_root}",
    )
    # Returned as a ready response: the schema above documents it, and no second serialisation runs.
    return Response(answer, content_type="application/json")
