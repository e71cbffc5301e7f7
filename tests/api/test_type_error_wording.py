"""Type errors say what to send: money is an integer of minor units (cents), rates are decimal strings."""

from __future__ import annotations

import json

import pytest

from plugin.api.cart_decoding import canonical_decode, decode_quote_request
from plugin.errors import ValidationFailedError
from tests.api.test_consents import consent_body
from tests.conftest import bearer
from tests.stripe_helpers import quote_for

MONEY = "Must be an integer of minor units (cents), such as 1999 for 19.99."
MONEY_RANGE = "Must be an integer of minor units (cents) from 0 to 100000000000."
RATE = 'Must be a decimal string such as "0.015", from 0 to 1.'
CART = {"currency": "USD", "destination": {"country": "US"}, "items": [{"sku": "A", "unit_price": 1, "quantity": 1}]}


def cart(**changes):
    body = json.loads(json.dumps(CART))
    body["items"][0].update(changes.pop("item", {}))
    return {**body, **changes}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (cart(item={"unit_price": "19.99"}), "items.0.unit_price", MONEY),
        (cart(item={"unit_price": 19.99}), "items.0.unit_price", MONEY),
        (cart(item={"unit_price": True}), "items.0.unit_price", MONEY),
        (cart(item={"unit_price": -1}), "items.0.unit_price", MONEY_RANGE),
        (cart(shipping_amount="15.00"), "shipping_amount", MONEY),
        (cart(shipping_amount=10**12), "shipping_amount", MONEY_RANGE),
    ],
)
def test_quote_money_errors_are_the_same_on_both_decoders(client, shop, body, field, message):
    raw = json.dumps(body).encode()
    for decode in (decode_quote_request, canonical_decode):
        with pytest.raises(ValidationFailedError) as caught:
            decode(raw)
        assert caught.value.fields[field] == [message]
    response = client.post("/api/v1/quotes", json=body, headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 422 and response.get_json()["error"]["fields"][field] == [message]


def test_shipment_unit_price_type_error(client, shop):
    body = {
        "order_id": "1001",
        "shipment_id": "ful_1",
        "carrier": "UPS",
        "tracking_number": "1Z",
        "items": [{"sku": "A", "quantity": 1, "unit_price": "10.00"}],
    }
    response = client.post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["items.0.unit_price"] == [MONEY]


def test_consent_price_type_error(client, shop):
    body = consent_body(quote_for(client, shop, 50000), price_shown="10.00")
    response = client.post("/api/v1/consents", json=body, headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["price_shown"] == [MONEY]


@pytest.mark.parametrize(
    ("patch", "field", "message"),
    [
        ({"pricing": {"minimum": "1.00"}}, "pricing.minimum", MONEY),
        ({"pricing": {"maximum": 1.5}}, "pricing.maximum", MONEY),
        ({"pricing": {"max_declared_value": "100"}}, "pricing.max_declared_value", MONEY),
        ({"pricing": {"round_up_to": "5"}}, "pricing.round_up_to", MONEY),
        ({"pricing": {"remote_surcharge": {"amount": "3"}}}, "pricing.remote_surcharge.amount", MONEY),
        ({"pricing": {"bands": [{"up_to": None, "price": "9"}]}}, "pricing.bands.0.price", MONEY),
        ({"pricing": {"rate": 0.015}}, "pricing.rate", RATE),
        ({"pricing": {"rate": "1.5%"}}, "pricing.rate", RATE),
        ({"pricing": {"merchant_share": 1}}, "pricing.merchant_share", RATE),
        ({"pricing": {"category_rates": {"jewelry": 0.02}}}, "pricing.category_rates.jewelry.value", RATE),
    ],
)
def test_settings_type_errors(client, shop, patch, field, message):
    response = client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][field] == [message]


def test_times_and_page_sizes_say_what_to_send(client, shop):
    headers = {"Authorization": f"Bearer {shop.keys.secret_key}"}
    shipment = {"order_id": "1", "shipment_id": "s1", "carrier": "UPS", "tracking_number": "1Z", "shipped_at": "soon"}
    response = client.post("/api/v1/shipments", json=shipment, headers=headers)
    assert response.status_code == 422
    assert "such as 2026-11-01T09:30:00Z" in response.get_json()["error"]["fields"]["shipped_at"][0]
    for limit in ("lots", "0", "1e309"):
        response = client.get(f"/api/v1/protections?limit={limit}", headers=headers)
        assert response.get_json()["error"]["fields"]["limit"] == ["Must be a whole number from 1 to 100."], limit
