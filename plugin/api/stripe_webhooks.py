"""POST /webhooks/stripe/<shop_id>: verified, deduplicated Stripe events become payments and protections."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request

from plugin.api.blueprint import Blueprint
from plugin.config import quote_signing_keys
from plugin.errors import ApiError, NotFoundError
from plugin.models import utcnow
from plugin.payments.stripe import InvalidSignatureError, verify_signature
from plugin.schemas import WebhookReceiptSchema
from plugin.services.purchases import PurchaseContext, record_unreadable
from plugin.services.shops import get_shop
from plugin.services.stripe_account import stripe_account
from plugin.services.stripe_events import record_stripe_event
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


def purchase_context(line_items_checkable: bool) -> PurchaseContext:
    """The quote-signing keys (current and fallbacks), now, and whether a line-item job can ask Stripe."""
    return PurchaseContext(
        quote_secrets=quote_signing_keys(current_app.config), now=utcnow(), line_items_checkable=line_items_checkable
    )


@bp.route("/<shop_id>", methods=["POST"])
@bp.response(200, WebhookReceiptSchema)
@bp.documents_errors(400, 404, 413)
def receive(shop_id: str) -> dict[str, Any]:
    """Stripe's deliveries for one shop; every accepted delivery, first or repeated, answers 200."""
    shop = get_shop(shop_id)
    if shop is None:
        raise NotFoundError("No such shop.")
    raw = read_body(request)
    account = stripe_account(shop, current_app.extensions["secret_box"])
    secrets = account.webhook_secrets
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
        # Stripe's API is never called from here: a Checkout line check is a job, queued with the protection.
        recorded = record_stripe_event(shop, event, purchase_context(account.api_key is not None))
    return {"received": True, "duplicate": recorded.duplicate, "outcome": recorded.outcome}
