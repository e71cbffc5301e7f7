"""Coverages through the API: a quote prices each enabled coverage, its signed id carries them to the payment, the
protection and the consent show them, and the summary counts each coverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from plugin.domain import quote_token
from plugin.domain.ids import new_id
from plugin.domain.performance import PerformanceFigures
from plugin.domain.pricing import Cart, CartItem, Destination
from plugin.extensions import db
from plugin.models import Protection, Shop
from plugin.offer_texts import offer_texts
from plugin.services import quotes
from plugin.services.shop_snapshots import snapshot_of
from tests.conftest import TEST_SECRET_KEY, bearer
from tests.report_helpers import PERIOD, History, coverage_history
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event, protected_metadata, protections

CART = {
    "currency": "USD",
    "destination": {"country": "US", "region": "US-CA", "postal_code": "94107"},
    "items": [{"sku": "JB-1", "category": "jewelry", "unit_price": 50000, "quantity": 1}],
}
RETURNS_ON = {"coverage": {"returns": {"enabled": True, "pricing": {"rate": "0.01", "merchant_share": "0.5"}}}}


def patch_settings(client, shop, body):
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def quote(client, shop, body=None, **headers):
    response = client.post(
        "/api/v1/quotes", json=body or CART, headers={**bearer(shop.keys.publishable_key), **headers}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_shipping_only_answers_one_coverage(client, shop):
    body = quote(client, shop)
    assert body["coverages"] == [
        {
            "type": "shipping",
            "premium": 1000,
            "customer_price": 1000,
            "merchant_contribution": 0,
            "rate": "0.02",
            "rate_tier": None,
        }
    ]
    assert (body["premium"], body["customer_price"], body["rate_tier"]) == (1000, 1000, None)
    assert body["offer"]["title"] == "Shipping protection"
    claims = quote_token.verify(body["id"], [TEST_SECRET_KEY])
    assert (claims.covers_shipping, claims.covers_returns) == (True, False)


def test_both_coverages_are_priced_summed_and_signed(client, shop):
    patch_settings(client, shop, RETURNS_ON)
    body = quote(client, shop, {**CART, "shipping_method": {"carrier": "UPS Ground"}})
    assert [part["type"] for part in body["coverages"]] == ["shipping", "returns"]
    returns = body["coverages"][1]
    assert (returns["premium"], returns["customer_price"], returns["merchant_contribution"]) == (500, 250, 250)
    assert returns["rate"] == "0.01"
    assert (body["premium"], body["customer_price"], body["merchant_contribution"]) == (1500, 1250, 250)
    assert body["offer"]["title"] == "Shipping protection + free returns"
    assert "refund the return shipping label" in body["offer"]["description"]
    claims = quote_token.verify(body["id"], [TEST_SECRET_KEY])
    assert (claims.customer_price, claims.returns_customer_price, claims.returns_premium) == (1250, 250, 500)
    assert (claims.covers_shipping, claims.covers_returns, claims.shipping_carrier) == (True, True, "UPS Ground")


@pytest.mark.parametrize(
    ("patch", "en", "zh"),
    [
        ({}, "Shipping protection", "运输保障"),
        (RETURNS_ON, "Shipping protection + free returns", "运输保障 + 免费退货"),
        (
            {"coverage": {"returns": {"enabled": True, "payout_ratio": "0.8"}}},
            "Shipping protection + return shipping covered",
            "运输保障 + 退货运费险",
        ),
        ({"coverage": {"shipping": {"enabled": False}, "returns": {"enabled": True}}}, "Free returns", "免费退货"),
        (
            {"coverage": {"shipping": {"enabled": False}, "returns": {"enabled": True, "max_payout": 800}}},
            "Return shipping covered",
            "退货运费险",
        ),
    ],
)
def test_the_offer_title_says_what_is_covered(client, shop, patch, en, zh):
    if patch:
        patch_settings(client, shop, patch)
    english = quote(client, shop)
    chinese = quote(client, shop, {**CART, "locale": "zh-CN"})
    assert (english["offer"]["title"], english["offer"]["texts"]["title"]) == (en, en)
    assert (chinese["offer"]["title"], chinese["offer"]["language"]) == (zh, "zh")
    assert english["offer"]["description"] != chinese["offer"]["description"]
    # The widget's announcements name what was added (the parcel-only words are the ones it always had).
    assert english["offer"]["texts"]["added"] == (
        "Shipping protection added for {price}" if not patch else f"{en} added for {{price}}"
    )
    assert zh in chinese["offer"]["texts"]["added"] and "{price}" in chinese["offer"]["texts"]["price"]


def test_the_merchants_own_title_still_wins(client, shop):
    patch_settings(client, shop, {**RETURNS_ON, "offer": {"title": "Worry-free delivery"}})
    body = quote(client, shop)
    assert body["offer"]["title"] == "Worry-free delivery"
    assert body["offer"]["texts"]["title"] == "Shipping protection + free returns"


def test_returns_only_and_both_off(client, shop):
    patch_settings(client, shop, {"coverage": {"shipping": {"enabled": False}, "returns": {"enabled": True}}})
    body = quote(client, shop)
    assert [part["type"] for part in body["coverages"]] == ["returns"]
    assert body["customer_price"] == 500
    patch_settings(client, shop, {"coverage": {"returns": {"enabled": False}}})
    body = quote(client, shop)
    assert (body["eligible"], body["reasons"], body["id"], body["coverages"]) == (
        False,
        ["coverage_disabled"],
        None,
        [],
    )


def test_an_ineligible_cart_gets_no_coverage_at_all(client, shop):
    patch_settings(client, shop, {**RETURNS_ON, "eligibility": {"excluded_countries": ["US"]}})
    body = quote(client, shop)
    assert (body["eligible"], body["reasons"], body["coverages"], body["premium"]) == (
        False,
        ["destination_excluded"],
        [],
        0,
    )


@pytest.mark.parametrize(
    "carrier",
    ["", "x" * 101, "顺" * 34, "UPS\n", 7],
)
def test_a_bad_carrier_is_a_field_error(client, shop, carrier):
    response = client.post(
        "/api/v1/quotes",
        json={**CART, "shipping_method": {"carrier": carrier}},
        headers=bearer(shop.keys.publishable_key),
    )
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["shipping_method.carrier"]


def test_a_tier_replaces_the_rate_of_the_quote(app, client, shop):
    tiers = [{"metric": "on_time_rate", "at_least": "0.9", "rate": "0.01"}]
    patch_settings(client, shop, {"pricing": {"performance_tiers": tiers}})
    with app.test_request_context():
        snapshot = snapshot_of(db.session.get(Shop, shop.shop.id))
        figures = PerformanceFigures(100, Decimal("0.95"), None, None)
        issued = quotes.quote_cart(
            replace(snapshot, performance=figures),
            Cart("USD", Destination("US"), (CartItem("JB-1", 50000, 1, "jewelry"),)),
            signing_key=TEST_SECRET_KEY,
            now=datetime.now(UTC),
            texts=offer_texts("en"),
            default_terms_url="https://example.com/terms",
        )
    assert (issued.price.premium, issued.price.rate_tier) == (500, 0)
    assert issued.price.coverages[0].rate == Decimal("0.01")
    assert quote_token.verify(issued.id, [TEST_SECRET_KEY]).rate_tier == 0


def test_a_bundled_payment_records_each_part_and_the_consent_shows_it(app, client, shop):
    configure_stripe(client, shop)
    patch_settings(client, shop, RETURNS_ON)
    body = quote(client, shop, {**CART, "shipping_method": {"carrier": "SF Express"}})
    consent = client.post(
        "/api/v1/consents",
        json={
            "quote": body["id"],
            "price_shown": body["customer_price"],
            "currency": "USD",
            "text_shown": body["offer"]["title"],
            "terms_version": "1",
        },
        headers=bearer(shop.keys.publishable_key),
    )
    assert consent.status_code == 201, consent.get_json()
    assert consent.get_json()["coverages"] == ["shipping", "returns"]
    wrong = client.post(
        "/api/v1/consents",
        json={
            "quote": body["id"],
            "price_shown": body["coverages"][0]["customer_price"],  # the shipping part alone was not the price
            "currency": "USD",
            "text_shown": "x",
            "terms_version": "1",
        },
        headers=bearer(shop.keys.publishable_key),
    )
    assert wrong.status_code == 422 and "price_shown" in wrong.get_json()["error"]["fields"]

    metadata = protected_metadata(body, "2001", sp_consent=consent.get_json()["id"])
    assert (
        deliver(client, shop.shop.id, payment_intent_event(metadata, pi_id="pi_bundle", amount=51250)).status_code
        == 200
    )
    [protection] = protections(client, shop, order_id="2001")
    assert protection["status"] == "active", protection["review_reason"]
    assert (protection["premium"], protection["customer_price"], protection["merchant_contribution"]) == (
        1500,
        1250,
        250,
    )
    assert protection["coverages"] == [
        {"type": "shipping", "premium": 1000, "customer_price": 1000, "merchant_contribution": 0, "rate_tier": None},
        {"type": "returns", "premium": 500, "customer_price": 250, "merchant_contribution": 250, "rate_tier": None},
    ]
    assert protection["shipping_carrier"] == "SF Express"
    assert protection["consent_verified"] is True
    with app.app_context():
        row = db.session.get(Protection, protection["id"])
        assert (row.covers_shipping, row.covers_returns, row.returns_customer_price_amount) == (True, True, 250)
        assert (row.returns_premium_amount, row.returns_merchant_contribution_amount) == (500, 250)


def test_an_old_v2_quote_records_a_shipping_only_protection(client, shop):
    configure_stripe(client, shop)
    claims = quote_token.verify(quote(client, shop)["id"], [TEST_SECRET_KEY])
    old = quote_token.sign_v2(claims, TEST_SECRET_KEY)
    metadata = protected_metadata({"id": old, "customer_price": 1000}, "2002")
    assert deliver(client, shop.shop.id, payment_intent_event(metadata, pi_id="pi_v2", amount=51000)).status_code == 200
    [protection] = protections(client, shop, order_id="2002")
    assert protection["status"] == "active"
    assert [part["type"] for part in protection["coverages"]] == ["shipping"]
    assert protection["shipping_carrier"] is None


def test_the_summary_counts_each_coverage(app, client, shop):
    coverage_history(app, shop.shop.id)
    response = client.get("/api/v1/reports/summary", query_string=PERIOD, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["protected_orders"], body["premium_collected"], body["claims_paid_amount"]) == (4, 2650, 3600)
    shipping, returns = body["coverages"]["shipping"], body["coverages"]["returns"]
    assert shipping["protected_orders"] == 2  # the two payments whose protection covers the parcel
    assert (shipping["premium_collected"], shipping["merchant_contribution"]) == (2000, 0)
    assert (shipping["claims_filed"], shipping["claims_paid"], shipping["claims_paid_amount"]) == (1, 1, 3000)
    assert shipping["loss_ratio"] == "1.5000"
    assert returns["protected_orders"] == 3  # the bundle, the one bought alone and the voided one
    assert (returns["protections"], returns["premium_collected"], returns["merchant_contribution"]) == (2, 650, 250)
    assert (returns["claims_filed"], returns["claims_paid"], returns["claims_paid_amount"]) == (2, 1, 600)
    assert returns["loss_ratio"] == "0.9231"


def test_another_shops_returns_are_not_counted(app, client, shop, new_shop):
    other = new_shop("Other Jade", "USD")
    coverage_history(app, other.shop.id)
    with app.app_context():
        db.session.add(
            Protection(
                id=new_id("prot"),
                shop_id=shop.shop.id,
                payment_id=History(shop.shop.id).payment("2026-03-01 09:00", 100, protected=True).id,
                status="active",
                currency="USD",
                declared_value_amount=1,
                premium_amount=1,
                customer_price_amount=1,
                merchant_contribution_amount=0,
                quote_reference="qt_x",
                line_item_check="not_applicable",
            )
        )
        db.session.commit()
    body = client.get("/api/v1/reports/summary", query_string=PERIOD, headers=bearer(shop.keys.secret_key)).get_json()
    assert body["coverages"]["returns"]["protected_orders"] == 0
    assert body["coverages"]["returns"]["claims_filed"] == 0
