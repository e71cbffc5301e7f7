"""Correctly signed but hostile deliveries: stored and answered 200 whatever their values, never a 5xx.

Built from the real Stripe and Shopify fixtures, signed as the senders sign (run them on PostgreSQL too:
it refuses NUL in text and values longer than a column, where SQLite says nothing).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Payment, Protection, Shipment, TrackingEvent, WebhookDelivery
from tests.api.test_platform_webhooks import ORDER, fixture, send
from tests.conftest import bearer
from tests.stripe_helpers import (
    charge_refunded_event,
    configure_stripe,
    deliver,
    dispute_event,
    payment_intent_event,
    protected_metadata,
    protections,
    quote_for,
    refund_event,
    session_event,
)

POISON = "\u0000\ud800"  # NUL and a lone surrogate: json.dumps sends them as the escapes \u0000 and \ud800
# Keys whose values steer the translation; poisoning them only makes the event one we ignore.
STEERING = {"type", "object", "payment_status", "mode", "status", "currency", "topic"}


def poisoned(value: Any) -> Any:
    """Every string of a payload (but the steering ones) with NUL and a lone surrogate appended."""
    if isinstance(value, dict):
        return {key: value[key] if key in STEERING else poisoned(value[key]) for key in value}
    if isinstance(value, list):
        return [poisoned(item) for item in value]
    if isinstance(value, str):
        return value + POISON
    return value


@pytest.fixture()
def stripe_shop(client, shop):
    configure_stripe(client, shop)
    return shop


def accepted(response) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["received"] is True and body["outcome"] != "unstorable", body
    return body


def stored_delivery_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(WebhookDelivery)).all())


def readable(text: str | None) -> bool:
    return text is None or ("\x00" not in text and text.encode("utf-8"))


# ---- Stripe ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["order_id", "sp_quote", "sp_amount", "customer_email", "sp_consent"])
@pytest.mark.parametrize("value", ["x" * 500, "7" * 500, "ord" + POISON, POISON * 200])
def test_any_metadata_value_up_to_500_characters_is_stored(client, stripe_shop, key, value):
    quote = quote_for(client, stripe_shop)
    metadata = {**protected_metadata(quote, order_id="1001", customer_email="a@example.com"), key: value}
    accepted(deliver(client, stripe_shop.shop.id, payment_intent_event(metadata)))
    [protection] = protections(client, stripe_shop)
    assert all(readable(protection[field]) for field in ("order_id", "customer_email", "consent", "quote"))
    if key not in {"customer_email", "sp_consent"}:  # evidence, not checks of the purchase
        assert protection["status"] == "needs_review"  # every other key, mangled, breaks a check


def test_an_order_id_too_long_to_store_never_becomes_another_orders_id(app, client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    shared = "9" * 255
    for n, order_id in enumerate([shared + "1" * 45, shared + "2" * 45, shared]):
        event = payment_intent_event(protected_metadata(quote, order_id=order_id), pi_id=f"pi_long_{n}")
        accepted(deliver(client, stripe_shop.shop.id, event))
    rows = {row["payment_intent"]: row for row in protections(client, stripe_shop)}
    first, second, exact = rows["pi_long_0"], rows["pi_long_1"], rows["pi_long_2"]
    assert len({first["order_id"], second["order_id"], exact["order_id"]}) == 3
    assert first["order_id"].startswith("9" * 100) and len(first["order_id"]) <= 255
    assert (first["status"], first["review_reason"]) == ("needs_review", "order_id_too_long")
    assert (exact["status"], exact["review_reason"]) == ("active", None)
    with app.app_context():
        assert len(set(db.session.scalars(select(Payment.order_id)))) == 3


def test_an_order_id_with_nul_is_kept_readable_for_review(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    accepted(deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote, "10\x0001"))))
    [protection] = protections(client, stripe_shop)
    assert protection["order_id"] != "1001" and protection["order_id"].startswith("10\ufffd01")
    assert (protection["status"], protection["review_reason"]) == ("needs_review", "order_id_unreadable")


@pytest.mark.parametrize("email", ["a" * 320 + "@example.com", "x@" + "e" * 2048 + ".com", "\x00@\ud800.com"])
def test_long_or_broken_emails_are_stored_readable(client, stripe_shop, email):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote), receipt_email=email)
    accepted(deliver(client, stripe_shop.shop.id, event))
    [protection] = protections(client, stripe_shop)
    assert len(protection["customer_email"]) <= 320 and readable(protection["customer_email"])
    assert protection["status"] == "active"  # the email is not a check of the purchase


@pytest.mark.parametrize("currency", ["usdt", "", "XXX", 840, None, "u\x00d", ["usd"]])
def test_odd_currencies_are_stored_for_review(client, stripe_shop, currency):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote), currency=currency)
    accepted(deliver(client, stripe_shop.shop.id, event))
    [protection] = protections(client, stripe_shop)
    assert (protection["status"], protection["review_reason"]) == ("needs_review", "currency_mismatch")


@pytest.mark.inline_recording
def test_ids_of_300_characters_are_stored_and_still_deduplicate(app, client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    long_pi = "pi_" + "L" * 300
    event = payment_intent_event(protected_metadata(quote), pi_id=long_pi)
    event["id"] = "evt_" + "E" * 300
    assert accepted(deliver(client, stripe_shop.shop.id, event))["outcome"] == "protection_created"
    assert accepted(deliver(client, stripe_shop.shop.id, event))["duplicate"] is True
    other = dict(event, id="evt_" + "E" * 299 + "F")  # same first 255 characters: another event
    assert accepted(deliver(client, stripe_shop.shop.id, other))["outcome"] == "protection_confirmed"
    refund = charge_refunded_event(long_pi, 51000, 51000)
    assert accepted(deliver(client, stripe_shop.shop.id, refund))["outcome"] == "refund_recorded"
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "voided" and len(protection["payment_intent"]) <= 255
    assert stored_delivery_count(app) == 3


@pytest.mark.parametrize("created", [10**12, 10**20, -1, "x", None, 253402300800, 1.5])
def test_far_off_or_broken_event_times_are_read_as_now(client, stripe_shop, created):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote))
    event["created"] = created
    accepted(deliver(client, stripe_shop.shop.id, event))
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "active"  # not "expired" because of a date in year 33658


@pytest.mark.parametrize("amount", [10**30, -5, "51000", 1e300, True, None])
def test_huge_negative_or_string_amounts_are_not_trusted(client, stripe_shop, amount):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote), amount=amount, amount_received=amount)
    accepted(deliver(client, stripe_shop.shop.id, event))
    charge = charge_refunded_event("pi_test_1", 0, 0)
    charge["data"]["object"].update(amount=amount, amount_refunded=amount)
    for hostile in (charge, refund_event("refund.created", "re_1", "pi_test_1", amount, status="x" * 300)):
        accepted(deliver(client, stripe_shop.shop.id, hostile))
    assert protections(client, stripe_shop)[0]["status"] == "active"


def _stripe_events(quote: dict[str, Any]) -> list[dict[str, Any]]:
    metadata = protected_metadata(quote, customer_email="a@example.com", sp_consent="cns_1")
    return [
        payment_intent_event(metadata),
        session_event(metadata, session_id="cs_poison", pi_id="pi_poison"),
        charge_refunded_event("pi_test_1", 51000, 100),
        refund_event("refund.created", "re_poison", "pi_test_1", 100),
        dispute_event("pi_test_1"),
    ]


@pytest.mark.parametrize("index", range(5), ids=["intent", "session", "charge", "refund", "dispute"])
def test_nul_and_lone_surrogates_in_every_string_of_a_real_event(app, client, stripe_shop, index):
    event = poisoned(_stripe_events(quote_for(client, stripe_shop))[index])
    raw = json.dumps(event).encode()
    assert b"\\u0000" in raw and b"\\ud800" in raw
    accepted(deliver(client, stripe_shop.shop.id, raw))
    assert accepted(deliver(client, stripe_shop.shop.id, raw))["duplicate"] is True
    with app.app_context():
        for row in db.session.scalars(select(Protection)):
            assert all(readable(text) for text in (row.order_id, row.customer_email, row.payment_intent))


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe{\x00", b'{"id": "evt_\xff"}', b"[" * 5000 + b"]" * 5000, b'{"id": 42, "type": "x"}', b""],
    ids=["binary", "not-utf8", "deep", "numeric-id", "empty"],
)
def test_signed_bodies_we_cannot_read_are_stored_unreadable(app, client, stripe_shop, raw):
    body = accepted(deliver(client, stripe_shop.shop.id, raw))
    assert body["outcome"] == "unreadable" and body["duplicate"] is False
    assert accepted(deliver(client, stripe_shop.shop.id, raw))["duplicate"] is True  # never retried forever
    assert stored_delivery_count(app) == 1


def test_the_signature_is_checked_over_raw_bytes_before_decoding(app, client, stripe_shop):
    raw = b'{"id": "evt_\xff"}'
    response = client.post(
        f"/webhooks/stripe/{stripe_shop.shop.id}",
        data=raw,
        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "text/plain"},
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_signature"
    assert stored_delivery_count(app) == 0


# ---- Shopify-format platform webhooks ------------------------------------------------------------------------


def _shipment(client, shop, order_id: str = ORDER) -> dict[str, Any]:
    response = client.get(
        "/api/v1/shipments", query_string={"order_id": order_id}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 200
    [shipment] = response.get_json()["data"]
    return shipment


def test_long_tracking_numbers_urls_and_ids_are_stored_readable(app, client, shop):
    body = json.loads(fixture("shopify_fulfillments_create.json"))
    body.update(
        tracking_number="1Z" + "9" * 3000,
        tracking_numbers=["1Z" + "9" * 3000],
        tracking_url="https://track.example/" + "p" * 3000,
        tracking_urls=["https://track.example/" + "p" * 3000],
        tracking_company="C" * 500,
    )
    body["line_items"][0]["sku"] = "S" * 5000
    body["line_items"][0]["name"] = "N" * 5000
    accepted(send(client, shop, "fulfillments/create", body))
    shipment = _shipment(client, shop)
    assert shipment["tracking_number"].startswith("1Z999") and len(shipment["tracking_number"]) <= 255
    assert shipment["tracking_url"].startswith("https://track.example/pp") and len(shipment["tracking_url"]) <= 2048
    assert len(shipment["carrier"]) <= 100

    long_id = "7" * 300
    body.update(id=long_id, order_id="8" * 300)
    accepted(send(client, shop, "fulfillments/create", body))
    accepted(send(client, shop, "fulfillments/create", dict(body, id=long_id[:-1] + "6")))  # another parcel
    with app.app_context():
        refs = set(db.session.scalars(select(Shipment.shipment_ref)))
    assert len(refs) == 3 and all(len(ref) <= 255 for ref in refs)


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("fulfillments/create", "shopify_fulfillments_create.json"),
        ("fulfillments/update", "shopify_fulfillments_create.json"),
        ("fulfillment_events/create", "shopify_fulfillment_events_create.json"),
        ("orders/cancelled", "shopify_orders_create.json"),
        ("refunds/create", "shopify_orders_create.json"),
    ],
)
def test_nul_and_lone_surrogates_in_every_string_of_a_real_platform_webhook(app, client, shop, topic, name):
    accepted(send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json")))
    payload = poisoned(json.loads(fixture(name)))
    if topic == "refunds/create":
        payload = {
            "order_id": payload["id"],
            "refund_line_items": [{"quantity": 1, "line_item": li} for li in payload["line_items"]],
        }
    if topic != "fulfillments/create":  # steer it at the parcel that exists, with a poisoned status
        payload.update(status="in_transit" + POISON, shipment_status="delivered" + POISON)
    raw = json.dumps(payload).encode()
    accepted(send(client, shop, topic, raw, webhook_id="poison-1"))
    assert accepted(send(client, shop, topic, raw, webhook_id="poison-1"))["duplicate"] is True
    with app.app_context():
        for event in db.session.scalars(select(TrackingEvent)):
            assert all(readable(text) for text in (event.status, event.message, event.location))


@pytest.mark.parametrize(
    "when",
    ["99999-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", 10**20],
)
def test_far_off_platform_dates_fall_back_to_now(client, shop, when):
    body = json.loads(fixture("shopify_fulfillments_create.json"))
    body["created_at"] = when
    accepted(send(client, shop, "fulfillments/create", body))
    event = json.loads(fixture("shopify_fulfillment_events_create.json"))
    event.update(happened_at=when, created_at=when)
    accepted(send(client, shop, "fulfillment_events/create", event))
    assert _shipment(client, shop)["shipped_at"]


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"[]", b"null"])
def test_signed_platform_bodies_we_cannot_read_are_stored_unreadable(app, client, shop, raw):
    assert accepted(send(client, shop, "fulfillments/create", raw, webhook_id="w-1"))["outcome"] == "unreadable"
    assert accepted(send(client, shop, "fulfillments/create", raw, webhook_id="w-1"))["duplicate"] is True
    assert stored_delivery_count(app) == 1
