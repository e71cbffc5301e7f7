"""POST /api/v1/claims and the decisions on claims: the rules' refusals, auto-approval, review, settling."""

from __future__ import annotations

from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Claim, Job
from tests.claim_helpers import EMAIL, claim, claim_with_files, days_ago, photo, settings, shipped_order, track
from tests.conftest import bearer
from tests.stripe_helpers import configure_stripe, deliver, dispute_event


def count_claims(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Claim))


def test_a_lost_parcel_past_its_window_is_claimed_for_its_covered_value(client, shop):
    protection = shipped_order(client, shop, shipped_days_ago=10)
    response = claim(client, shop)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"].startswith("clm_") and body["object"] == "claim"
    assert (body["order_id"], body["shipment_id"], body["type"]) == ("1001", "ful_1001_1", "lost")
    assert body["protection"] == protection["id"] and body["policy"].startswith("pol_")
    assert (body["amount"], body["currency"], body["covered_amount"]) == (50000, "USD", 50000)
    assert body["status"] == "submitted" and body["decided_by"] is None
    assert body["signals"] == [] and body["reasons"][0]["code"] == "above_auto_approval"
    assert body["email"] == EMAIL and body["evidence"] == []


def test_an_unknown_order_and_a_wrong_email_answer_alike(client, shop):
    shipped_order(client, shop)
    unknown = claim(client, shop, order_id="9999")
    wrong = claim(client, shop, email="someone@example.com")
    assert unknown.status_code == wrong.status_code == 404
    assert unknown.get_json() == wrong.get_json()
    assert unknown.get_json()["error"]["code"] == "order_not_found"


def test_the_order_number_may_carry_a_hash_and_the_email_any_case(client, shop):
    shipped_order(client, shop)
    assert claim(client, shop, order_id="#1001", email="  JADE@Example.COM").status_code == 201


def test_a_lost_claim_before_its_window_names_the_date(client, shop):
    shipped_order(client, shop, shipped_days_ago=3)
    response = claim(client, shop)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "outside_claim_window"
    assert days_ago(-4).strftime("%Y-%m-%d") in error["message"]


def test_a_lost_claim_waits_for_tracking_to_be_quiet_five_days(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=10)
    track(app, "ful_1001_1", "in_transit", days_ago(2))
    assert claim(client, shop).get_json()["error"]["code"] == "outside_claim_window"


def test_a_lost_claim_after_sixty_days_is_refused(client, shop):
    shipped_order(client, shop, shipped_days_ago=61)
    response = claim(client, shop)
    assert response.get_json()["error"]["code"] == "outside_claim_window"
    assert "closed" in response.get_json()["error"]["message"]


def test_lost_on_a_delivered_parcel_suggests_stolen(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=10)
    track(app, "ful_1001_1", "delivered", days_ago(2))
    response = claim(client, shop)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "parcel_delivered"
    assert response.get_json()["error"]["suggested_type"] == "stolen"
    assert claim(client, shop, type="stolen").status_code == 201


def test_stolen_needs_delivery_within_fifteen_days(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=30)
    track(app, "ful_1001_1", "delivered", days_ago(16))
    assert claim(client, shop, type="stolen").get_json()["error"]["code"] == "outside_claim_window"


def test_stolen_right_after_the_delivered_scan_is_a_signal(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=3)
    track(app, "ful_1001_1", "delivered", days_ago(10 / 1440))
    body = claim(client, shop, type="stolen").get_json()
    assert body["status"] == "needs_review"
    assert body["signals"] == ["filed_right_after_delivery"]


def test_a_second_claim_on_the_parcel_names_the_first(app, client, shop):
    shipped_order(client, shop)
    first = claim(client, shop).get_json()
    again = claim(client, shop)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "claim_exists"
    assert again.get_json()["error"]["claim"] == again.get_json()["claim"] == first["id"]
    assert count_claims(app) == 1


def test_the_customer_limit_counts_recorded_claims_only(app, client, shop):
    for order in ("1001", "1002", "1003", "1004"):
        shipped_order(client, shop, order_id=order)
    assert claim(client, shop, order_id="1001", type="delayed").get_json()["error"]["code"] == "delay_cover_off"
    for order in ("1001", "1002", "1003"):
        assert claim(client, shop, order_id=order).status_code == 201
    refused = claim(client, shop, order_id="1004")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "claim_limit_reached"
    assert count_claims(app) == 3


