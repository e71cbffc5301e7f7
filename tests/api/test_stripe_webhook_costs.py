"""The Stripe endpoint's kept secrets (rotation still exact) and its statements per delivery."""

from __future__ import annotations

from sqlalchemy import event

from plugin.api.settings import settings_context
from plugin.extensions import db
from plugin.models import Shop
from plugin.services.settings import update_settings
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
)

NEW_SECRET = "whsec_rolled_in_another_process_42"


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


def test_an_unknown_shop_is_still_404_after_a_known_one_is_kept(client, shop):
    configure_stripe(client, shop)
    assert deliver(client, shop.shop.id, payment_intent_event({}, pi_id="pi_a")).status_code == 200
    assert deliver(client, "shop_does_not_exist", payment_intent_event({}, pi_id="pi_b")).status_code == 404


def test_a_new_protected_payment_costs_four_statements(app, client, shop):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, "1"), pi_id="pi_warm"))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = deliver(client, shop.shop.id, payment_intent_event(protected_metadata(quote, "2"), pi_id="pi_cost"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.get_json()["outcome"] == "protection_created"
    # The payment look-up, then the delivery, the payment and its protection: no shop, secret or repeat check.
    assert statements == ["SELECT", "INSERT", "INSERT", "INSERT"]
