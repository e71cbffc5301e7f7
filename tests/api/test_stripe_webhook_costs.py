"""The Stripe endpoint's kept secrets (rotation still exact) and its statements per delivery."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from plugin.api.settings import settings_context
from plugin.extensions import db
from plugin.models import Shop
from plugin.services.settings import update_settings
from plugin.services.stripe_account import ReceiverCache
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
)

NEW_SECRET = "whsec_rolled_in_another_process_42"

# The answer says what the delivery recorded: inline recording (see conftest's _inline_recording).
pytestmark = pytest.mark.inline_recording


def test_a_secret_rolled_elsewhere_works_at_once_and_the_old_one_stops(app, client, shop):
    configure_stripe(client, shop)
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_kept")).status_code == 200
    # Rolled by another process (straight through the service, so this process's kept secrets are not forgotten):
    # this one still keeps the old secret, and must not refuse the new one.
    with app.test_request_context():
        update_settings(
            db.session.get(Shop, shop.shop.id), {"stripe": {"webhook_secret": NEW_SECRET}}, settings_context()
        )
    answer = deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_new"), secret=NEW_SECRET)
    assert answer.status_code == 200, answer.get_json()
    old = deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_old"))
    assert old.status_code == 400 and old.get_json()["error"]["code"] == "invalid_signature"


def test_a_secret_removed_here_stops_verifying_here_at_once(client, shop):
    configure_stripe(client, shop)
    configure_stripe(client, shop, webhook_secret=NEW_SECRET, previous_webhook_secret=WEBHOOK_SECRET)
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_prev")).status_code == 200  # kept now
    configure_stripe(client, shop, webhook_secret=NEW_SECRET, previous_webhook_secret=None)
    old = deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_gone"))
    assert old.status_code == 400 and old.get_json()["error"]["code"] == "invalid_signature"


def test_kept_secrets_expire_from_when_they_were_read_not_from_their_last_use(app, client, shop):
    now = [1000.0]
    app.extensions["stripe_receivers"] = ReceiverCache(ttl=5, clock=lambda: now[0])
    configure_stripe(client, shop, webhook_secret=NEW_SECRET, previous_webhook_secret=WEBHOOK_SECRET)
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_k1")).status_code == 200  # kept at 1000
    with app.test_request_context():  # removed by another process: this one still keeps it
        update_settings(
            db.session.get(Shop, shop.shop.id), {"stripe": {"previous_webhook_secret": None}}, settings_context()
        )
    now[0] = 1004.0
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_k2")).status_code == 200  # still kept
    now[0] = 1006.0  # 6 s after it was read, 2 s after its last use
    old = deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_k3"))
    assert old.status_code == 400 and old.get_json()["error"]["code"] == "invalid_signature"


def test_an_unknown_shop_is_still_404_after_a_known_one_is_kept(client, shop):
    configure_stripe(client, shop)
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_a")).status_code == 200
    assert deliver(client, "shop_does_not_exist", payment_intent_event({}, pi_id="pi_b")).status_code == 404


@contextmanager
def statements_sent(app, database_url: str) -> Iterator[list[str]]:
    """The statements the app sends meanwhile, as the driver gets them (first word; on PostgreSQL "+autocommit"
    when sent outside a transaction: no BEGIN or COMMIT round trip around it). Pool checks' pings are counted."""
    sent: list[str] = []
    if database_url.startswith("postgresql"):
        import psycopg

        original = psycopg.Cursor.execute

        def execute(cursor, query, *args, **kwargs):
            word = str(query).split(None, 1)[0].upper()
            sent.append(word + ("+autocommit" if cursor.connection.autocommit else ""))
            return original(cursor, query, *args, **kwargs)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        try:
            yield sent
        finally:
            psycopg.Cursor.execute = original  # type: ignore[method-assign]
        return

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_new_protected_payment_costs_one_statement_on_postgresql(app, client, shop, database_url):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, "1"), pi_id="pi_warm"))
    with statements_sent(app, database_url) as statements:
        answer = deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, "2"), pi_id="pi_cost"))
    assert answer.get_json()["outcome"] == "protection_created"
    if database_url.startswith("postgresql"):
        # The payment look-up and the three inserts in one statement, on its own: one round trip, no ping.
        assert statements == ["WITH+autocommit"]
    else:
        # The payment look-up, then the delivery, the payment and its protection: no shop, secret or repeat check.
        assert statements == ["SELECT", "INSERT", "INSERT", "INSERT"]