def test_repeat_claimants_go_to_review(client, shop):
    shipped_order(client, shop, order_id="1001")
    shipped_order(client, shop, order_id="1002")
    settings(client, shop, auto_approve_up_to=1_000_000)
    claim(client, shop, order_id="1001")
    second = claim(client, shop, order_id="1002").get_json()
    assert second["status"] == "needs_review" and "repeat_claimant" in second["signals"]


def test_damaged_needs_a_photo(client, shop):
    shipped_order(client, shop, shipped_days_ago=5)
    refused = claim(client, shop, type="damaged")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "evidence_required"
    response = claim_with_files(client, shop, [(photo(), "broken.jpg")])
    assert response.status_code == 201, response.get_json()
    [evidence] = response.get_json()["evidence"]
    assert evidence["id"].startswith("evd_") and evidence["kind"] == "image" and len(evidence["sha256"]) == 64


def test_an_unprotected_order_cannot_be_claimed(client, shop):
    configure_stripe(client, shop)
    shipped_order(client, shop)
    response = client.patch(
        "/api/v1/settings", json={"insurer": {"scope": "protected_orders"}}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 200
    shipped_order(client, shop, order_id="2002")
    # an order paid without protection: only a payment
    from tests.stripe_helpers import payment_intent_event

    assert deliver(client, shop.shop.id, payment_intent_event({"order_id": "3003"}, pi_id="pi_3003")).status_code == 200
    ship = {
        "order_id": "3003",
        "shipment_id": "f3",
        "carrier": "UPS",
        "tracking_number": "1",
        "shipped_at": "2026-01-01T00:00:00Z",
    }
    assert client.post("/api/v1/shipments", json=ship, headers=bearer(shop.keys.secret_key)).status_code == 202
    assert claim(client, shop, order_id="3003").get_json()["error"]["code"] == "not_protected"


def test_several_parcels_need_a_shipment_id(client, shop):
    shipped_order(client, shop, parcels=2)
    response = claim(client, shop)
    assert response.status_code == 422
    assert "ful_1001_1" in response.get_json()["error"]["fields"]["shipment_id"][0]
    body = claim(client, shop, shipment_id="ful_1001_2").get_json()
    assert body["shipment_id"] == "ful_1001_2" and body["amount"] == 25000


def test_the_amount_is_the_affected_items_value(client, shop):
    items = [{"sku": "A", "quantity": 2, "unit_price": 10000}, {"sku": "B", "quantity": 1, "unit_price": 30000}]
    shipped_order(client, shop, items=items)
    body = claim(client, shop, items=[{"sku": "A", "quantity": 1}]).get_json()
    assert body["amount"] == 10000


def test_clean_small_claims_are_approved_automatically(app, client, shop):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key="sk_test_merchant_key_for_refunds")
    settings(client, shop, auto_approve_up_to=50000)
    body = claim(client, shop).get_json()
    assert (body["status"], body["decided_by"], body["resolution"]) == ("approved", "auto", "refund")
    assert body["reasons"][0]["code"] == "auto_approved" and body["refund"]["status"] == "pending"
    with app.app_context():
        [job] = db.session.scalars(select(Job).where(Job.kind == "refund_claim")).all()
        assert job.subject == body["id"]


