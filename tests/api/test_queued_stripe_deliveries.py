"""STRIPE_RECORDING=queued: a verified delivery is stored and answered, then recorded by the worker or by the
next request that reads the shop's payments; nothing acknowledged is ever missing from an answer, or recorded
twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from plugin import create_app
from plugin.config import ConfigurationError
from plugin.extensions import db
from plugin.models import Payment, Protection, QueuedStripeDelivery, WebhookDelivery, utcnow
from plugin.services import stripe_inbox
from plugin.worker import Worker
from tests.admin_helpers import make_user, sign_in
from tests.api.test_platform_webhooks import ORDER, fixture, send
from tests.conftest import bearer, make_environ
from tests.stripe_helpers import (
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
)


@pytest.fixture(autouse=True)
def queued(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_RECORDING", "queued")


def _paid(client, shop, order_id: str = "1001", pi_id: str = "pi_queued_1"):
    """A protected payment's delivery, answered (not read back: reading would record it)."""
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    event = payment_intent_event(protected_metadata(quote, order_id), pi_id=pi_id, amount=51000)
    return event, deliver(client, shop.shop.id, event)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_delivery_is_answered_once_stored_and_recorded_by_the_worker(app, client, shop):
    event, response = _paid(client, shop)
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "outcome": "queued"}
    assert (_count(app, QueuedStripeDelivery), _count(app, Payment)) == (1, 0)

    stats = Worker(app).drain()
    assert stats.ok
    with app.app_context():
        protection = db.session.scalars(select(Protection)).one()
        delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert (protection.order_id, protection.status, protection.customer_email) == ("1001", "active", "jade@example.com")
    assert (delivery.delivery_id, delivery.outcome) == (event["id"], "protection_created")
    # The worker's recording carries the request that brought the delivery, for its log lines and its jobs.
    assert delivery.request_id == response.headers["X-Request-ID"]
    assert _count(app, QueuedStripeDelivery) == 0


def test_a_repeat_is_a_duplicate_before_and_after_recording(app, client, shop):
    event, _first = _paid(client, shop)
    again = deliver(client, shop.shop.id, event)
    assert again.get_json() == {"received": True, "duplicate": True, "outcome": "duplicate"}
    assert _count(app, QueuedStripeDelivery) == 1
    Worker(app).drain()
    late = deliver(client, shop.shop.id, event)
    assert late.status_code == 200 and late.get_json()["duplicate"] is True
    assert (_count(app, QueuedStripeDelivery), _count(app, Payment), _count(app, WebhookDelivery)) == (0, 1, 1)


def test_a_forged_delivery_is_refused_and_stores_nothing(app, client, shop):
    configure_stripe(client, shop)
    event = payment_intent_event({"order_id": "1"}, pi_id="pi_forged")
    response = deliver(client, shop.shop.id, event, secret="whsec_not_the_shops")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_signature"
    assert _count(app, QueuedStripeDelivery) == 0


def test_a_signed_body_that_is_not_an_event_is_stored_at_once(app, client, shop):
    configure_stripe(client, shop)
    response = deliver(client, shop.shop.id, b"not json at all")
    assert response.get_json() == {"received": True, "duplicate": False, "outcome": "unreadable"}
    assert (_count(app, QueuedStripeDelivery), _count(app, WebhookDelivery)) == (0, 1)


def test_the_api_reads_a_payment_acknowledged_a_moment_ago(app, client, shop):
    _paid(client, shop)
    listed = client.get("/api/v1/protections?order_id=1001", headers=bearer(shop.keys.secret_key)).get_json()["data"]
    assert [(item["order_id"], item["status"]) for item in listed] == [("1001", "active")]
    assert _count(app, QueuedStripeDelivery) == 0


def test_a_shipment_right_after_the_payment_is_covered(app, client, shop):
    _paid(client, shop)
    body = {"order_id": "1001", "shipment_id": "S-1", "carrier": "UPS", "tracking_number": "1Z999"}
    response = client.post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 202
    assert response.get_json()["policy"]["status"] == "pending"


