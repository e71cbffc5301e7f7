"""A new payment recorded in one statement (PostgreSQL) is the same as one recorded through the ORM, exactly once.

On SQLite every delivery takes the ORM path, so these tests check the same expectations there too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Payment, Protection, WebhookDelivery
from plugin.services import new_payments
from tests.api.test_stripe_concurrency import THREADS, _counts, _race
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
    session_event,
    stripe_signature,
)

_OWN = {"id", "payment_id", "payment_key", "payment_intent", "charge_id", "checkout_session", "order_id"}
_TIMES = {"created_at", "updated_at", "succeeded_at"}

# The answer says what the delivery recorded: inline recording (see conftest's _inline_recording).
pytestmark = pytest.mark.inline_recording


def _row(model: Any, row: Any) -> dict[str, Any]:
    """A row's columns but those naming the payment itself, and the times the insert took."""
    return {c.name: getattr(row, c.key) for c in model.__table__.c if c.name not in _OWN | _TIMES}


def _recorded(app, pi_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    with app.app_context():
        payment = db.session.scalars(select(Payment).where(Payment.payment_key == pi_id)).one()
        protection = db.session.scalars(select(Protection).where(Protection.payment_id == payment.id)).first()
        return _row(Payment, payment), _row(Protection, protection) if protection else None


@pytest.mark.parametrize(
    "metadata",
    [
        lambda quote: protected_metadata(quote, "2001"),
        lambda quote: protected_metadata(quote, "2001", sp_consent="cons_1", customer_email="m@example.com"),
        lambda quote: {**protected_metadata(quote, "2001"), "sp_amount": "1"},  # needs review
        lambda quote: {**protected_metadata(quote, "2001"), "sp_quote": "qt_forged.x"},  # forged
        lambda quote: {"order_id": "2001"},  # not protected: an order only
    ],
)
def test_the_one_statement_records_what_the_orm_records(app, client, shop, monkeypatch, database_url, metadata):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    recorded_in_one: list[object] = []
    one_statement = new_payments.record_new_payment

    def spied(*args: Any) -> Any:
        recorded_in_one.append(result := one_statement(*args))
        return result

    monkeypatch.setattr(new_payments, "record_new_payment", spied)
    fast = deliver(client, shop.shop.id, payment_intent_event(metadata(quote), pi_id="pi_fast", receipt_email=None))
    if database_url.startswith("postgresql"):
        assert len(recorded_in_one) == 1 and recorded_in_one[0] is not None
    else:
        assert recorded_in_one == []
    monkeypatch.setattr(new_payments, "applies", lambda fact, ctx: False)
    usual = deliver(client, shop.shop.id, payment_intent_event(metadata(quote), pi_id="pi_orm", receipt_email=None))
    assert fast.status_code == usual.status_code == 200
    assert fast.get_json() == usual.get_json()
    assert _recorded(app, "pi_fast") == _recorded(app, "pi_orm")


def test_the_delivery_keeps_its_request_id_and_repeats_are_answered_as_such(app, client, shop):
    configure_stripe(client, shop)
    event = payment_intent_event(protected_metadata(quote_for(client, shop)), pi_id="pi_rid")
    body = json.dumps(event).encode()
    first = client.post(
        f"/webhooks/stripe/{shop.shop.id}",
        data=body,
        headers={"X-Request-ID": "req-fast-path-0001", "Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET)},
    )
    assert first.get_json() == {"received": True, "duplicate": False, "outcome": "protection_created"}
    again = deliver(client, shop.shop.id, event)
    assert again.get_json() == {"received": True, "duplicate": True, "outcome": "protection_created"}
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.delivery_id, delivery.request_id) == (event["id"], "req-fast-path-0001")
    assert _counts(app) == (1, 1, 1)


def test_an_intent_after_its_session_adds_to_the_one_payment(app, client, shop):
    # The session came first: the intent's delivery finds its payment and takes the usual way.
    configure_stripe(client, shop)
    metadata = protected_metadata(quote_for(client, shop))
    assert deliver(client, shop.shop.id, session_event(metadata, "cs_first", "pi_second")).status_code == 200
    answer = deliver(client, shop.shop.id, payment_intent_event(metadata, pi_id="pi_second"))
    assert answer.get_json()["outcome"] == "protection_confirmed"
    assert _counts(app) == (2, 1, 1)


def test_distinct_events_of_one_new_payment_racing_make_one_protection(app, client, shop):
    configure_stripe(client, shop)
    metadata = protected_metadata(quote_for(client, shop))
    events = [payment_intent_event(metadata, pi_id="pi_same") for _ in range(THREADS)]
    assert _race(app, shop.shop.id, events) == [200] * THREADS
    assert _counts(app) == (THREADS, 1, 1)


@pytest.mark.parametrize("protected", [True, False])
def test_the_statement_stays_within_what_psycopg_parses_once(protected):
    # psycopg keeps a query's parsed form for statements up to 4,096 bytes and 50 parameters; past either it parses
    # the query again on every call (0.8 ms a delivery, measured), so a new column must not push it over.
    statement = new_payments._statement(protected)
    assert len(statement.encode()) <= 4096
    assert len(set(re.findall(r"%\((\w+)\)s", statement))) <= 50
