"""The destination travels from the quote (inside its signed reference) to the protection, the shipment and the
insurer; a shipment or a Shopify fulfillment may name its own."""

from __future__ import annotations

import base64
import hmac
import json

import pytest
import responses
from sqlalchemy import func, select

from plugin.domain import quote_token
from plugin.extensions import db
from plugin.models import Protection, Shipment
from plugin.worker import Worker
from tests.api.test_platform_webhooks import fixture, send
from tests.conftest import TEST_SECRET_KEY, bearer
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event, protected_metadata, protections

CN_GD = {"country": "CN", "region": "CN-GD", "postal_code": "518000"}


def quote(client, shop, destination: dict, unit_price: int = 50000):
    cart = {"currency": "USD", "destination": destination,
            "items": [{"sku": "JB-1", "category": "jewelry", "unit_price": unit_price, "quantity": 1}]}  # fmt: skip
    return client.post("/api/v1/quotes", json=cart, headers=bearer(shop.keys.publishable_key))


def pay(client, shop, reference: str, customer_price: int, order_id: str = "1001") -> dict:
    configure_stripe(client, shop)
    metadata = protected_metadata({"id": reference, "customer_price": customer_price}, order_id)
    event = payment_intent_event(metadata, pi_id=f"pi_{order_id}", amount=51000)
    assert deliver(client, shop.shop.id, event).status_code == 200
    [protection] = protections(client, shop, order_id=order_id)
    return protection


def ship(client, shop, **body):
    payload = {"order_id": "1001", "shipment_id": "ful_1", "carrier": "UPS", "tracking_number": "1Z", **body}
    return client.post("/api/v1/shipments", json=payload, headers=bearer(shop.keys.secret_key))


def protected_to(client, shop, destination: dict) -> dict:
    quoted = quote(client, shop, destination).get_json()
    return pay(client, shop, quoted["id"], quoted["customer_price"])


def test_a_shipment_without_destination_goes_where_the_quote_said(app, client, shop):
    protection = protected_to(client, shop, CN_GD)
    with app.app_context():
        stored = db.session.get(Protection, protection["id"])
        assert (stored.destination_country, stored.destination_region, stored.destination_postal_code) == (
            "CN",
            "CN-GD",
            "518000",
        )
    response = ship(client, shop)
    assert response.status_code == 202
    assert response.get_json()["destination"] == CN_GD
    listed = client.get("/api/v1/shipments?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()
    assert listed["data"][0]["destination"] == CN_GD


def test_the_stores_destination_wins(client, shop):
    protected_to(client, shop, CN_GD)
    shipped = ship(client, shop, destination={"country": "GB", "region": "GB-LND", "postal_code": "SW1A 1AA"})
    assert shipped.status_code == 202
    assert shipped.get_json()["destination"] == {"country": "GB", "region": "GB-LND", "postal_code": "SW1A 1AA"}


def test_a_shipment_of_an_order_nobody_located_has_no_destination(client, shop):
    assert ship(client, shop, order_id="plain").get_json()["destination"] is None


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        ({"country": "UK"}, "destination.country"),
        ({"country": "us"}, "destination.country"),
        ({"region": "US-CA"}, "destination.country"),
        ({"country": "GB", "region": "US-CA"}, "destination.region"),
        ({"country": "US", "region": "CA"}, "destination.region"),
        ({"country": "US", "postal_code": "9" * 33}, "destination.postal_code"),
        ({"country": "US", "postal_code": "94107\u0000"}, "destination.postal_code"),
        ("US", "destination"),
    ],
)
def test_a_bad_destination_is_422_and_records_nothing(app, client, shop, destination, field):
    response = ship(client, shop, destination=destination)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Shipment)) == 0


def test_a_quote_with_a_control_character_in_its_postal_code_is_422(client, shop):
    response = quote(client, shop, {"country": "US", "postal_code": "94107\n"})
    assert response.status_code == 422
    assert "destination.postal_code" in response.get_json()["error"]["fields"]


