"""Consent evidence: what the shopper was shown (price, text, terms) when choosing protection, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from plugin.domain import quote_token
from plugin.domain.ids import new_id
from plugin.errors import NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import Consent, rfc3339
from plugin.services.shop_snapshots import ShopSnapshot


def record_consent(
    shop: ShopSnapshot,
    data: dict[str, Any],
    *,
    quote_secrets: Sequence[str],
    now: datetime,
    page_origin: str | None,
    user_agent: str | None,
) -> Consent:
    """Store the consent if it names a live quote of this shop at the price that quote gave."""
    try:
        claims = quote_token.verify(data["quote"], quote_secrets)
    except quote_token.InvalidQuoteTokenError as exc:
        raise ValidationFailedError(fields={"quote": ["Not a valid quote reference."]}) from exc
    if claims.shop_id != shop.id:
        raise ValidationFailedError(fields={"quote": ["Not a valid quote reference."]})
    if claims.is_expired(now):
        raise ValidationFailedError(fields={"quote": ["The quote has expired; ask for a new one."]})
    errors: dict[str, list[str]] = {}
    if data["currency"] != claims.currency:
        errors["currency"] = [f"Must be the quote's currency, {claims.currency}."]
    if data["price_shown"] != claims.customer_price:
        errors["price_shown"] = [f"Must be the quote's customer price, {claims.customer_price}."]
    if errors:
        raise ValidationFailedError(fields=errors)
    consent = Consent(
        id=new_id("cns"),
        shop_id=shop.id,
        quote_reference=data["quote"],
        price_shown_amount=data["price_shown"],
        currency=data["currency"],
        text_shown=data["text_shown"],
        terms_version=data["terms_version"],
        terms_url=data.get("terms_url"),
        locale=data.get("locale"),
        page_origin=(page_origin or None) and page_origin[:255],
        user_agent=(user_agent or None) and user_agent[:500],
        shown_at=data.get("shown_at"),
    )
    db.session.add(consent)
    db.session.commit()
    return consent


def get_consent(shop_id: str, consent_id: str) -> Consent:
    """One consent of this shop."""
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.shop_id != shop_id:
        raise NotFoundError("No such consent.")
    return consent


def consent_matches(shop_id: str, consent_id: str | None, quote_reference: str) -> bool:
    """Whether a protection's consent id names a consent of this shop for the same quote."""
    if not consent_id:
        return False
    consent = db.session.get(Consent, consent_id)
    return consent is not None and consent.shop_id == shop_id and consent.quote_reference == quote_reference


def quote_coverages(reference: str, quote_secrets: Sequence[str]) -> list[str]:
    """The coverages the consented quote bundled, from its signed reference (v1/v2 references: the parcel only;
    one that no longer verifies, e.g. after its key was retired: none known)."""
    try:
        claims = quote_token.verify(reference, quote_secrets)
    except quote_token.InvalidQuoteTokenError:
        return []
    return [
        name for name, covered in (("shipping", claims.covers_shipping), ("returns", claims.covers_returns)) if covered
    ]


def consent_body(consent: Consent, quote_secrets: Sequence[str]) -> dict[str, Any]:
    """The consent as the API shows it, with the coverages of the quote the shopper was shown."""
    return {
        "id": consent.id,
        "object": "consent",
        "quote": consent.quote_reference,
        "price_shown": consent.price_shown_amount,
        "coverages": quote_coverages(consent.quote_reference, quote_secrets),
        "currency": consent.currency,
        "text_shown": consent.text_shown,
        "terms_version": consent.terms_version,
        "terms_url": consent.terms_url,
        "locale": consent.locale,
        "page_origin": consent.page_origin,
        "shown_at": rfc3339(consent.shown_at),
        "created_at": rfc3339(consent.created_at),
    }
