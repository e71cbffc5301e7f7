"""POST /webhooks/platform/<shop_id>: Shopify-format webhooks, verified and deduplicated."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from plugin.api.blueprint import Blueprint
from plugin.domain.untrusted_text import digest_id
from plugin.errors import ApiError, NotFoundError
from plugin.iso_codes import currency_exponent
from plugin.models import utcnow
from plugin.platforms.shopify import InvalidHmacError, translate, verify_hmac
from plugin.schemas import WebhookReceiptSchema
from plugin.services.platform_events import apply_platform_fact
from plugin.services.purchases import record_delivery, record_unreadable
from plugin.services.settings import read_secrets
from plugin.services.shops import PLATFORM_WEBHOOK_SECRET, get_shop
from plugin.services.stripe_inbox import catch_up_if_queued
from plugin.validation import loads_signed, read_body

bp = Blueprint(
    "platform_webhooks",
    __name__,
    url_prefix="/webhooks/platform",
    json_bodies=False,
    description="Store platform (Shopify-format) webhooks.",
)


class InvalidHmacSignatureError(ApiError):
    status, code = 401, "invalid_signature"
    message = "X-Shopify-Hmac-Sha256 is not the HMAC of this body with the shop's platform webhook secret."


@bp.route("/<shop_id>", methods=["POST"])
@bp.response(200, WebhookReceiptSchema)
@bp.documents_errors(401, 404, 413)
def receive(shop_id: str) -> dict[str, Any]:
    """fulfillments/create|update, fulfillment_events/create, orders/cancelled, refunds/create; others: 200."""
    shop = get_shop(shop_id)
    if shop is None:
        raise NotFoundError("No such shop.")
    raw = read_body(request)
    secret = read_secrets(shop, [PLATFORM_WEBHOOK_SECRET], current_app.extensions["secret_box"]).get(
        PLATFORM_WEBHOOK_SECRET
    )
    try:
        verify_hmac(raw, request.headers.get("X-Shopify-Hmac-Sha256"), secret or "")
    except InvalidHmacError as exc:
        raise InvalidHmacSignatureError() from exc
    # A shipment needs the payment Stripe was told we have (STRIPE_RECORDING=queued: recorded first, here).
    catch_up_if_queued(shop_id)
    # Signed: stored and answered 200 whatever it holds (a repeat without a webhook id is known by its bytes).
    webhook_id = (request.headers.get("X-Shopify-Webhook-Id") or "").strip() or None
    topic = (request.headers.get("X-Shopify-Topic") or "").strip()
    payload = loads_signed(raw)
    if not isinstance(payload, dict):
        recorded = record_unreadable(shop, "platform", raw, webhook_id, topic)
        return {"received": True, "duplicate": recorded.duplicate, "outcome": recorded.outcome}
    webhook_id = webhook_id or digest_id(raw, "sha256:")
    now = utcnow()
    fact = translate(topic, payload, currency=shop.currency, exponent=currency_exponent(shop.currency), now=now)
    recorded = record_delivery(
        shop, "platform", webhook_id, topic, lambda: apply_platform_fact(shop, fact, now) if fact else None
    )
    return {"received": True, "duplicate": recorded.duplicate, "outcome": recorded.outcome}
