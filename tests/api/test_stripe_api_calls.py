"""Calls to Stripe's API with the merchant's key (Checkout line items, the event log), through `responses`."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import responses
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Job, utcnow
from plugin.worker import Worker
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
def test_checkout_protection_line_is_confirmed_by_a_job_not_the_webhook(
    app, client, keyed_shop, stripe_api, lines, check, status
):
    stripe_api.get(LINE_ITEMS, json=line_items_page(*lines))
    quote = quote_for(client, keyed_shop)
    deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_li"))
    assert len(stripe_api.calls) == 0  # the webhook request never calls Stripe's API
    [queued] = protections(client, keyed_shop)
    assert queued["line_item_check"] == "pending"
    assert Worker(app).drain().jobs_succeeded == 1
    [protection] = protections(client, keyed_shop)
    assert (protection["line_item_check"], protection["status"]) == (check, status)
    request = stripe_api.calls[0].request
    assert "/v1/checkout/sessions/cs_li/line_items" in request.url
    assert request.headers["Authorization"] == "Bearer rk_test_merchantkey0000"


def test_stripe_being_down_leaves_the_check_pending_and_its_job_backing_off(app, client, keyed_shop, stripe_api):
    stripe_api.get(LINE_ITEMS, status=500, json={"error": {"message": "boom"}})
    quote = quote_for(client, keyed_shop)
    response = deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_down"))
    assert response.status_code == 200
    stats = Worker(app, jitter=lambda: 0.5).drain()
    assert stats.jobs_retrying == 1 and not stats.ok
    # Stripe's client repeated the lost answer at once, twice, before the job backed off.
    assert len(stripe_api.calls) == 3
    [protection] = protections(client, keyed_shop)
    assert (protection["line_item_check"], protection["status"]) == ("pending", "active")
    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.kind == "confirm_line_items")).one()
        assert (job.status, job.attempts) == ("retrying", 1)
        assert "APIError" in job.last_error
        assert timedelta(seconds=599) < job.next_attempt_at - utcnow() <= timedelta(seconds=600)


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


def test_api_key_never_appears_in_settings_or_errors(app, client, keyed_shop, stripe_api):
    stripe_api.get(
        LINE_ITEMS,
        status=401,
        json={"error": {"message": "Invalid API Key provided: rk_test_merchantkey0000"}},
    )
    quote = quote_for(client, keyed_shop)
    deliver(client, keyed_shop.shop.id, session_event(protected_metadata(quote), session_id="cs_401"))
    stats = Worker(app).drain()
    assert stats.jobs_failed == 1  # a refused key is not retried: it needs the merchant
    settings = client.get("/api/v1/settings", headers=bearer(keyed_shop.keys.secret_key)).get_data(as_text=True)
    assert "merchantkey" not in settings
    assert "merchantkey" not in json.dumps(stats.report())
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert (
            job.status == "failed" and "AuthenticationError" in job.last_error and "merchantkey" not in job.last_error
        )


def test_unprotected_payments_ask_stripe_nothing(app, client, keyed_shop, stripe_api):
    deliver(client, keyed_shop.shop.id, payment_intent_event({}))
    Worker(app).drain()
    assert len(stripe_api.calls) == 0


@pytest.mark.inline_recording
def test_a_repeated_delivery_queues_one_job(app, client, keyed_shop, stripe_api):
    stripe_api.get(LINE_ITEMS, json=line_items_page(item(1000, True, "li_p")))
    quote = quote_for(client, keyed_shop)
    event = session_event(protected_metadata(quote), session_id="cs_twice")
    completed = session_event(
        protected_metadata(quote), session_id="cs_twice", event_type="checkout.session.async_payment_succeeded"
    )
    for delivery in (event, event, completed):
        assert deliver(client, keyed_shop.shop.id, delivery).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    Worker(app).drain()
    assert len(stripe_api.calls) == 1
    [protection] = protections(client, keyed_shop)
    assert protection["line_item_check"] == "confirmed"
