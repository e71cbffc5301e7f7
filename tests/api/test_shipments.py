"""POST /api/v1/shipments: one shipment per store id, a pending policy when covered, never more than declared."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Policy, Shipment
from tests.conftest import bearer
from tests.stripe_helpers import protected_order


def ship(client, shop, **body):
    payload = {"order_id": "1001", "shipment_id": "ful_1", "carrier": "UPS", "tracking_number": "1Z999", **body}
    return client.post("/api/v1/shipments", json=payload, headers=bearer(shop.keys.secret_key))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_protected_orders_parcel_gets_a_pending_policy(client, shop):
    protection = protected_order(client, shop)
    response = ship(client, shop, shipped_at="2026-11-21T10:00:00Z", tracking_url="https://ups.example/1Z999")
    assert response.status_code == 202
    shipment = response.get_json()
    assert shipment["id"].startswith("shp_") and shipment["shipment_id"] == "ful_1"
    assert (shipment["carrier"], shipment["tracking_number"]) == ("UPS", "1Z999")
    assert shipment["shipped_at"] == "2026-11-21T10:00:00Z" and shipment["last_tracking_at"] == "2026-11-21T10:00:00Z"
    assert shipment["protection"] == protection["id"]
    policy = shipment["policy"]
    assert policy["id"].startswith("pol_") and policy["status"] == "pending"
    assert (policy["shipment_id"], policy["shipment"]) == ("ful_1", shipment["id"])
    assert (policy["sum_insured"], policy["currency"], policy["provider"]) == (50000, "USD", "sandbox")
    assert (policy["attempts"], policy["last_error"], policy["certificate"]) == (0, None, None)


def test_the_same_shipment_again_buys_nothing_twice(app, client, shop):
    protected_order(client, shop)
    first, again = ship(client, shop), ship(client, shop, carrier="DHL")
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["policy"]["id"] == first.get_json()["policy"]["id"]
    assert count(app, Shipment) == count(app, Policy) == 1


def test_partial_shipments_never_insure_more_than_declared(client, shop):
    protected_order(client, shop, unit_price=50000)
    first = ship(client, shop, shipment_id="p1", items=[{"sku": "A", "quantity": 1, "unit_price": 30000}])
    second = ship(client, shop, shipment_id="p2", items=[{"sku": "B", "quantity": 2, "unit_price": 15000}])
    third = ship(client, shop, shipment_id="p3")
    assert first.get_json()["policy"]["sum_insured"] == 30000
    assert second.get_json()["policy"]["sum_insured"] == 20000  # 30,000 of items, 20,000 left of 50,000
    assert third.get_json()["policy"] is None and third.get_json()["uninsured_reason"] == "declared_value_used_up"


def test_without_prices_a_parcel_takes_what_is_left(client, shop):
    protected_order(client, shop, unit_price=50000)
    ship(client, shop, shipment_id="p1", items=[{"sku": "A", "quantity": 1, "unit_price": 20000}])
    rest = ship(client, shop, shipment_id="p2", items=[{"sku": "B", "quantity": 1}])
    assert rest.get_json()["policy"]["sum_insured"] == 30000


def test_an_unprotected_order_is_not_covered(client, shop):
    response = ship(client, shop, order_id="no-protection")
    assert response.status_code == 202
    assert response.get_json()["policy"] is None
    assert response.get_json()["uninsured_reason"] == "not_protected"


def test_all_orders_scope_insures_every_parcel_at_the_merchants_cost(client, shop):
    client.patch("/api/v1/settings", json={"insurer": {"scope": "all_orders"}}, headers=bearer(shop.keys.secret_key))
    response = ship(client, shop, order_id="plain", items=[{"sku": "A", "quantity": 2, "unit_price": 1500}])
    assert response.get_json()["policy"]["sum_insured"] == 3000
    assert response.get_json()["policy"]["protection"] is None


def test_provider_rules_pick_the_insurer_by_value(client, shop):
    client.patch(
        "/api/v1/settings",
        json={"insurer": {"rules": [{"max_value": 20000, "provider": "self_insured"}]}},
        headers=bearer(shop.keys.secret_key),
    )
    protected_order(client, shop, unit_price=50000)
    small = ship(client, shop, shipment_id="s", items=[{"sku": "A", "quantity": 1, "unit_price": 10000}])
    big = ship(client, shop, shipment_id="b", items=[{"sku": "B", "quantity": 1, "unit_price": 40000}])
    assert small.get_json()["policy"]["provider"] == "self_insured"
    assert big.get_json()["policy"]["provider"] == "sandbox"


def test_numeric_order_ids_compare_as_strings(client, shop):
    protected_order(client, shop, order_id="820982911946154508")
    response = ship(client, shop, order_id=820982911946154508, shipment_id=123456)
    assert response.get_json()["order_id"] == "820982911946154508" and response.get_json()["policy"] is not None


def test_the_order_shows_its_shipments_and_policies(client, shop):
    protection = protected_order(client, shop)
    shipment = ship(client, shop).get_json()
    listed = client.get("/api/v1/shipments?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()
    assert [s["id"] for s in listed["data"]] == [shipment["id"]]
    policies = client.get("/api/v1/policies?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()
    assert [p["id"] for p in policies["data"]] == [shipment["policy"]["id"]]
    again = client.get(f"/api/v1/protections/{protection['id']}", headers=bearer(shop.keys.secret_key)).get_json()
    assert [s["id"] for s in again["shipments"]] == [shipment["id"]]
    assert [p["id"] for p in again["policies"]] == [shipment["policy"]["id"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order_id": None}, "order_id"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": -1}, "order_id"),
        ({"shipment_id": True}, "shipment_id"),
        ({"carrier": ""}, "carrier"),
        ({"tracking_number": 5}, "tracking_number"),
        ({"shipped_at": "yesterday"}, "shipped_at"),
        ({"shipped_at": "2026-11-21T10:00:00"}, "shipped_at"),  # no zone
        ({"items": [{"sku": "A", "quantity": 0}]}, "items.0.quantity"),
        ({"items": [{"sku": "A", "quantity": 1, "unit_price": -5}]}, "items.0.unit_price"),
        ({"items": "all"}, "items"),
        ({"tracking_url": "javascript:alert(1)"}, "tracking_url"),
    ],
)
def test_bad_shipments_are_422_and_change_nothing(app, client, shop, changes, field):
    response = ship(client, shop, **changes)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert count(app, Shipment) == 0


def test_shipments_need_the_secret_key(client, shop):
    response = client.post("/api/v1/shipments", json={}, headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 403


def test_another_shops_policies_are_invisible(client, shop, new_shop):
    protected_order(client, shop)
    policy = ship(client, shop).get_json()["policy"]
    other = new_shop("Other")
    assert client.get(f"/api/v1/policies/{policy['id']}", headers=bearer(other.keys.secret_key)).status_code == 404
    assert (
        client.post(f"/api/v1/policies/{policy['id']}/retry", headers=bearer(other.keys.secret_key)).status_code == 404
    )
    listed = client.get("/api/v1/policies?order_id=1001", headers=bearer(other.keys.secret_key)).get_json()
    assert listed["data"] == []


def test_a_shipment_id_of_another_order_is_a_conflict(app, client, shop):
    protected_order(client, shop)
    first = ship(client, shop)
    response = ship(client, shop, order_id="2002")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and "'1001'" in error["message"] and "ful_1" in error["message"]
    assert count(app, Shipment) == count(app, Policy) == 1
    again = ship(client, shop)  # the same shipment of the same order still answers the same shipment
    assert again.status_code == 202 and again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["policy"]["id"] == first.get_json()["policy"]["id"]


def test_a_fulfillment_id_of_another_order_is_answered_and_records_nothing(app, client, shop):
    from tests.api.test_platform_webhooks import send

    protected_order(client, shop)
    ship(client, shop)
    payload = {"id": "ful_1", "order_id": 2002, "tracking_company": "UPS", "tracking_number": "1Z"}
    response = send(client, shop, "fulfillments/create", payload)
    assert response.status_code == 200 and response.get_json()["outcome"] == "shipment_conflict"
    assert count(app, Shipment) == count(app, Policy) == 1