def test_a_disputed_payment_blocks_its_claim(client, shop):
    shipped_order(client, shop)
    assert deliver(client, shop.shop.id, dispute_event("pi_1001")).status_code == 200
    body = claim(client, shop).get_json()
    assert body["status"] == "needs_review" and body["review_reason"] == "payment_disputed"
    response = client.post(
        f"/api/v1/claims/{body['id']}/approve",
        json={"resolution": "reship", "replacement_order_id": "R1"},
        headers=bearer(shop.keys.secret_key),
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "payment_disputed"


def test_a_claim_is_decided_once(client, shop):
    shipped_order(client, shop)
    claim_id = claim(client, shop).get_json()["id"]
    headers = bearer(shop.keys.secret_key)
    reship = {"resolution": "reship", "replacement_order_id": "R-1", "cost": 1200}
    first = client.post(f"/api/v1/claims/{claim_id}/approve", json=reship, headers=headers)
    assert first.status_code == 200
    body = first.get_json()
    assert (body["status"], body["replacement_order_id"], body["reship_cost"]) == ("reshipped", "R-1", 1200)
    again = client.post(f"/api/v1/claims/{claim_id}/deny", json={"reason": "no"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "claim_already_decided"


def test_deny_keeps_the_reason(client, shop):
    shipped_order(client, shop)
    claim_id = claim(client, shop).get_json()["id"]
    response = client.post(
        f"/api/v1/claims/{claim_id}/deny", json={"reason": "Signed for by you."}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["deny_reason"]) == ("denied", "Signed for by you.")


def test_approving_more_than_covered_is_refused(client, shop):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key="sk_test_merchant_key_for_refunds")
    claim_id = claim(client, shop).get_json()["id"]
    response = client.post(
        f"/api/v1/claims/{claim_id}/approve",
        json={"resolution": "refund", "amount": 50001},
        headers=bearer(shop.keys.secret_key),
    )
    assert response.status_code == 422 and "amount" in response.get_json()["error"]["fields"]
    ok = client.post(
        f"/api/v1/claims/{claim_id}/approve",
        json={"resolution": "refund", "amount": 20000},
        headers=bearer(shop.keys.secret_key),
    )
    assert ok.status_code == 202 and ok.get_json()["approved_amount"] == 20000


def test_lists_filter_and_page_and_stay_within_the_shop(client, shop, new_shop):
    for order in ("1001", "1002"):
        shipped_order(client, shop, order_id=order)
    settings(client, shop, max_claims_per_customer=0)
    first, second = (claim(client, shop, order_id=o).get_json() for o in ("1001", "1002"))
    headers = bearer(shop.keys.secret_key)
    page = client.get("/api/v1/claims?limit=1", headers=headers).get_json()
    assert [c["id"] for c in page["data"]] == [second["id"]] and page["has_more"] is True
    rest = client.get(f"/api/v1/claims?limit=1&starting_after={second['id']}", headers=headers).get_json()
    assert [c["id"] for c in rest["data"]] == [first["id"]] and rest["has_more"] is False
    assert client.get("/api/v1/claims?status=denied", headers=headers).get_json()["data"] == []
    other = new_shop("Other")
    assert client.get(f"/api/v1/claims/{first['id']}", headers=bearer(other.keys.secret_key)).status_code == 404


def test_messages_and_mark_paid(client, shop):
    shipped_order(client, shop)
    claim_id = claim(client, shop).get_json()["id"]
    headers = bearer(shop.keys.secret_key)
    note = client.post(
        f"/api/v1/claims/{claim_id}/messages", json={"body": "We are on it.", "visibility": "shopper"}, headers=headers
    )
    assert note.status_code == 201 and note.get_json()["visibility"] == "shopper"
    listed = client.get(f"/api/v1/claims/{claim_id}/messages", headers=headers).get_json()["data"]
    assert [m["body"] for m in listed] == ["We are on it."]
    paid = client.post(
        f"/api/v1/claims/{claim_id}/mark-paid", json={"method": "bank_transfer", "reference": "TX-9"}, headers=headers
    )
    assert paid.status_code == 200
    assert (paid.get_json()["status"], paid.get_json()["paid_reference"]) == ("paid", "TX-9")


def test_another_customers_claim_to_the_same_street_address_is_a_signal(client, shop):
    from tests.stripe_helpers import payment_intent_event, protected_metadata, quote_for

    configure_stripe(client, shop)
    headers = bearer(shop.keys.secret_key)
    for order, email in (("1001", "first@example.com"), ("1002", "second@example.com")):
        event = payment_intent_event(
            protected_metadata(quote_for(client, shop), order), pi_id=f"pi_{order}", receipt_email=email
        )
        assert deliver(client, shop.shop.id, event).status_code == 200
        destination = {"country": "US", "postal_code": "10001", "line1": f"  350 Fifth  Avenue{',' * int(order[-1])}"}
        parcel = {
            "order_id": order, "shipment_id": f"f{order}", "carrier": "UPS", "tracking_number": order,
            "shipped_at": "2026-01-01T00:00:00Z", "destination": destination,
        }  # fmt: skip
        assert client.post("/api/v1/shipments", json=parcel, headers=headers).status_code == 202
    settings(client, shop, lost_until_days=3650)
    first = claim(client, shop, order_id="1001", email="first@example.com").get_json()
    second = claim(client, shop, order_id="1002", email="second@example.com").get_json()
    assert first["signals"] == []
    assert second["signals"] == ["repeat_address"] and first["id"] in second["signal_details"][0]["detail"]
