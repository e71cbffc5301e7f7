"""POST /webhooks/stripe/<shop_id>: verified, deduplicated Stripe events become payments and protections."""

from __future__ import annotations

import logging
from typing import cast

from flask import Response, current_app, request

from plugin.api.blueprint import Blueprint
from plugin.config import quote_signing_keys
from plugin.errors import ApiError, NotFoundError
from plugin.logs import current_request_id
from plugin.models import utcnow
from plugin.payments.stripe import InvalidSignatureError, verify_signature
from plugin.schemas import WebhookReceiptSchema
from plugin.services import stripe_inbox
from plugin.services.purchases import PurchaseContext, record_unreadable
from plugin.services.stripe_account import WebhookReceiver, load_receiver
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


def _verify(raw: bytes, header: str | None, receiver: WebhookReceiver) -> None:
    if not receiver.webhook_secrets:
        raise WebhookNotConfiguredError()
    try:
        verify_signature(raw, header, receiver.webhook_secrets)
    except InvalidSignatureError as exc:
        raise InvalidWebhookSignatureError() from exc


@bp.route("/<shop_id>", methods=["POST"])
@bp.response(200, WebhookReceiptSchema)
@bp.documents_errors(400, 404, 413)
def receive(shop_id: str) -> Response:
    """Stripe's deliveries for one shop; every accepted delivery, first or repeated, answers 200."""
    box, cache = current_app.extensions["secret_box"], current_app.extensions["stripe_receivers"]
    kept = cache.get(shop_id)
    receiver = kept or load_receiver(shop_id, box)
    if receiver is None:
        raise NotFoundError("No such shop.")
    raw = read_body(request)
    header = request.headers.get("Stripe-Signature")
    try:
        _verify(raw, header, receiver)
    except InvalidWebhookSignatureError:
        if kept is None:
            raise
        # Kept secrets refused it: the shop may have rolled its secret since; its stored secrets decide.
        receiver = load_receiver(shop_id, box)
        if receiver is None:
            raise NotFoundError("No such shop.") from None
        _verify(raw, header, receiver)
    if receiver is not kept:
        # Kept from when it was read, not from its last use: a secret removed elsewhere stops verifying here
        # within KEY_CACHE_SECONDS even while deliveries keep coming.
        cache.keep(receiver)
    # Signed by Stripe: from here on every delivery is stored and answered 200, even one we cannot read,
    # since anything else makes Stripe retry it for days.
    event = loads_signed(raw)
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        recorded = record_unreadable(receiver, "stripe", raw, None, "")
    elif stripe_inbox.queued():
        # Stored as signed, answered now; the worker (or the shop's next read) records it moments later.
        new = stripe_inbox.accept(receiver.id, event["id"], raw, utcnow(), current_request_id())
        return _receipt(not new, stripe_inbox.QUEUED_OUTCOME if new else "duplicate")
    else:
        # Stripe's API is never called from here: a Checkout line check is a job, queued with the protection.
        recorded = record_stripe_event(receiver, event, purchase_context(receiver.has_api_key))
    return _receipt(recorded.duplicate, recorded.outcome)


def _receipt(duplicate: bool, outcome: str) -> Response:
    """The answer, as WebhookReceiptSchema and Flask's JSON make it, serialized once per (duplicate, outcome) in
    a process: the outcomes are a few fixed words, and this endpoint answers at Stripe's rate."""
    bodies: dict[tuple[bool, str], bytes] = current_app.extensions.setdefault("stripe_receipts", {})
    body = bodies.get((duplicate, outcome))
    if body is None:
        receipt = WebhookReceiptSchema().dump({"received": True, "duplicate": duplicate, "outcome": outcome})
        body = bodies[(duplicate, outcome)] = cast(Response, current_app.json.response(receipt)).get_data()
    return current_app.response_class(body, mimetype="application/json")
