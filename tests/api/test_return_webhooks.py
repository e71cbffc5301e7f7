"""Returns from the store platform: Shopify's returns topics open a return once its tracking is known."""

from __future__ import annotations

import json

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Return, WebhookDelivery
from tests.api.test_platform_webhooks import fixture, send
from tests.conftest import bearer
from tests.return_helpers import enable_returns, make_returns_covered_order

RETURN_REF = "945000954"  # the return id of the fixtures


def outcomes(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(WebhookDelivery.topic, WebhookDelivery.outcome)
            .where(WebhookDelivery.source == "platform")
            .order_by(WebhookDelivery.id)
        )
        return [(topic, outcome) for topic, outcome in rows]


def returns(client, shop) -> list[dict]:
    return client.get("/api/v1/returns?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()["data"]


def test_approve_then_the_reverse_delivery_opens_the_return_and_its_claim_and_close_receives_it(app, client, shop):
    make_returns_covered_order(app, client, shop)
    enable_returns(client, shop)
    assert send(client, shop, "returns/approve", fixture("shopify_returns_approve.json")).status_code == 200
    assert returns(client, shop) == []  # no tracking yet: only the order is noted
    attached = send(
        client,
        shop,
        "reverse_deliveries/attach_deliverable",
        fixture("shopify_reverse_deliveries_attach_deliverable.json"),
    )
    assert attached.status_code == 200 and attached.get_json()["outcome"] == "return_opened"
    [ret] = returns(client, shop)
    assert (ret["return_id"], ret["source"], ret["carrier"], ret["tracking_number"]) == (
        RETURN_REF,
        "platform",
        "USPS",
        "9400111899223197428490",
    )
    assert ret["claim"]["type"] == "return_shipping" and ret["claim"]["status"] == "submitted"
    assert ret["claim"]["amount"] == 0  # Shopify's payload carries no label cost
    # The same deliverable again opens nothing more.
    again = send(
        client,
        shop,
        "reverse_deliveries/attach_deliverable",
        fixture("shopify_reverse_deliveries_attach_deliverable.json"),
    )
    assert again.get_json()["outcome"] == "return_known"
    closed = send(client, shop, "returns/close", {"id": int(RETURN_REF), "status": "closed"})
    assert closed.get_json()["outcome"] == "return_received"
    [ret] = returns(client, shop)
    assert ret["status"] == "received" and ret["claim"]["status"] == "paid"  # nothing was due
    assert [outcome for _, outcome in outcomes(app)] == [
        "ignored_no_tracking",
        "return_opened",
        "return_known",
        "return_received",
    ]


def test_a_returns_payload_with_tracking_and_a_label_cost_opens_a_paid_cover(app, client, shop):
    make_returns_covered_order(app, client, shop)
    enable_returns(client, shop)
    body = json.loads(fixture("shopify_returns_approve.json"))
    deliverable = json.loads(fixture("shopify_reverse_deliveries_attach_deliverable.json"))["shipping_deliverable"]
    deliverable["label"]["price"] = {"amount": "7.45", "currency_code": "USD"}
    body["reverse_deliveries"] = [{"id": 1025, "shipping_deliverable": deliverable}]
    response = send(client, shop, "returns/approve", body)
    assert response.get_json()["outcome"] == "return_opened"
    [ret] = returns(client, shop)
    assert (ret["label_cost"], ret["claim"]["amount"]) == (745, 745)


def test_without_tracking_or_a_known_order_nothing_opens_and_refunds_never_do(app, client, shop):
    make_returns_covered_order(app, client, shop)
    enable_returns(client, shop)
    lone = send(
        client,
        shop,
        "reverse_deliveries/attach_deliverable",
        {"id": 1, "return": {"id": 77}, "shipping_deliverable": {"tracking": {"tracking_number": "1Z"}}},
    )
    assert lone.status_code == 200 and lone.get_json()["outcome"] == "return_order_unknown"
    for body in ({"id": 5}, {"return": "x"}, [], {"id": 6, "order": {"id": 9999}, "reverse_deliveries": "x"}):
        assert send(client, shop, "returns/approve", body).status_code == 200
    refund = json.loads(fixture("shopify-python-api-fixtures/refund.json"))["refund"]
    refund["order_id"] = 1001
    assert send(client, shop, "refunds/create", refund).status_code == 200
    assert send(client, shop, "returns/close", {"id": 123}).get_json()["outcome"] == "unknown_return"
    with app.app_context():
        assert db.session.scalars(select(Return)).all() == []
