"""Shopify-format webhooks, from Shopify's own sample bodies, signed as Shopify signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Shipment, TrackingEvent, WebhookDelivery
from tests.conftest import FIXTURES, bearer
from tests.stripe_helpers import protected_order

ORDER = "820982911946154508"  # the order id in Shopify's fulfillment samples
SAMPLE_SKUS = ["SKU2006-001", "LENS-PROTECT-2YR", "CASE-LEATHER-PREM", "SKU2006-020", "SKU2006-035"]


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def send(client, created, topic: str, body: bytes | dict, webhook_id: str | None = None, secret: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        f"/webhooks/platform/{created.shop.id}",
        data=raw,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(raw, secret or created.platform_webhook_secret),
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Shop-Domain": "jade.myshopify.com",
            "X-Shopify-API-Version": "2026-07",
        },
    )


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shipments(client, shop) -> list[dict]:
    return client.get(f"/api/v1/shipments?order_id={ORDER}", headers=bearer(shop.keys.secret_key)).get_json()["data"]


def test_the_fulfillment_sample_creates_a_shipment_and_a_policy(client, shop):
    protected_order(client, shop, order_id=ORDER, unit_price=50000)
    response = send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "policy_pending"
    [shipment] = shipments(client, shop)
    assert (shipment["shipment_id"], shipment["carrier"]) == ("123456", "UPS")
    # five lines from price_set.shop_money, summed exactly: 414.95, never 414.95000000000005
    assert shipment["items_value"] == 41495
    assert [item["sku"] for item in shipment["items"]] == SAMPLE_SKUS
    assert shipment["policy"]["sum_insured"] == 41495
    assert shipment["shipped_at"] == "2022-01-01T00:00:00Z"


def test_the_fixture_vector_signs_the_sample_bytes(client, shop):
    vectors = json.loads((FIXTURES / "signature_test_vectors.json").read_text())["shopify"]
    vector = next(v for v in vectors if v["file"] == "shopify_fulfillments_create.json")
    assert sign(fixture(vector["file"]), vector["client_secret"]) == vector["X-Shopify-Hmac-Sha256"]


def test_a_replayed_webhook_id_does_nothing(app, client, shop):
    body = fixture("shopify_fulfillments_create.json")
    first = send(client, shop, "fulfillments/create", body, webhook_id="wh-1")
    again = send(client, shop, "fulfillments/create", body, webhook_id="wh-1")
    assert first.status_code == again.status_code == 200
    assert again.get_json()["duplicate"] is True
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Shipment)) == 1
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda raw, secret: (raw, "not-base64"),
        lambda raw, secret: (raw + b" ", sign(raw, secret)),
        lambda raw, secret: (raw, sign(raw, "shpss_someone_elses_secret")),
        lambda raw, secret: (raw, ""),
    ],
)
def test_forged_hmacs_are_401_and_change_nothing(app, client, shop, tamper):
    raw, header = tamper(fixture("shopify_fulfillments_create.json"), shop.platform_webhook_secret)
    response = client.post(
        f"/webhooks/platform/{shop.shop.id}",
        data=raw,
        headers={
            "X-Shopify-Topic": "fulfillments/create",
            "X-Shopify-Hmac-Sha256": header,
            "X-Shopify-Webhook-Id": "x",
        },
    )
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_signature"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_another_shops_secret_cannot_post_to_this_shop(client, shop, new_shop):
    other = new_shop("Other")
    response = send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"),
                    secret=other.platform_webhook_secret)  # fmt: skip
    assert response.status_code == 401


def test_unknown_shop_and_missing_webhook_id(client, shop):
    assert send(client, shop, "x", {}).status_code == 200  # a topic we ignore
    unknown = client.post("/webhooks/platform/shop_nope", data=b"{}", headers={"X-Shopify-Hmac-Sha256": "x"})
    assert unknown.status_code == 404
    raw = b"{}"
    no_id = client.post(
        f"/webhooks/platform/{shop.shop.id}",
        data=raw,
        headers={
            "X-Shopify-Topic": "orders/cancelled",
            "X-Shopify-Hmac-Sha256": sign(raw, shop.platform_webhook_secret),
        },
    )
    assert no_id.status_code == 200  # signed: stored, known again by its bytes


def test_tracking_events_move_the_shipment_forward(app, client, shop):
    protected_order(client, shop, order_id=ORDER)
    send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    response = send(client, shop, "fulfillment_events/create", fixture("shopify_fulfillment_events_create.json"))
    assert response.get_json()["outcome"] == "tracking_recorded"
    event = json.loads(fixture("shopify_fulfillment_events_create.json"))
    event.update(id=2, status="delivered", happened_at="2022-01-03T10:00:00Z")
    send(client, shop, "fulfillment_events/create", event)
    stale = dict(event, id=3, status="in_transit", happened_at="2022-01-02T10:00:00Z")  # arrives late
    send(client, shop, "fulfillment_events/create", stale)
    [shipment] = shipments(client, shop)
    assert shipment["tracking_status"] == "delivered"
    assert shipment["delivered_at"] == shipment["last_tracking_at"] == "2022-01-03T10:00:00Z"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrackingEvent)) == 3


def test_a_cancelled_fulfillment_cancels_its_policy(client, shop):
    protected_order(client, shop, order_id=ORDER)
    send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    update = json.loads(fixture("shopify_fulfillments_create.json"))
    update["status"] = "cancelled"
    assert send(client, shop, "fulfillments/update", update).get_json()["outcome"] == "shipment_cancelled"
    [shipment] = shipments(client, shop)
    assert shipment["policy"]["status"] == "cancelled" and shipment["cancelled_at"]


def test_orders_cancelled_cancels_every_policy_of_the_order(client, shop):
    protected_order(client, shop, order_id=ORDER)
    send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    order = json.loads(fixture("shopify_orders_create.json"))
    assert send(client, shop, "orders/cancelled", order).get_json()["outcome"] == "policies_cancelled:1"


def test_a_refund_of_every_item_of_a_parcel_cancels_its_cover(client, shop):
    protected_order(client, shop, order_id=ORDER)
    send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    partial = {"order_id": int(ORDER), "refund_line_items": [{"quantity": 1, "line_item": {"sku": "SKU2006-001"}}]}
    assert send(client, shop, "refunds/create", partial).get_json()["outcome"] == "policies_cancelled:0"
    rest = {
        "order_id": int(ORDER),
        "refund_line_items": [{"quantity": 1, "line_item": {"sku": sku}} for sku in SAMPLE_SKUS],
    }
    assert send(client, shop, "refunds/create", rest).get_json()["outcome"] == "policies_cancelled:1"


@pytest.mark.parametrize("body", [b"not json", b"[]"])
def test_signed_garbage_is_stored_unreadable_and_acknowledged(client, shop, body):
    response = send(client, shop, "fulfillments/create", body, webhook_id="garbage-1")
    assert response.status_code == 200 and response.get_json()["outcome"] == "unreadable"
    assert send(client, shop, "fulfillments/create", body, webhook_id="garbage-1").get_json()["duplicate"] is True


def test_absurd_numbers_in_a_signed_payload_are_not_trusted(client, shop):
    protected_order(client, shop, order_id=ORDER)
    body = json.loads(fixture("shopify_fulfillments_create.json"))
    body["line_items"][0]["quantity"] = 10**30
    body["line_items"][1]["price_set"]["shop_money"]["amount"] = "1e400"
    body["line_items"][2]["price_set"]["shop_money"]["amount"] = "99999999999999999999.99"
    response = send(client, shop, "fulfillments/create", body)
    assert response.status_code == 200
    [shipment] = shipments(client, shop)
    assert len(shipment["items"]) == 4  # the line with an absurd quantity is dropped
    assert shipment["items_value"] is None  # some prices were not usable: the order's value applies
    assert shipment["policy"]["sum_insured"] == 50000