def test_the_longest_destination_still_gives_a_reference_that_fits_in_stripe_metadata(app, client, shop):
    client.patch("/api/v1/settings", json={"pricing": {"max_declared_value": None}},
                 headers=bearer(shop.keys.secret_key))  # fmt: skip
    longest = {"country": "ZA", "region": "ZA-KZN", "postal_code": "\U0001f600" * 32}
    response = quote(client, shop, longest, unit_price=10**11)
    assert response.status_code == 200, response.get_json()
    reference = response.get_json()["id"]
    assert len(reference) <= 500
    claims = quote_token.verify(reference, [TEST_SECRET_KEY])
    assert claims.destination is not None and claims.destination.postal_code == "\U0001f600" * 32


def _v1_reference(shop_id: str, customer_price: int) -> str:
    """A reference signed in the format used before destinations were carried."""
    expires = int(__import__("time").time()) + 3600
    payload = [1, shop_id, "USD", 50000, customer_price, customer_price, 0, expires, "0123456789ab"]
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    digest = hmac.digest(quote_token._signing_key(TEST_SECRET_KEY), body.encode(), "sha256")
    return f"qt_{body}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_a_purchase_with_an_older_reference_is_still_trusted(client, shop):
    protection = pay(client, shop, _v1_reference(shop.shop.id, 1000), 1000)
    assert (protection["status"], protection["declared_value"]) == ("active", 50000)
    shipped = ship(client, shop).get_json()
    assert shipped["policy"]["sum_insured"] == 50000 and shipped["destination"] is None


ORDER = "820982911946154508"


def test_a_fulfillment_goes_to_its_destination(client, shop):
    protected_to(client, shop, CN_GD)  # order 1001; the sample's own order is unprotected
    response = send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    assert response.status_code == 200
    [shipment] = client.get(f"/api/v1/shipments?order_id={ORDER}", headers=bearer(shop.keys.secret_key)).get_json()[
        "data"
    ]
    assert shipment["destination"] == {"country": "US", "region": "US-KY", "postal_code": "40003"}


def _fulfillment(**changes) -> dict:
    payload = json.loads(fixture("shopify_fulfillments_create.json"))
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # no destination on the fulfillment: the order's shipping address
        ({"destination": None, "shipping_address": {"country_code": "GB", "province_code": "LND", "zip": "SW1A 1AA"}},
         {"country": "GB", "region": "GB-LND", "postal_code": "SW1A 1AA"}),
        ({"destination": None, "order": {"shipping_address": {"country_code": "CN", "province_code": "GD", "zip": "518000"}}},
         {"country": "CN", "region": "CN-GD", "postal_code": "518000"}),
        # what is not valid is dropped, never a failed delivery
        ({"destination": {"country_code": "US", "province_code": "ZZ", "zip": "9\u00004"}},
         {"country": "US", "region": None, "postal_code": None}),
        # nothing usable: the protection's quote's destination
        ({"destination": {"country_code": "Narnia"}}, CN_GD),
    ],
)  # fmt: skip
def test_a_fulfillment_without_a_usable_destination_falls_back(client, shop, changes, expected):
    protected_to(client, shop, CN_GD)
    response = send(client, shop, "fulfillments/create", _fulfillment(order_id=1001, **changes))
    assert response.status_code == 200 and response.get_json()["outcome"] == "policy_pending"
    [shipment] = client.get("/api/v1/shipments?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()["data"]
    assert shipment["destination"] == expected


def test_the_insurer_is_told_the_destination_the_quote_carried(app, client, shop):
    app.config["RESOLVE_INSURER_HOSTS"] = False
    settings = {"insurer": {"provider": "loadsure", "config": {"base_url": "https://loadsure.test", "api_key": "ls_1"}}}
    assert client.patch("/api/v1/settings", json=settings, headers=bearer(shop.keys.secret_key)).status_code == 200
    protected_to(client, shop, CN_GD)
    assert ship(client, shop).status_code == 202
    with responses.RequestsMock() as http:
        http.post("https://loadsure.test/api/insureLoad/quote", json={"quoteToken": "tok-1", "expiresIn": 600})
        http.post("https://loadsure.test/api/insureLoad/purchaseQuote",
                  json={"certificateNumber": "LS-1", "status": "ACTIVE", "premium": 4})  # fmt: skip
        assert Worker(app).drain().bound == 1
        sent = json.loads(http.calls[0].request.body)
    expected = {"country": "CHN", "state": "GD", "postal": "518000"}
    assert sent["shipment"]["stops"][1]["address"] == expected and sent["assured"]["address"] == expected
