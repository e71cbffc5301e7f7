"""POST /webhooks/stripe/<shop_id>: verified, deduplicated Stripe events become payments and protections."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, request

from plugin.api.blueprint import Blueprint
from plugin.config import quote_signing_keys
from plugin.errors import ApiError, NotFoundError
from plugin.models import Shop, utcnow
from plugin.payments.stripe import InvalidSignatureError, translate, verify_signature
from plugin.payments.stripe_api import StripeApi, StripeApiError
from plugin.schemas import WebhookReceiptSchema
from plugin.services.purchases import (
    PurchaseContext,
    Recorded,
    apply_fact,
    confirm_line_items,
    record_delivery,
    record_unreadable,
)
from plugin.services.settings import read_secrets
from plugin.services.shops import get_shop
from plugin.validation import loads_signed, read_body

log = logging.getLogger(__name__)
bp = Blueprint(
    "stripe_webhooks",
    __name__,
    url_prefix="/webhooks/stripe",
    json_bodies=False,
    description="Stripe webhook endpoint.",
)


class InvalidWebhookSignatureError(ApiError):
    status, code = 400, "invalid_signature"
    message = "The Stripe-Signature header does not match this shop's webhook secret, or is older than 5 minutes."


class WebhookNotConfiguredError(ApiError):
    status, code = 400, "webhook_secret_not_configured"
    message = "Set stripe.webhook_secret in this shop's settings before pointing Stripe at this endpoint."


_SECRET_NAMES = ("stripe.webhook_secret", "stripe.previous_webhook_secret", "stripe.api_key")


def stripe_secrets(shop: Shop) -> tuple[list[str], StripeApi | None]:
    """The shop's active endpoint secrets (current first) and a client with its own API key, if any."""
    secrets = read_secrets(shop, _SECRET_NAMES, current_app.extensions["secret_box"])
    webhook = [secrets[name] for name in _SECRET_NAMES[:2] if name in secrets]
    api_key = secrets.get("stripe.api_key")
    return webhook, StripeApi(api_key, current_app.config["STRIPE_API_BASE"]) if api_key else None


def stripe_api_for(shop: Shop) -> StripeApi | None:
    """A Stripe client with the merchant's own key, if the shop has one."""
    return stripe_secrets(shop)[1]


def purchase_context(line_items_checkable: bool) -> PurchaseContext:
    """The quote-signing keys (current and fallbacks), now, and whether Stripe can be asked."""
    return PurchaseContext(
        quote_secrets=quote_signing_keys(current_app.config), now=utcnow(), line_items_checkable=line_items_checkable
    )


def apply_stripe_event(shop: Shop, event: Mapping[str, Any], api: StripeApi | None) -> Recorded:
    """Record one Stripe event (once), then confirm a Checkout protection line outside the transaction."""
    fact = translate(event)
    ctx = purchase_context(api is not None)
    recorded = record_delivery(
        shop,
        "stripe",
        str(event["id"]),
        str(event.get("type") or ""),
        lambda: apply_fact(shop, fact, ctx) if fact is not None else None,
    )
    if api is not None and recorded.protection_id and not recorded.duplicate:
        try:
            confirm_line_items(recorded.protection_id, api.checkout_line_items)
        except StripeApiError as exc:
            # Stays "pending": `flask stripe reconcile` asks again. Stripe gets its 200 either way.
            log.warning("line items not confirmed", extra={"protection": recorded.protection_id, "error": str(exc)})
    return recorded


@bp.route("/<shop_id>", methods=["POST"])
@bp.response(200, WebhookReceiptSchema)
@bp.documents_errors(400, 404, 413)
def receive(shop_id: str) -> dict[str, Any]:
    """Stripe's deliveries for one shop; every accepted delivery, first or repeated, answers 200."""
    shop = get_shop(shop_id)
    if shop is None:
        raise NotFoundError("No such shop.")
    raw = read_body(request)
    secrets, api = stripe_secrets(shop)
    if not secrets:
        raise WebhookNotConfiguredError()
    try:
        verify_signature(raw, request.headers.get("Stripe-Signature"), secrets)
    except InvalidSignatureError as exc:
        raise InvalidWebhookSignatureError() from exc
    # Signed by Stripe: from here on every delivery is stored and answered 200, even one we cannot read,
    # since anything else makes Stripe retry it for days.
    event = loads_signed(raw)
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        recorded = record_unreadable(shop, "stripe", raw, None, "")
    else:
        recorded = apply_stripe_event(shop, event, api)
    return {"received": True, "duplicate": recorded.duplicate, "outcome": recorded.outcome}
