"""Stripe deliveries, signed as Stripe signs them, built from the real fixtures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.domain import quote_token
from plugin.extensions import db
from plugin.models import Payment, Protection, WebhookDelivery
from tests.conftest import FIXTURES, TEST_SECRET_KEY, bearer
from tests.stripe_helpers import (
    WEBHOOK_SECRET,
    charge_refunded_event,
    configure_stripe,
    deliver,
    dispute_event,
    fixture_event,
    payment_intent_event,
    protected_metadata,
    protections,
    quote_for,
    refund_event,
    session_event,
    stripe_signature,
    wrap,
)


@pytest.fixture()
def stripe_shop(client, shop):
    configure_stripe(client, shop)
    return shop


def count(app, model, **where) -> int:
    with app.app_context():
        statement = select(func.count()).select_from(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return db.session.scalar(statement)


# ---- happy paths ----------------------------------------------------------------------------------------


@pytest.mark.inline_recording
def test_payment_intent_records_one_active_protection(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    response = deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote, "1001")))
    assert response.status_code == 200
    assert response.get_json() == {"received": True, "duplicate": False, "outcome": "protection_created"}
    [protection] = protections(client, stripe_shop, order_id="1001")
    assert protection["id"].startswith("prot_")
    assert protection["status"] == "active" and protection["review_reason"] is None
    assert protection["disputed"] is False
    assert (protection["currency"], protection["declared_value"], protection["premium"]) == (
        "USD",
        50000,
        1000,
    )
    assert (protection["customer_price"], protection["merchant_contribution"]) == (1000, 0)
    assert protection["payment_intent"] == "pi_test_1"
    assert protection["customer_email"] == "jade@example.com"
    assert protection["shipments"] == [] and protection["policies"] == []
    one = client.get(f"/api/v1/protections/{protection['id']}", headers=bearer(stripe_shop.keys.secret_key))
    assert one.get_json() == protection


def test_the_real_checkout_session_fixture_records_a_protection(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    event = fixture_event("checkout.session.completed")
    event["created"] = int(time.time())
    event["data"]["object"]["metadata"] = protected_metadata(quote, "A-77", sp_consent="cns_123")
    assert deliver(client, stripe_shop.shop.id, event).status_code == 200
    [protection] = protections(client, stripe_shop)
    assert protection["order_id"] == "A-77"
    assert protection["customer_email"] == "stripe@example.com"  # the session's customer_details
    assert protection["checkout_session"] == event["data"]["object"]["id"]
    assert protection["payment_intent"] == event["data"]["object"]["payment_intent"]
    assert protection["consent"] == "cns_123"
    assert protection["line_item_check"] == "not_applicable"  # no Stripe key to ask with


def test_email_falls_back_to_metadata(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote, customer_email="meta@example.com"), receipt_email=None)
    deliver(client, stripe_shop.shop.id, event)
    assert protections(client, stripe_shop)[0]["customer_email"] == "meta@example.com"


def test_every_succeeded_payment_counts_as_an_order(app, client, stripe_shop):
    deliver(client, stripe_shop.shop.id, payment_intent_event({}, pi_id="pi_plain"))
    assert protections(client, stripe_shop) == []
    assert count(app, Payment, status="succeeded", protected=False) == 1


def test_the_previous_secret_works_while_rolling(client, stripe_shop):
    configure_stripe(
        client,
        stripe_shop,
        webhook_secret="whsec_new_secret_after_roll_99",
        previous_webhook_secret=WEBHOOK_SECRET,
    )
    quote = quote_for(client, stripe_shop)
    assert deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote))).status_code == 200
    event = payment_intent_event({}, pi_id="pi_2")
    assert deliver(client, stripe_shop.shop.id, event, secret="whsec_new_secret_after_roll_99").status_code == 200


# ---- exactly once ---------------------------------------------------------------------------------------


@pytest.mark.inline_recording
def test_a_replayed_event_is_answered_200_and_does_nothing(app, client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote))
    first, again = deliver(client, stripe_shop.shop.id, event), deliver(client, stripe_shop.shop.id, event)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == {"received": True, "duplicate": True, "outcome": "protection_created"}
    assert count(app, Protection) == 1 and count(app, Payment) == 1 and count(app, WebhookDelivery) == 1


@pytest.mark.parametrize("order", ["session_first", "intent_first"])
@pytest.mark.parametrize("intent_metadata", [False, True])
def test_a_session_and_its_payment_intent_are_one_protection(app, client, stripe_shop, order, intent_metadata):
    quote = quote_for(client, stripe_shop)
    metadata = protected_metadata(quote)
    session = session_event(metadata, session_id="cs_1", pi_id="pi_1")
    intent = payment_intent_event(metadata if intent_metadata else {}, pi_id="pi_1")
    events = [session, intent] if order == "session_first" else [intent, session]
    for event in events:
        assert deliver(client, stripe_shop.shop.id, event).status_code == 200
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "active"
    assert (protection["checkout_session"], protection["payment_intent"]) == ("cs_1", "pi_1")
    assert count(app, Payment) == 1 and count(app, Protection) == 1


@pytest.mark.inline_recording
def test_unpaid_session_waits_for_the_async_result(app, client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    metadata = protected_metadata(quote)
    pending = session_event(metadata, payment_status="unpaid")
    assert deliver(client, stripe_shop.shop.id, pending).get_json()["outcome"] == "ignored"
    assert protections(client, stripe_shop) == []
    paid = session_event(metadata, event_type="checkout.session.async_payment_succeeded")
    assert deliver(client, stripe_shop.shop.id, paid).get_json()["outcome"] == "protection_created"


@pytest.mark.inline_recording
def test_async_failure_records_a_failed_payment(app, client, stripe_shop):
    event = session_event(
        {},
        session_id="cs_sepa",
        pi_id="pi_sepa",
        event_type="checkout.session.async_payment_failed",
        payment_status="unpaid",
    )
    assert deliver(client, stripe_shop.shop.id, event).get_json()["outcome"] == "payment_failed"
    assert count(app, Payment, status="failed") == 1 and count(app, Protection) == 0


# ---- trust but verify -------------------------------------------------------------------------------------


def _forged_claims_token(quote: dict, **changes) -> str:
    claims = quote_token.verify(quote["id"], [TEST_SECRET_KEY])
    values = {name: getattr(claims, name) for name in claims.__dataclass_fields__} | changes
    return quote_token.sign(quote_token.QuoteClaims(**values), TEST_SECRET_KEY)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda q, m: m.update(sp_amount="1"), "amount_mismatch"),
        (lambda q, m: m.update(sp_amount="ten dollars"), "amount_missing"),
        (lambda q, m: m.pop("sp_amount"), "amount_missing"),
        (lambda q, m: m.update(sp_quote=q["id"][:-4] + "AAAA"), "quote_invalid"),
        (lambda q, m: m.update(sp_quote="qt_forged.by-hand"), "quote_invalid"),
        (lambda q, m: m.update(sp_quote=_forged_claims_token(q, expires_at=datetime.now(UTC) - timedelta(minutes=1))), "quote_expired"),
        (lambda q, m: m.update(sp_quote=_forged_claims_token(q, shop_id="shop_someone_else_entirely")), "quote_other_shop"),
        (lambda q, m: m.update(sp_quote=_forged_claims_token(q, currency="EUR")), "currency_mismatch"),
        (lambda q, m: m.pop("order_id"), "order_id_missing"),
    ],
)  # fmt: skip
def test_a_payment_that_disagrees_with_its_quote_is_kept_for_review(client, stripe_shop, mangle, reason):
    quote = quote_for(client, stripe_shop)
    metadata = protected_metadata(quote)
    mangle(quote, metadata)
    assert deliver(client, stripe_shop.shop.id, payment_intent_event(metadata)).status_code == 200
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "needs_review"
    assert protection["review_reason"] == reason


def test_a_quote_of_another_shop_is_kept_for_review(client, new_shop):
    mine, theirs = new_shop("Mine"), new_shop("Theirs")
    configure_stripe(client, mine)
    their_quote = quote_for(client, theirs)
    deliver(client, mine.shop.id, payment_intent_event(protected_metadata(their_quote)))
    [protection] = protections(client, mine)
    assert (protection["status"], protection["review_reason"]) == ("needs_review", "quote_other_shop")
    assert protections(client, theirs) == []


def test_expiry_is_judged_at_payment_time_not_delivery_time(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote))
    event["created"] = int(time.time())  # paid now, while valid, even if Stripe delivered it late
    deliver(client, stripe_shop.shop.id, event)
    assert protections(client, stripe_shop)[0]["status"] == "active"


# ---- refunds and disputes ----------------------------------------------------------------------------------


@pytest.mark.inline_recording
def test_full_refund_before_shipping_voids_the_protection(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote), amount=51000))
    response = deliver(client, stripe_shop.shop.id, charge_refunded_event("pi_test_1", 51000, 51000))
    assert response.get_json()["outcome"] == "refund_recorded"
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "voided" and protection["voided_at"]
    assert protection["amount_refunded"] == 51000


def test_partial_refund_is_recorded_and_keeps_the_cover(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote), amount=51000))
    deliver(client, stripe_shop.shop.id, charge_refunded_event("pi_test_1", 51000, 1000))
    [protection] = protections(client, stripe_shop)
    assert (protection["status"], protection["amount_refunded"]) == ("active", 1000)


def test_a_refund_that_arrives_before_its_payment_still_voids_it(app, client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    deliver(client, stripe_shop.shop.id, charge_refunded_event("pi_test_1", 51000, 51000))
    assert protections(client, stripe_shop) == []
    deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote), amount=51000))
    [protection] = protections(client, stripe_shop)
    assert protection["status"] == "voided"
    assert count(app, Payment) == 1


def test_refund_events_count_each_refund_once(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote), amount=51000))
    deliver(client, stripe_shop.shop.id, refund_event("refund.created", "re_1", "pi_test_1", 20000, "pending"))
    deliver(client, stripe_shop.shop.id, refund_event("refund.updated", "re_1", "pi_test_1", 20000, "succeeded"))
    assert protections(client, stripe_shop)[0]["amount_refunded"] == 20000
    deliver(client, stripe_shop.shop.id, refund_event("refund.created", "re_2", "pi_test_1", 31000, "succeeded"))
    [protection] = protections(client, stripe_shop)
    assert (protection["amount_refunded"], protection["status"]) == (51000, "voided")


def test_a_failed_refund_does_not_count(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    deliver(client, stripe_shop.shop.id, payment_intent_event(protected_metadata(quote), amount=51000))
    deliver(client, stripe_shop.shop.id, refund_event("refund.failed", "re_9", "pi_test_1", 51000, "failed"))
    assert protections(client, stripe_shop)[0]["status"] == "active"


@pytest.mark.parametrize("dispute_first", [False, True])
def test_a_dispute_marks_the_protection(client, stripe_shop, dispute_first):
    quote = quote_for(client, stripe_shop)
    events = [payment_intent_event(protected_metadata(quote)), dispute_event("pi_test_1")]
    for event in reversed(events) if dispute_first else events:
        assert deliver(client, stripe_shop.shop.id, event).status_code == 200
    assert protections(client, stripe_shop)[0]["disputed"] is True


# ---- refused deliveries -------------------------------------------------------------------------------------


def _state(app):
    return (count(app, WebhookDelivery), count(app, Payment), count(app, Protection))


def test_forged_signature_is_a_400_and_changes_nothing(app, client, stripe_shop):
    before = _state(app)
    body = json.dumps(payment_intent_event({})).encode()
    response = client.post(
        f"/webhooks/stripe/{stripe_shop.shop.id}",
        data=body,
        headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}"},
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_signature"
    assert _state(app) == before


@pytest.mark.parametrize(
    "sign",
    [
        lambda body: stripe_signature(body, WEBHOOK_SECRET, timestamp=int(time.time()) - 301),  # stale
        lambda body: stripe_signature(body, "whsec_another_shops_secret_000"),  # wrong secret
        lambda body: stripe_signature(body + b" ", WEBHOOK_SECRET),  # other bytes
        lambda body: "",  # missing
        lambda body: "t=abc,v1=zz",  # garbage
        lambda body: stripe_signature(body, WEBHOOK_SECRET).replace("v1=", "v0="),  # other scheme only
    ],
)
def test_bad_signatures_are_refused(app, client, stripe_shop, sign):
    body = json.dumps(payment_intent_event({})).encode()
    response = client.post(
        f"/webhooks/stripe/{stripe_shop.shop.id}", data=body, headers={"Stripe-Signature": sign(body)}
    )
    assert response.status_code == 400
    assert _state(app) == (0, 0, 0)


def test_a_signature_from_another_shops_endpoint_is_refused(client, new_shop):
    mine, theirs = new_shop("Mine"), new_shop("Theirs")
    configure_stripe(client, mine)
    client.patch(
        "/api/v1/settings",
        json={"stripe": {"webhook_secret": "whsec_theirs_only_secret_42"}},
        headers=bearer(theirs.keys.secret_key),
    )
    response = deliver(client, theirs.shop.id, payment_intent_event({}))  # signed with mine's secret
    assert response.status_code == 400


def test_the_fixture_vectors_verify_at_their_own_time_and_are_replays_now(app, client, stripe_shop, monkeypatch):
    vectors = json.loads((FIXTURES / "signature_test_vectors.json").read_text())["stripe"]
    from plugin.payments.stripe import InvalidSignatureError, verify_signature

    for vector in vectors:
        raw = (FIXTURES / vector["file"]).read_bytes()
        with pytest.raises(InvalidSignatureError):  # five minutes are long gone
            verify_signature(raw, vector["header"], [vector["secret"]])
        monkeypatch.setattr(time, "time", lambda ts=vector["timestamp"]: ts + 10)
        verify_signature(raw, vector["header"], [vector["secret"]])  # the same bytes, at the time they were signed
        monkeypatch.undo()


def test_unknown_shop_is_a_404(client):
    response = deliver(client, "shop_unknown", payment_intent_event({}))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_shop_without_a_webhook_secret_says_so(client, shop):
    response = deliver(client, shop.shop.id, payment_intent_event({}))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "webhook_secret_not_configured"


def test_too_large_a_body_is_a_413(app, client, stripe_shop):
    body = b'{"id": "evt_big", "padding": "' + b"x" * (1024 * 1024) + b'"}'
    response = deliver(client, stripe_shop.shop.id, body)
    assert response.status_code == 413
    assert _state(app) == (0, 0, 0)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"type": "payment_intent.succeeded"}'])
def test_signed_garbage_is_stored_unreadable_and_acknowledged(app, client, stripe_shop, body):
    response = deliver(client, stripe_shop.shop.id, body)
    assert response.status_code == 200 and response.get_json()["outcome"] == "unreadable"
    assert _state(app) == (1, 0, 0)  # stored, so that the repeat Stripe sends is known
    assert deliver(client, stripe_shop.shop.id, body).get_json()["duplicate"] is True


@pytest.mark.inline_recording
def test_events_we_do_not_handle_are_acknowledged(app, client, stripe_shop):
    event = wrap("customer.created", {"id": "cus_1", "object": "customer"})
    response = deliver(client, stripe_shop.shop.id, event)
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    assert deliver(client, stripe_shop.shop.id, event).get_json()["duplicate"] is True


def test_absurd_amounts_in_a_signed_event_do_not_break_anything(client, stripe_shop):
    quote = quote_for(client, stripe_shop)
    event = payment_intent_event(protected_metadata(quote), amount=10**30)
    assert deliver(client, stripe_shop.shop.id, event).status_code == 200
    assert protections(client, stripe_shop)[0]["status"] == "active"
    refund = charge_refunded_event("pi_test_1", 10**30, 10**30)
    assert deliver(client, stripe_shop.shop.id, refund).status_code == 200
