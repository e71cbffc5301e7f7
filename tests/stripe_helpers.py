"""Building and signing Stripe deliveries the way Stripe does, from the real fixtures."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from tests.conftest import FIXTURES, bearer

WEBHOOK_SECRET = "whsec_test_secret_for_this_suite_1234"
_counter = itertools.count(1)


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """`t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`, as Stripe signs."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def fixture_event(name: str) -> dict[str, Any]:
    """A whole event delivery from tests/fixtures (stripe_<type>.json)."""
    return json.loads((FIXTURES / f"stripe_{name}.json").read_text())


def object_fixture(name: str) -> dict[str, Any]:
    """An object from Stripe's OpenAPI fixtures (what sits in data.object)."""
    return json.loads((FIXTURES / "stripe-openapi-fixtures" / f"{name}.json").read_text())


def wrap(event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """An event around an object, shaped like the OpenAPI fixture's event."""
    event = object_fixture("event")
    event.update(
        id=f"evt_test_{next(_counter)}_{int(time.time() * 1000)}",
        type=event_type,
        created=int(time.time()) if created is None else created,
        data={"object": obj, "previous_attributes": None},
    )
    return event


def payment_intent_event(metadata: dict[str, str], pi_id: str = "pi_test_1", amount: int = 51000, **changes: Any):
    """The real payment_intent.succeeded delivery, with this payment's id, amount and metadata."""
    event = fixture_event("payment_intent.succeeded")
    event["id"] = f"evt_pi_{next(_counter)}"
    event["created"] = int(time.time())
    intent = event["data"]["object"]
    intent.update(id=pi_id, amount=amount, amount_received=amount, metadata=metadata, receipt_email="jade@example.com")
    intent["latest_charge"] = f"ch_of_{pi_id}"  # each PaymentIntent has its own charge
    intent.update(changes)
    return event


def session_event(
    metadata: dict[str, str],
    session_id: str = "cs_test_1",
    pi_id: str = "pi_test_1",
    amount: int = 51000,
    event_type: str = "checkout.session.completed",
    **changes: Any,
):
    """The real checkout.session.completed delivery, with this session's ids, amount and metadata."""
    event = fixture_event("checkout.session.completed")
    event["id"] = f"evt_cs_{next(_counter)}"
    event["type"] = event_type
    event["created"] = int(time.time())
    session = event["data"]["object"]
    session.update(id=session_id, payment_intent=pi_id, amount_total=amount, metadata=metadata)
    session.update(changes)
    return event


def charge_refunded_event(pi_id: str, amount: int, refunded: int):
    charge = object_fixture("charge")
    charge.update(payment_intent=pi_id, amount=amount, amount_refunded=refunded, refunded=refunded >= amount)
    return wrap("charge.refunded", charge)


def refund_event(event_type: str, refund_id: str, pi_id: str, amount: int, status: str = "succeeded"):
    refund = object_fixture("refund")
    refund.update(id=refund_id, payment_intent=pi_id, amount=amount, status=status)
    return wrap(event_type, refund)


def dispute_event(pi_id: str):
    dispute = object_fixture("dispute")
    dispute.update(payment_intent=pi_id)
    return wrap("charge.dispute.created", dispute)


def deliver(client, shop_id: str, event: dict[str, Any] | bytes, secret: str = WEBHOOK_SECRET, **sign_args: Any):
    """POST a signed delivery to the shop's Stripe endpoint."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    header = stripe_signature(body, secret, **sign_args)
    return client.post(
        f"/webhooks/stripe/{shop_id}",
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def configure_stripe(client, shop, **stripe_settings: Any) -> None:
    """Give the shop a webhook secret (and whatever else) through the settings API."""
    body = {"stripe": {"webhook_secret": WEBHOOK_SECRET, **stripe_settings}}
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def quote_for(client, shop, unit_price: int = 50000) -> dict[str, Any]:
    """A real quote from the API for a one-item cart."""
    cart = {
        "currency": "USD",
        "destination": {"country": "US"},
        "items": [{"sku": "JB-1", "category": "jewelry", "unit_price": unit_price, "quantity": 1}],
    }
    response = client.post("/api/v1/quotes", json=cart, headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 200
    return response.get_json()


def protected_metadata(quote: dict[str, Any], order_id: str = "1001", **extra: str) -> dict[str, str]:
    """Metadata a merchant's checkout puts on the payment."""
    return {"sp_quote": quote["id"], "sp_amount": str(quote["customer_price"]), "order_id": order_id, **extra}


def protections(client, shop, **query: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/protections", query_string=query, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def copy_event(event: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(event)


def protected_order(client, shop, order_id: str = "1001", unit_price: int = 50000, pi_id: str | None = None) -> dict:
    """An order paid with protection through the real webhook path; its protection."""
    configure_stripe(client, shop)
    quote = quote_for(client, shop, unit_price)
    event = payment_intent_event(
        protected_metadata(quote, order_id), pi_id=pi_id or f"pi_{order_id}", amount=unit_price + 1000
    )
    assert deliver(client, shop.shop.id, event).status_code == 200
    [protection] = protections(client, shop, order_id=order_id)
    return protection
