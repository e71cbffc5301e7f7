"""The demo store (DEMO=1): a cart with the widget, a Pay button that delivers a signed Stripe event to the
webhook route, and an order page whose Ship button sends the parcel, showing protection and policy live."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from plugin.api.presenters import order_shipment_bodies, policy_body, protection_body, shipment_body
from plugin.config import quote_signing_keys
from plugin.domain import quote_token
from plugin.extensions import db
from plugin.models import ApiKey, Protection, Shop, utcnow
from plugin.services.policies import order_policies
from plugin.services.protections import OrderRelations, order_relations
from plugin.services.settings import SettingsContext, read_secrets, update_settings
from plugin.services.shipments import ShipmentRequest, order_shipments, record_shipment
from plugin.services.stripe_inbox import catch_up_if_queued

bp = Blueprint("demo", __name__, url_prefix="/demo")
WEBHOOK_SECRET = "stripe.webhook_secret"  # noqa: S105 - a settings name


@bp.before_request
def demo_only() -> None:
    """The demo exists only in demo mode."""
    if not current_app.config["DEMO"]:
        abort(404)


def demo_shop() -> Shop:
    """The first shop, which the demo sells for, its waiting Stripe deliveries recorded."""
    shop = db.session.scalars(select(Shop).order_by(Shop.created_at).limit(1)).first()
    if shop is None:
        abort(404, "Create a shop first: flask --app plugin demo does it for you.")
    catch_up_if_queued(shop.id)  # the order page shows the payment just made (STRIPE_RECORDING=queued)
    return shop


def demo_webhook_secret(shop: Shop) -> str:
    """The shop's Stripe webhook secret; the demo makes one up if the shop has none."""
    box = current_app.extensions["secret_box"]
    secret = read_secrets(shop, [WEBHOOK_SECRET], box).get(WEBHOOK_SECRET)
    if secret is None:
        secret = f"whsec_demo{secrets.token_hex(16)}"
        update_settings(shop, {"stripe": {"webhook_secret": secret}}, SettingsContext(box=box))
    return secret


def publishable_key(shop: Shop) -> str:
    """The shop's current publishable key (publishable keys are public and stored whole)."""
    keys = db.session.scalars(
        select(ApiKey.display).where(
            ApiKey.shop_id == shop.id, ApiKey.kind == "publishable", ApiKey.expires_at.is_(None)
        )
    ).all()
    return keys[-1] if keys else ""


@bp.get("")
def store() -> ResponseReturnValue:
    """The demo checkout."""
    shop = demo_shop()
    return render_template("demo/store.html", shop=shop, publishable_key=publishable_key(shop))


def _payment_event(shop: Shop, order_id: str, amount: int, metadata: dict[str, str], email: str) -> dict[str, Any]:
    created = int(time.time())
    intent_id = f"pi_demo_{secrets.token_hex(8)}"
    return {
        "id": f"evt_demo_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2026-08-26.dahlia",
        "created": created,
        "livemode": False,
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": shop.currency.lower(),
                "status": "succeeded",
                "receipt_email": email or None,
                "latest_charge": f"ch_demo_{secrets.token_hex(8)}",
                "metadata": metadata,
                "created": created,
            }
        },
    }


@bp.post("/pay")
def pay() -> ResponseReturnValue:
    """Charge the cart (a signed test payment event delivered to our own Stripe webhook route)."""
    shop = demo_shop()
    data = request.get_json(silent=True) or {}
    subtotal = data.get("subtotal")
    if not isinstance(subtotal, int) or isinstance(subtotal, bool) or not 0 <= subtotal <= 10**11:
        return jsonify(error={"code": "validation_error", "message": "Bad cart total.", "fields": {}}), 422
    order_id = f"D{int(time.time() * 1000) % 10**10}"
    email = str(data.get("email") or "")[:320]
    metadata = {"order_id": order_id, "customer_email": email}
    amount = subtotal
    if data.get("selected") and isinstance(data.get("quote"), str):
        try:
            claims = quote_token.verify(data["quote"], quote_signing_keys(current_app.config))
        except quote_token.InvalidQuoteTokenError:
            return jsonify(error={"code": "validation_error", "message": "Bad quote.", "fields": {}}), 422
        metadata.update(sp_quote=data["quote"], sp_amount=str(claims.customer_price))
        if isinstance(data.get("consent"), str):
            metadata["sp_consent"] = data["consent"][:255]
        amount += claims.customer_price
    body = json.dumps(_payment_event(shop, order_id, amount, metadata, email)).encode()
    stamp = int(time.time())
    signature = hmac.new(demo_webhook_secret(shop).encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    delivered = current_app.test_client().post(
        url_for("stripe_webhooks.receive", shop_id=shop.id),
        data=body,
        headers={"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"},
    )
    if delivered.status_code != 200:
        return jsonify(
            error={"code": "payment_failed", "message": "The webhook refused the payment.", "fields": {}}
        ), 502
    return jsonify(order_id=order_id, url=url_for("demo.order", order_id=order_id))


@bp.get("/orders/<order_id>")
def order(order_id: str) -> ResponseReturnValue:
    """The order page: protection, shipments and policies, updating as the worker binds them."""
    return render_template("demo/order.html", shop=demo_shop(), order_id=order_id)


def all_shipped(shop: Shop, order_id: str) -> bool:
    """Whether the order has left: the demo ships the whole order in one parcel (a shipment without items)."""
    return any(shipment.cancelled_at is None for shipment in order_shipments(shop.id, order_id))


@bp.post("/orders/<order_id>/ship")
def ship(order_id: str) -> ResponseReturnValue:
    """Send the order's parcel: the whole order, once."""
    shop = demo_shop()
    if all_shipped(shop, order_id):
        return jsonify(
            error={"code": "already_shipped", "message": "Everything in this order has shipped.", "fields": {}}
        ), 409
    request_ = ShipmentRequest(
        shipment_ref=f"demo-{order_id}-{secrets.token_hex(3)}",
        order_id=order_id,
        carrier="UPS",
        tracking_number=f"1Z{secrets.token_hex(6).upper()}",
    )
    recorded = record_shipment(shop, request_, utcnow())
    return jsonify(shipment_body(recorded.shipment, recorded.policy)), 202


# What the order page shows of a protection. The state is readable by anyone who knows the order id (the demo has
# no shopper sign-in), so it carries nothing personal: no email, no payment reference.
PAGE_PROTECTION_FIELDS = (
    "id",
    "order_id",
    "status",
    "disputed",
    "currency",
    "customer_price",
    "consent",
    "consent_verified",
)


def page_protection(protection: Protection, relations: OrderRelations) -> dict[str, Any]:
    """The protection's fields the order page needs, and no others (never the shopper's email)."""
    body = protection_body(protection, relations)
    return {name: body[name] for name in PAGE_PROTECTION_FIELDS if name in body}


@bp.get("/orders/<order_id>/state")
def state(order_id: str) -> ResponseReturnValue:
    """The order as JSON, for the page to poll."""
    shop = demo_shop()
    protection = db.session.scalars(
        select(Protection).where(Protection.shop_id == shop.id, Protection.order_id == order_id)
    ).first()
    policies = order_policies(shop.id, order_id)
    return jsonify(
        protection=page_protection(protection, order_relations(shop.id, [protection])) if protection else None,
        shipments=order_shipment_bodies(order_shipments(shop.id, order_id), policies),
        policies=[policy_body(p) for p in policies],
        all_shipped=all_shipped(shop, order_id),
    )
