"""Calls to Stripe's API with the merchant's key (Checkout line items, the event log), through `responses`."""

from __future__ import annotations

import json
import re

import pytest
import responses

from tests.conftest import bearer
from tests.stripe_helpers import (
    configure_stripe,
    deliver,
    object_fixture,
    payment_intent_event,
    protected_metadata,
    protections,
    quote_for,
    session_event,
)

STRIPE = "https://stripe.test"
LINE_ITEMS = re.compile(rf"{STRIPE}/v1/checkout/sessions/[^/]+/line_items.*")


@pytest.fixture()
def stripe_api(app):
    app.config["STRIPE_API_BASE"] = STRIPE
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
    app.config["STRIPE_API_BASE"] = "https://api.stripe.com"


@pytest.fixture()
def keyed_shop(client, shop):
    configure_stripe(client, shop, api_key="rk_test_merchantkey0000")
    return shop


def line_items_page(*lines):
    return {
        "object": "list",
        "data": list(lines),
        "has_more": False,
        "url": "/v1/checkout/sessions/cs/line_items",
    }


def item(amount_total: int, protection: bool, item_id: str):
    line = object_fixture("item")
    line.update(id=item_id, amount_total=amount_total, metadata={"sp_protection": "true"} if protection else {})
    return line


@pytest.mark.parametrize(
    ("lines", "check", "status"),
    [
        ([item(50000, False, "li_1"), item(1000, True, "li_2")], "confirmed", "active"),
        ([item(50000, False, "li_1"), item(900, True, "li_2")], "mismatch", "needs_review"),
        ([item(50000, False, "li_1")], "missing", "needs_review"),
    ],
)
def test_checkout_protection_line_is_confirmed_with_stripe(client, keyed_shop, stripe_api, lines, check, status):
    stripe_api.get(LINE_ITEMS, json=line_items_page(*lines))
    quote = quote_for(client, keyed_shop)
    deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_li"))
    [protection] = protections(client, keyed_shop)
    assert (protection["line_item_check"], protection["status"]) == (check, status)
    request = stripe_api.calls[0].request
    assert "/v1/checkout/sessions/cs_li/line_items" in request.url
    assert request.headers["Authorization"] == "Bearer rk_test_merchantkey0000"


def test_stripe_being_down_leaves_the_check_pending_and_the_delivery_accepted(client, keyed_shop, stripe_api):
    stripe_api.get(LINE_ITEMS, status=500, json={"error": {"message": "boom"}})
    quote = quote_for(client, keyed_shop)
    response = deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_down"))
    assert response.status_code == 200
    [protection] = protections(client, keyed_shop)
    assert (protection["line_item_check"], protection["status"]) == ("pending", "active")


def test_reconcile_applies_missed_events_once_and_retries_pending_checks(app, client, keyed_shop, stripe_api):
    quote = quote_for(client, keyed_shop)
    missed = payment_intent_event(protected_metadata(quote, "R-1"), pi_id="pi_missed")
    unhandled_in_log = session_event(protected_metadata(quote, "R-2"), session_id="cs_missed", pi_id="pi_other")
    stripe_api.get(
        re.compile(rf"{STRIPE}/v1/events.*"),
        json={"object": "list", "data": [unhandled_in_log, missed], "has_more": False, "url": "/v1/events"},
    )
    stripe_api.get(LINE_ITEMS, status=500, json={"error": {"message": "still down"}})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["stripe", "reconcile", "--shop", keyed_shop.shop.id, "--since", "2026-11-01"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["events"] == 2 and summary["protection_created"] == 2
    assert {p["order_id"] for p in protections(client, keyed_shop)} == {"R-1", "R-2"}
    events_request = next(call.request for call in stripe_api.calls if "/v1/events" in call.request.url)
    assert "created%5Bgte%5D=" in events_request.url and "types%5B" in events_request.url

    stripe_api.replace(responses.GET, LINE_ITEMS, json=line_items_page(item(1000, True, "li_p")))
    again = json.loads(
        runner.invoke(args=["stripe", "reconcile", "--shop", keyed_shop.shop.id, "--since", "2026-11-01"]).output
    )
    assert again["already_seen"] == 2 and again["line_items_confirmed"] == 1
    assert len(protections(client, keyed_shop)) == 2


def test_reconcile_needs_a_stripe_key(app, shop):
    result = app.test_cli_runner().invoke(args=["stripe", "reconcile", "--shop", shop.shop.id, "--since", "2026-11-01"])
    assert result.exit_code != 0 and "stripe.api_key" in result.output


def test_api_key_never_appears_in_settings_or_errors(client, keyed_shop, stripe_api):
    stripe_api.get(
        LINE_ITEMS,
        status=401,
        json={"error": {"message": "Invalid API Key provided: rk_test_merchantkey0000"}},
    )
    quote = quote_for(client, keyed_shop)
    deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_401"))
    settings = client.get("/api/v1/settings", headers=bearer(keyed_shop.keys.secret_key)).get_data(as_text=True)
    assert "merchantkey" not in settings


def test_unprotected_payments_ask_stripe_nothing(client, keyed_shop, stripe_api):
    deliver(client, keyed_shop.shop.id, payment_intent_event({}))
    assert len(stripe_api.calls) == 0
