"""Quoting a cart: price it under the shop's rules and sign the result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.domain import quote_token
from plugin.domain.coverages import BundlePrice, CoverageType, price_bundle
from plugin.domain.pricing import Cart
from plugin.domain.settings import coverage_plan
from plugin.errors import ValidationFailedError
from plugin.services.shop_snapshots import ShopSnapshot


@dataclass(frozen=True)
class OfferTexts:
    """The built-in words of an offer in one language (from the gettext catalogues; see plugin.offer_texts)."""

    language: str  # "en" or "zh"
    title: str
    description: str
    # The widget's own words: "terms" (the link's label), "price", "added", "removed", "changed"; "{price}" in them
    # stands for the formatted price.
    widget: Mapping[str, str]


@dataclass(frozen=True)
class Offer:
    """What the shopper is shown next to the price."""

    title: str
    description: str
    terms_url: str
    terms_version: str
    texts: OfferTexts


@dataclass(frozen=True)
class IssuedQuote:
    """A priced cart, with its signed reference when it can be bought."""

    id: str | None
    price: BundlePrice
    expires_at: datetime | None
    offer: Offer


def offer_for(settings: Mapping[str, Any], texts: OfferTexts, default_terms_url: str) -> Offer:
    """The merchant's offer texts, else the built-in ones in the shopper's language."""
    offer = settings["offer"]
    return Offer(
        title=offer["title"] or texts.title,
        description=offer["description"] or texts.description,
        terms_url=offer["terms_url"] or default_terms_url,
        terms_version=offer["terms_version"],
        texts=texts,
    )


def quote_cart(
    shop: ShopSnapshot,
    cart: Cart,
    *,
    signing_key: str,
    now: datetime,
    texts: OfferTexts,
    default_terms_url: str,
    shipping_carrier: str | None = None,
) -> IssuedQuote:
    """Price the cart for each of the shop's coverages; an eligible quote gets a reference valid for 24 hours,
    carrying the coverages' parts and the carrier named, so the purchase can be recorded from it alone."""
    if cart.currency != shop.currency:
        raise ValidationFailedError(
            f"Quotes are in the shop's currency, {shop.currency}.",
            fields={"currency": [f"Must be the shop's currency, {shop.currency}."]},
        )
    plan = shop.plan if shop.plan is not None else coverage_plan(dict(shop.settings))
    price = price_bundle(cart, plan, shop.performance)
    offer = offer_for(shop.settings, texts, default_terms_url)
    if not price.eligible:
        return IssuedQuote(id=None, price=price, expires_at=None, offer=offer)
    expires_at = (now + quote_token.QUOTE_VALIDITY).replace(microsecond=0)
    shipping = price.part(CoverageType.SHIPPING)
    returns = price.part(CoverageType.RETURNS)
    claims = quote_token.QuoteClaims(
        shop_id=shop.id,
        currency=price.currency,
        declared_value=price.declared_value,
        premium=price.premium,
        customer_price=price.customer_price,
        merchant_contribution=price.merchant_contribution,
        expires_at=expires_at,
        nonce=quote_token.new_nonce(),
        destination=cart.destination,  # carried to the protection and on to the insurer, with no database row
        covers_shipping=shipping is not None,
        covers_returns=returns is not None,
        returns_premium=returns.premium if returns else 0,
        returns_customer_price=returns.customer_price if returns else 0,
        returns_merchant_contribution=returns.merchant_contribution if returns else 0,
        rate_tier=shipping.rate_tier if shipping else None,
        returns_rate_tier=returns.rate_tier if returns else None,
        shipping_carrier=shipping_carrier,
    )
    return IssuedQuote(id=quote_token.sign(claims, signing_key), price=price, expires_at=expires_at, offer=offer)
