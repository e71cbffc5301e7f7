"""The return cover (运费险): returns opened through the API, their claims, the refund at receipt, flags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import AuditEntry, BlockedShopper, Claim
from plugin.worker import Worker
from tests.claim_helpers import EMAIL, shipped_order
from tests.conftest import bearer
from tests.return_helpers import enable_returns, make_returns_covered_order, open_return
from tests.stripe_double import StripeDouble, stripe_double
from tests.stripe_helpers import configure_stripe, protected_order

API_KEY = "sk_test_merchant_key_for_returns"


@pytest.fixture()
def double(app) -> Iterator[StripeDouble]:
    with stripe_double() as fake:
        app.config["STRIPE_API_BASE"] = fake.url
        yield fake
    app.config["STRIPE_API_BASE"] = "https://api.stripe.com"


def covered(app, client, shop, **returns) -> dict:
    protection = make_returns_covered_order(app, client, shop)
    enable_returns(client, shop, **returns)
    configure_stripe(client, shop, api_key=API_KEY)
    return protection


def get_return(client, shop, ident: str):
    return client.get(f"/api/v1/returns/{ident}", headers=bearer(shop.keys.secret_key))


def post(client, shop, path: str, body: dict | None = None):
    return client.post(path, json=body if body is not None else {}, headers=bearer(shop.keys.secret_key))


def test_a_covered_return_opens_a_claim_and_receipt_refunds_the_label_once_despite_a_lost_answer(
    app, client, shop, double
):
    protection = covered(app, client, shop)
    response = open_return(client, shop, items=[{"sku": "JB-1", "quantity": 1}])
    assert response.status_code == 201, response.get_json()
    ret = response.get_json()
    assert ret["id"].startswith("ret_") and ret["return_id"] == "R-1" and ret["order_id"] == "1001"
    assert (ret["status"], ret["uncovered_reason"], ret["label_cost"], ret["currency"]) == (
        "in_transit",
        None,
        800,
        "USD",
    )
    claim = ret["claim"]
    assert (claim["type"], claim["status"], claim["amount"], claim["protection"]) == (
        "return_shipping",
        "submitted",
        800,
        protection["id"],
    )
    assert claim["shipment_id"] == "ful_1001_1"  # the outbound parcel the items came in
    # The claims API shows the same claim, and lists it under its type.
    listed = client.get("/api/v1/claims?type=return_shipping", headers=bearer(shop.keys.secret_key)).get_json()
    assert [row["id"] for row in listed["data"]] == [claim["id"]]

    received = post(client, shop, f"/api/v1/returns/{ret['id']}/received")
    assert received.status_code == 200, received.get_json()
    body = received.get_json()
    assert body["status"] == "received" and body["received_at"] is not None
    assert (body["claim"]["status"], body["claim"]["decided_by"], body["claim"]["refund"]["status"]) == (
        "approved",
        "auto",
        "pending",
    )
    assert any(reason["code"] == "return_received" for reason in body["claim"]["reasons"])
    # A repeat of the receipt changes nothing.
    assert post(client, shop, "/api/v1/returns/R-1/received").get_json()["claim"]["status"] == "approved"

    double.drop_answers = 1  # Stripe's answer to the first refund request is lost
    assert Worker(app).drain().ok
    key = f"claim-refund:{claim['id']}:0"
    refund_requests = [r for r in double.requests if r.idempotency_key == key]
    assert len(refund_requests) == 2 and len(double.refunds) == 1
    [refund] = double.refunds.values()
    assert refund["amount"] == 800 and double.refunded("pi_1001") == 800
    assert refund["metadata"]["sp_return"] == ret["id"] and refund["metadata"]["sp_claim"] == claim["id"]
    paid = get_return(client, shop, "R-1").get_json()["claim"]
    assert (paid["status"], paid["paid_method"], paid["paid_reference"]) == ("paid", "stripe_refund", refund["id"])
    Worker(app).drain()
    assert len(double.refunds) == 1
    # The plugin's own refund left the protection active.
    protections = client.get("/api/v1/protections?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()
    assert protections["data"][0]["status"] == "active"


def test_the_same_return_id_answers_the_same_return_and_other_details_are_a_conflict(app, client, shop):
    covered(app, client, shop)
    first = open_return(client, shop)
    again = open_return(client, shop)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    other = open_return(client, shop, label_cost=900)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "return_id_reused"
    with app.app_context():
        assert len(db.session.scalars(select(Claim)).all()) == 1


def test_a_frequent_returner_is_paid_the_lower_ratio_and_max_payout_caps(app, client, shop):
    covered(app, client, shop, frequent_after=2, frequent_payout_ratio="0.25", payout_ratio="0.5", max_payout=300)
    amounts = []
    for index in range(3):
        response = open_return(client, shop, return_id=f"R-{index}", tracking_number=f"1ZR{index}", label_cost=999)
        assert response.status_code == 201, response.get_json()
        amounts.append(response.get_json()["claim"]["amount"])
    # 999 x 0.5 = 499.5 -> 500, capped at 300; the third return (two before it) is paid 999 x 0.25 = 249.75 -> 250.
    assert amounts == [300, 300, 250]


def test_a_return_claim_does_not_count_toward_the_claim_limit_nor_block_a_parcel_claim(app, client, shop):
    covered(app, client, shop)
    patch = {"claims": {"max_claims_per_customer": 1}}
    assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200
    assert open_return(client, shop).status_code == 201
    assert open_return(client, shop, return_id="R-2", tracking_number="1ZR2").status_code == 201
    lost = client.post(
        "/api/v1/claims",
        json={"order_id": "1001", "email": EMAIL, "type": "lost", "description": "Never came."},
        headers=bearer(shop.keys.secret_key),
    )
    assert lost.status_code in (201, 202), lost.get_json()
    # Nor may a claim be filed as return_shipping.
    filed = client.post(
        "/api/v1/claims",
        json={"order_id": "1001", "email": EMAIL, "type": "return_shipping"},
        headers=bearer(shop.keys.secret_key),
    )
    assert filed.status_code == 422 and "type" in filed.get_json()["error"]["fields"]


def test_a_flag_denies_the_claim_blocks_the_shopper_and_deleting_lifts_it(app, client, shop, double):
    covered(app, client, shop)
    ret = open_return(client, shop).get_json()
    post(client, shop, f"/api/v1/returns/{ret['id']}/received")  # the refund is only queued yet
    flagged = post(client, shop, f"/api/v1/returns/{ret['id']}/flag", {"reason": "swapped"})
    assert flagged.status_code == 200, flagged.get_json()
    body = flagged.get_json()
    assert (body["status"], body["flag_reason"], body["claim"]["status"]) == ("flagged", "swapped", "denied")
    assert "swapped" in body["claim"]["deny_reason"]
    assert body["claim"]["refund"]["status"] == "cancelled"
    Worker(app).drain()
    assert double.refunds == {}  # the queued refund was called off

    blocked = client.get("/api/v1/blocked-shoppers", headers=bearer(shop.keys.secret_key)).get_json()
    assert [(row["email"], row["reason"], row["return"]) for row in blocked["data"]] == [(EMAIL, "swapped", ret["id"])]
    second = open_return(client, shop, return_id="R-2", tracking_number="1ZR2").get_json()
    assert (second["claim"], second["uncovered_reason"]) == (None, "shopper_blocked")
    # A flagged return is not received.
    again = post(client, shop, f"/api/v1/returns/{ret['id']}/received")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "return_flagged"

    lifted = client.delete(f"/api/v1/blocked-shoppers/{EMAIL.upper()}", headers=bearer(shop.keys.secret_key))
    assert lifted.status_code == 204
    missing = client.delete(f"/api/v1/blocked-shoppers/{EMAIL}", headers=bearer(shop.keys.secret_key))
    assert missing.status_code == 404
    third = open_return(client, shop, return_id="R-3", tracking_number="1ZR3").get_json()
    assert third["claim"]["status"] == "submitted"
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert "return.flagged" in actions and "blocked_shopper.lifted" in actions
        assert db.session.scalars(select(BlockedShopper)).all() == []


def test_a_flag_after_the_refund_went_is_a_conflict(app, client, shop, double):
    covered(app, client, shop)
    ret = open_return(client, shop).get_json()
    post(client, shop, f"/api/v1/returns/{ret['id']}/received")
    Worker(app).drain()
    late = post(client, shop, f"/api/v1/returns/{ret['id']}/flag", {"reason": "empty"})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "return_already_paid"
    assert get_return(client, shop, ret["id"]).get_json()["status"] == "received"
    assert client.get("/api/v1/blocked-shoppers", headers=bearer(shop.keys.secret_key)).get_json()["data"] == []


def test_returns_not_covered_open_without_a_claim(app, client, shop):
    shipped_order(client, shop)  # protected, but without the return cover
    enable_returns(client, shop)
    plain = open_return(client, shop).get_json()
    assert (plain["claim"], plain["uncovered_reason"]) == (None, "not_covered")
    # The cover bought, but switched off in the settings.
    make_returns_covered_order(app, client, shop, order_id="1002")
    off = {"coverage": {"returns": {"enabled": False}}}
    assert client.patch("/api/v1/settings", json=off, headers=bearer(shop.keys.secret_key)).status_code == 200
    body = open_return(client, shop, order_id="1002", return_id="R-2").get_json()
    assert (body["claim"], body["uncovered_reason"]) == (None, "not_covered")
    # Receiving an uncovered return only records it.
    received = post(client, shop, "/api/v1/returns/R-2/received").get_json()
    assert (received["status"], received["claim"]) == ("received", None)


def test_unknown_and_unshipped_orders_and_hostile_input(app, client, shop):
    protected_order(client, shop, order_id="2001")  # paid, not shipped
    enable_returns(client, shop)
    unknown = open_return(client, shop, order_id="9999")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "order_not_found"
    unshipped = open_return(client, shop, order_id="2001")
    assert unshipped.status_code == 422 and unshipped.get_json()["error"]["code"] == "order_not_shipped"
    for bad in (
        {"label_cost": -1},
        {"label_cost": "800"},
        {"label_cost": 1.5},
        {"tracking_number": ""},
        {"items": [{"sku": "A", "quantity": 0}]},
        {"items": "A"},
        {"currency": "XXXX"},
        {"return_id": None},
        {"carrier": "x" * 101},
    ):
        response = open_return(client, shop, order_id="2001", **bad)
        assert response.status_code == 422, (bad, response.get_json())
    not_json = client.post(
        "/api/v1/returns", data="{", headers=bearer(shop.keys.secret_key), content_type="application/json"
    )
    assert not_json.status_code == 400
    assert get_return(client, shop, "ret_nope").status_code == 404
    assert post(client, shop, "/api/v1/returns/ret_nope/received").status_code == 404
    assert post(client, shop, "/api/v1/returns/ret_nope/flag", {"reason": "empty"}).status_code in (404, 422)
    shipped_order(client, shop, "3001")
    open_return(client, shop, order_id="3001")
    bad_flag = post(client, shop, "/api/v1/returns/R-1/flag", {"reason": "lost"})
    assert bad_flag.status_code == 422
    assert client.get("/api/v1/returns?status=lost", headers=bearer(shop.keys.secret_key)).status_code == 422
    assert client.get("/api/v1/returns", headers=bearer(shop.keys.publishable_key)).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(BlockedShopper)).all() == []


def test_lists_by_order_and_another_shops_returns_are_unknown(app, client, shop, new_shop):
    covered(app, client, shop)
    shipped_order(client, shop, "1002")
    open_return(client, shop)
    open_return(client, shop, order_id="1002", return_id="R-2", tracking_number="1ZR2")
    listed = client.get("/api/v1/returns?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()
    assert [row["return_id"] for row in listed["data"]] == ["R-1"] and listed["has_more"] is False
    page = client.get("/api/v1/returns?limit=1", headers=bearer(shop.keys.secret_key)).get_json()
    assert [row["return_id"] for row in page["data"]] == ["R-2"] and page["has_more"] is True

    other = new_shop("Other House")
    ret_id = listed["data"][0]["id"]
    headers = bearer(other.keys.secret_key)
    assert client.get(f"/api/v1/returns/{ret_id}", headers=headers).status_code == 404
    assert client.get("/api/v1/returns/R-1", headers=headers).status_code == 404
    assert client.post(f"/api/v1/returns/{ret_id}/received", json={}, headers=headers).status_code == 404
    flag = client.post(f"/api/v1/returns/{ret_id}/flag", json={"reason": "empty"}, headers=headers)
    assert flag.status_code == 404
    assert client.get("/api/v1/returns", headers=headers).get_json()["data"] == []
    theirs = client.post(
        "/api/v1/returns",
        json={"order_id": "1001", "return_id": "R-9", "carrier": "UPS", "tracking_number": "1Z", "label_cost": 5},
        headers=headers,
    )
    assert theirs.status_code == 404
    assert get_return(client, shop, "R-1").get_json()["status"] == "in_transit"
