"""The same payment told many times at once: exactly one payment, one protection, one delivery per event."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Payment, Protection, WebhookDelivery
from tests.stripe_helpers import (
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
    session_event,
)

THREADS = 8

# The answer says what the delivery recorded: inline recording (see conftest's _inline_recording).
pytestmark = pytest.mark.inline_recording


def _race(app, shop_id: str, events: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(events))
    statuses: list[int] = []
    lock = threading.Lock()

    def send(event: dict) -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        status = deliver(client, shop_id, event).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (WebhookDelivery, Payment, Protection)
        )


def test_one_event_delivered_concurrently_is_applied_once(app, client, shop):
    configure_stripe(client, shop)
    event = payment_intent_event(protected_metadata(quote_for(client, shop)))
    statuses = _race(app, shop.shop.id, [event] * THREADS)
    assert statuses == [200] * THREADS
    assert _counts(app) == (1, 1, 1)


def test_a_session_and_its_intent_racing_make_one_protection(app, client, shop):
    configure_stripe(client, shop)
    metadata = protected_metadata(quote_for(client, shop))
    events = []
    for index in range(THREADS // 2):
        events.append(session_event(metadata, session_id="cs_race", pi_id="pi_race"))
        events.append(payment_intent_event(metadata if index % 2 else {}, pi_id="pi_race"))
    statuses = _race(app, shop.shop.id, events)
    assert statuses == [200] * THREADS
    deliveries, payments, protections = _counts(app)
    assert (deliveries, payments, protections) == (THREADS, 1, 1)