def test_a_platform_fulfillment_right_after_the_payment_is_covered(app, client, shop):
    _paid(client, shop, order_id=ORDER)
    response = send(client, shop, "fulfillments/create", fixture("shopify_fulfillments_create.json"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "policy_pending"


def test_the_admin_shows_a_payment_acknowledged_a_moment_ago(app, client, shop):
    user = make_user(app, shop.shop.id, "owner@example.com")
    sign_in(client, user)
    _paid(client, shop, order_id="ORDER-7731")
    page = client.get("/admin/protections")
    assert page.status_code == 200 and "ORDER-7731" in page.get_data(as_text=True)


def test_the_claim_portal_finds_an_order_paid_a_moment_ago(app, client, shop):
    _paid(client, shop)
    page = client.get(f"/claims/{shop.shop.id}")
    assert page.status_code == 200
    assert _count(app, QueuedStripeDelivery) == 0 and _count(app, Payment) == 1


def test_a_quote_is_judged_when_the_delivery_came_not_when_it_is_recorded(app, client, shop):
    _paid(client, shop)
    three_days_later = utcnow() + timedelta(days=3)  # the quote expired meanwhile (quotes last 24 hours)
    Worker(app, clock=lambda: three_days_later).drain()
    with app.app_context():
        protection = db.session.scalars(select(Protection)).one()
    assert (protection.status, protection.review_reason) == ("active", None)


def test_a_recording_that_fails_is_kept_retried_after_a_backoff_and_reads_go_on(app, client, shop, monkeypatch):
    _paid(client, shop)
    real = stripe_inbox.record_stripe_event

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in recording")

    monkeypatch.setattr(stripe_inbox, "record_stripe_event", broken)
    stats = Worker(app).drain()
    assert stats.ok  # not a job: the delivery keeps its own error
    with app.app_context():
        row = db.session.scalars(select(QueuedStripeDelivery)).one()
        assert (row.attempts, row.last_error) == (1, "RuntimeError: a bug in recording")
        assert row.due_at > utcnow() + timedelta(seconds=500)  # JOB_RETRY_BASE_SECONDS' backoff
    # A read waits for the backoff too, and answers without it rather than failing.
    listed = client.get("/api/v1/protections", headers=bearer(shop.keys.secret_key))
    assert listed.status_code == 200 and listed.get_json()["data"] == []

    monkeypatch.setattr(stripe_inbox, "record_stripe_event", real)
    later = utcnow() + timedelta(hours=2)
    Worker(app, clock=lambda: later).drain()
    assert (_count(app, QueuedStripeDelivery), _count(app, Protection)) == (0, 1)


def test_readiness_and_metrics_show_a_delivery_left_waiting(app, client, shop):
    _paid(client, shop)
    assert client.get("/readyz").get_json()["checks"]["stripe_deliveries"]["status"] == "ok"
    with app.app_context():
        db.session.execute(update(QueuedStripeDelivery).values(received_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["failed"] == ["stripe_deliveries"]
    assert ready.get_json()["checks"]["stripe_deliveries"]["oldest_waiting_seconds"] >= 3600
    text = client.get("/metrics").get_data(as_text=True)
    assert 'plugin_webhooks_total{outcome="queued",source="stripe"} ' in text
    [gauge] = [line for line in text.splitlines() if line.startswith("plugin_stripe_queued_oldest_age_seconds ")]
    assert float(gauge.split()[1]) >= 3600


def test_erasing_a_shopper_records_their_waiting_payment_first(app, client, shop):
    from plugin.services.erasure import erase_shopper

    _paid(client, shop)
    with app.app_context():
        erase_shopper(shop.shop.id, "jade@example.com", utcnow())
        db.session.commit()
        payment = db.session.scalars(select(Payment)).one()
    assert payment.customer_email != "jade@example.com"


def test_an_unknown_recording_mode_stops_start_up(database_url):
    with pytest.raises(ConfigurationError, match="STRIPE_RECORDING must be one of inline, queued"):
        create_app({"ENVIRON": make_environ(database_url, STRIPE_RECORDING="later")})


@pytest.mark.postgres_only
def test_a_worker_and_a_reader_recording_at_once_record_once(app, client, shop):
    """The worker's lease does not stop a reader: both record, the second waits for the first and does nothing."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("concurrent writers: PostgreSQL")
    for index in range(8):
        _paid(client, shop, order_id=f"C-{index}", pi_id=f"pi_concurrent_{index}")
    with app.app_context():
        ids = list(db.session.scalars(select(QueuedStripeDelivery.id).order_by(QueuedStripeDelivery.id)))
        db.session.remove()
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def record_all(order: list[int]) -> None:
        with app.app_context():
            try:
                start.wait()
                for row_id in order:
                    stripe_inbox.record_rows([row_id], utcnow(), retry_base=timedelta(seconds=60))
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=record_all, args=(order,)) for order in (ids, ids[::-1], ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert (_count(app, QueuedStripeDelivery), _count(app, Payment), _count(app, Protection)) == (0, 8, 8)
    assert _count(app, WebhookDelivery) == 8
