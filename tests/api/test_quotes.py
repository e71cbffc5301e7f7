"""POST /api/v1/quotes through the test client."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from plugin.domain import quote_token
from tests.conftest import TEST_SECRET_KEY, bearer
from tests.i18n_helpers import zh

CONTRACT_EXAMPLE = {
    "currency": "USD",
    "destination": {"country": "US", "region": "US-CA", "postal_code": "94107"},
    "items": [{"sku": "JB-1", "name": "Jade bangle", "category": "jewelry", "unit_price": 50000, "quantity": 1}],
    "shipping_amount": 1500,
}


def patch_settings(client, shop, body):
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_contract_example(client, shop):
    response = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 200
    body = response.get_json()
    assert body["eligible"] is True and body["reasons"] == []
    assert body["currency"] == "USD"
    assert (
        body["declared_value"],
        body["premium"],
        body["customer_price"],
        body["merchant_contribution"],
    ) == (
        50000,
        1000,
        1000,
        0,
    )
    assert body["excluded_items"] == []
    assert set(body["offer"]) >= {"title", "description", "terms_url"}
    assert body["offer"]["terms_url"].endswith(f"/terms/{shop.shop.id}")
    assert len(body["id"]) <= 500
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=24)


def test_quote_id_is_signed_and_names_the_shop_and_amounts(client, shop):
    body = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.secret_key)).get_json()
    claims = quote_token.verify(body["id"], [TEST_SECRET_KEY])
    assert claims.shop_id == shop.shop.id
    assert (claims.currency, claims.declared_value, claims.premium, claims.customer_price) == (
        "USD",
        50000,
        1000,
        1000,
    )
    assert not claims.is_expired(datetime.now(UTC))
    assert claims.is_expired(datetime.now(UTC) + timedelta(hours=24, seconds=1))
    with pytest.raises(quote_token.InvalidQuoteTokenError):
        quote_token.verify(body["id"], ["some-other-server-key"])


def test_tampered_quote_id_does_not_verify(client, shop):
    body = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.secret_key)).get_json()
    payload, signature = body["id"][3:].split(".")
    claims = quote_token.verify(body["id"], [TEST_SECRET_KEY])
    # The merchant's contribution raised by the shopper (so the customer price read back is lower), signed by no one.
    raw = quote_token._v3_payload(replace(claims, merchant_contribution=999, customer_price=1))
    forged = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert forged != payload
    with pytest.raises(quote_token.InvalidQuoteTokenError):
        quote_token.verify(f"qt_{forged}.{signature}", [TEST_SECRET_KEY])


def test_full_pricing_settings_through_the_api(client, shop):
    patch_settings(
        client,
        shop,
        {
            "pricing": {
                "rate": "0.02",
                "category_rates": {"electronics": "0.03"},
                "minimum": 98,
                "maximum": 5000,
                "round_up_to": 50,
                "merchant_share": "0.7",
                "remote_surcharge": {"regions": ["CN-XJ"], "amount": 500},
            }
        },
    )
    cart = {
        "currency": "USD",
        "destination": {"country": "CN", "region": "CN-XJ"},
        "items": [
            {"sku": "JB-1", "category": "jewelry", "unit_price": 12345, "quantity": 2},
            {"sku": "PH-1", "category": "electronics", "unit_price": 19999, "quantity": 1},
            {"sku": "EBOOK", "category": "virtual", "unit_price": 999, "quantity": 3},
        ],
    }
    body = client.post("/api/v1/quotes", json=cart, headers=bearer(shop.keys.publishable_key)).get_json()
    # 24690 x 0.02 = 493.8, 19999 x 0.03 = 599.97: 1093.77 -> 1100 (multiple of 50), + 500 surcharge
    assert body["declared_value"] == 44689
    assert body["premium"] == 1600
    assert body["merchant_contribution"] == 1120 and body["customer_price"] == 480
    assert body["excluded_items"] == [{"sku": "EBOOK", "reason": "category_excluded"}]


def test_bands_mode(client, shop):
    patch_settings(
        client,
        shop,
        {
            "pricing": {
                "mode": "bands",
                "bands": [{"up_to": 7995, "price": 145}, {"up_to": None, "price": 295}],
            }
        },
    )
    cart = dict(CONTRACT_EXAMPLE, items=[{"sku": "X", "unit_price": 7995, "quantity": 1}])
    assert (
        client.post("/api/v1/quotes", json=cart, headers=bearer(shop.keys.publishable_key)).get_json()["premium"] == 145
    )


@pytest.mark.parametrize(
    ("settings", "cart_changes", "reasons"),
    [
        (
            {"eligibility": {"excluded_countries": ["HK"]}},
            {"destination": {"country": "HK"}},
            ["destination_excluded"],
        ),
        (
            {},
            {"items": [{"sku": "V", "category": "virtual", "unit_price": 100, "quantity": 1}]},
            ["no_eligible_items"],
        ),
        ({}, {"items": []}, ["no_eligible_items"]),
        ({"pricing": {"max_declared_value": 49999}}, {}, ["value_above_limit"]),
        ({"eligibility": {"excluded_skus": ["JB-1"]}}, {}, ["no_eligible_items"]),
    ],
)
def test_ineligible_carts(client, shop, settings, cart_changes, reasons):
    if settings:
        patch_settings(client, shop, settings)
    response = client.post(
        "/api/v1/quotes", json={**CONTRACT_EXAMPLE, **cart_changes}, headers=bearer(shop.keys.publishable_key)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["eligible"] is False
    assert body["reasons"] == reasons
    assert (body["premium"], body["customer_price"], body["id"]) == (0, 0, None)


@pytest.mark.parametrize(("currency", "price", "premium"), [("JPY", 150000, 3000), ("KWD", 12345, 247)])
def test_zero_and_three_decimal_currencies(client, new_shop, currency, price, premium):
    created = new_shop(currency=currency)
    cart = {
        "currency": currency,
        "destination": {"country": "JP"},
        "items": [{"sku": "A", "unit_price": price, "quantity": 1}],
    }
    body = client.post("/api/v1/quotes", json=cart, headers=bearer(created.keys.publishable_key)).get_json()
    assert body["currency"] == currency and body["premium"] == premium


def test_currency_other_than_the_shops_is_a_validation_error(client, shop):
    response = client.post(
        "/api/v1/quotes",
        json={**CONTRACT_EXAMPLE, "currency": "EUR"},
        headers=bearer(shop.keys.publishable_key),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"currency": ["Must be the shop's currency, USD."]}


def test_offer_texts_follow_the_locale_and_the_merchant(client, shop):
    headers = bearer(shop.keys.publishable_key)
    chinese = client.post("/api/v1/quotes", json={**CONTRACT_EXAMPLE, "locale": "zh-CN"}, headers=headers)
    assert chinese.get_json()["offer"]["title"] == "运输保障"
    by_header = client.post(
        "/api/v1/quotes", json=CONTRACT_EXAMPLE, headers={**headers, "Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert by_header.get_json()["offer"]["title"] == "运输保障"
    patch_settings(client, shop, {"offer": {"title": "Protect my jade", "terms_url": "https://jade.example/terms"}})
    own = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers).get_json()["offer"]
    assert own["title"] == "Protect my jade" and own["terms_url"] == "https://jade.example/terms"


def test_the_offer_carries_the_widgets_words_from_the_catalogue(client, shop):
    headers = bearer(shop.keys.publishable_key)
    english = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=headers).get_json()["offer"]
    assert english["language"] == "en"
    assert english["texts"] == {
        "title": "Shipping protection",
        "description": "Get a refund or a replacement if your parcel is lost, stolen or damaged in transit.",
        "terms": "Terms",
        "price": "Shipping protection: {price}",
        "added": "Shipping protection added for {price}",
        "removed": "Shipping protection removed",
        "changed": "The shipping protection price changed to {price}; select it again to add it.",
    }
    chinese = client.post("/api/v1/quotes", json={**CONTRACT_EXAMPLE, "locale": "zh-Hans-CN"}, headers=headers)
    offer = chinese.get_json()["offer"]
    assert offer["language"] == "zh" and offer["title"] == offer["texts"]["title"] == zh("Shipping protection")
    assert set(offer["texts"]) == set(english["texts"])
    for key, text in english["texts"].items():
        message = text.replace("{price}", "%(price)s")
        assert offer["texts"][key] == (zh(message, price="{price}") if "{price}" in text else zh(message))
    assert offer["texts"]["changed"].count("{price}") == 1
    # A locale we do not speak falls back to the browser's language, then to English.
    french = client.post(
        "/api/v1/quotes", json={**CONTRACT_EXAMPLE, "locale": "fr-FR"}, headers={**headers, "Accept-Language": "zh"}
    )
    assert french.get_json()["offer"]["language"] == "zh"
    # The merchant's own title is the offer's title; the built-in one stays in texts for other languages.
    patch_settings(client, shop, {"offer": {"title": "Protect my jade"}})
    own = client.post("/api/v1/quotes", json={**CONTRACT_EXAMPLE, "locale": "zh"}, headers=headers).get_json()
    assert own["offer"]["title"] == "Protect my jade" and own["offer"]["texts"]["title"] == zh("Shipping protection")


def test_the_openapi_document_describes_the_offers_texts(client):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    offer = schemas["Offer"]["properties"]
    assert {"title", "description", "terms_url", "terms_version", "language", "texts"} <= set(offer)
    assert set(schemas["OfferTexts"]["properties"]) == {
        "title", "description", "terms", "price", "added", "removed", "changed",
    }  # fmt: skip


def test_terms_page_shows_the_shops_rules(client, shop):
    page = client.get(f"/terms/{shop.shop.id}")
    assert page.status_code == 200
    assert b"Jade House" in page.data and b"15 days" in page.data
    assert client.get("/terms/shop_nope").status_code == 404


def test_huge_cart_values_stay_exact(client, shop):
    items = [{"sku": f"S{i}", "unit_price": 10**11, "quantity": 10_000} for i in range(500)]
    response = client.post(
        "/api/v1/quotes", json={**CONTRACT_EXAMPLE, "items": items}, headers=bearer(shop.keys.publishable_key)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["declared_value"] == 500 * 10**15
    assert body["premium"] == 10**16
