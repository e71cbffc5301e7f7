"""POST /api/v1/consents: evidence of what the shopper saw, only for a live quote at its own price."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.stripe_helpers import (
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    protections,
    quote_for,
)


def consent_body(the_quote, **changes):
    return {
        "quote": the_quote["id"],
        "price_shown": the_quote["customer_price"],
        "currency": the_quote["currency"],
        "text_shown": "Shipping protection — $10.00 — Refund or replacement…",
        "terms_version": "1",
        "terms_url": the_quote["offer"]["terms_url"],
        "locale": "en-US",
        "shown_at": "2026-11-21T10:00:00Z",
        **changes,
    }


def test_a_consent_is_recorded_and_retrievable_by_the_merchant(client, shop):
    quote = quote_for(client, shop)
    response = client.post(
        "/api/v1/consents",
        json=consent_body(quote),
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://jade.example", "User-Agent": "test-browser"},
    )
    assert response.status_code == 201
    consent = response.get_json()
    assert consent["id"].startswith("cns_") and consent["price_shown"] == 1000
    assert response.headers["Access-Control-Allow-Origin"] == "https://jade.example"
    stored = client.get(f"/api/v1/consents/{consent['id']}", headers=bearer(shop.keys.secret_key)).get_json()
    assert stored["page_origin"] == "https://jade.example" and stored["text_shown"].startswith("Shipping protection")
    assert stored["shown_at"] == "2026-11-21T10:00:00Z"
    assert client.get(f"/api/v1/consents/{consent['id']}", headers=bearer(shop.keys.publishable_key)).status_code == 403


def test_the_consent_is_linked_to_the_protection_once_paid(client, shop):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    consent = client.post(
        "/api/v1/consents", json=consent_body(quote), headers=bearer(shop.keys.publishable_key)
    ).get_json()
    deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, sp_consent=consent["id"])))
    [protection] = protections(client, shop)
    assert protection["consent"] == consent["id"] and protection["consent_verified"] is True


def test_a_consent_id_from_elsewhere_is_not_verified(client, shop):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, sp_consent="cns_made_up")))
    assert protections(client, shop)[0]["consent_verified"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price_shown": 999}, "price_shown"),
        ({"currency": "EUR"}, "currency"),
        ({"quote": "qt_forged.sig"}, "quote"),
        ({"text_shown": ""}, "text_shown"),
        ({"price_shown": "1000"}, "price_shown"),
        ({"terms_url": "javascript:alert(1)"}, "terms_url"),
    ],
)
def test_a_consent_that_does_not_match_its_quote_is_refused(client, shop, changes, field):
    quote = quote_for(client, shop)
    response = client.post(
        "/api/v1/consents", json=consent_body(quote, **changes), headers=bearer(shop.keys.publishable_key)
    )
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_another_shops_quote_is_refused(client, shop, new_shop):
    other = new_shop("Other")
    quote = quote_for(client, other)
    response = client.post("/api/v1/consents", json=consent_body(quote), headers=bearer(shop.keys.publishable_key))
    assert response.status_code == 422 and "quote" in response.get_json()["error"]["fields"]


def test_the_demo_exists_only_in_demo_mode_and_its_forms_need_csrf(app, client, shop):
    assert client.get("/demo").status_code == 404
    app.config["DEMO"] = True
    try:
        assert client.get("/demo").status_code == 200
        forged = client.post("/demo/pay", json={"subtotal": 100})
        assert forged.status_code == 400  # no CSRF token
    finally:
        app.config["DEMO"] = False
