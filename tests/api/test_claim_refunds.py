"""Paying approved claims through Stripe's Refunds API (a Stripe double on loopback) and the refund webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Job, Payment, Policy, utcnow
from plugin.worker import Worker
from tests.claim_helpers import claim, settings, shipped_order
from tests.conftest import bearer
from tests.stripe_double import StripeDouble, stripe_double
from tests.stripe_helpers import charge_refunded_event, configure_stripe, deliver, object_fixture, protections, wrap

API_KEY = "sk_test_merchant_key_for_refunds"


@pytest.fixture()
def double(app) -> Iterator[StripeDouble]:
    with stripe_double() as fake:
        app.config["STRIPE_API_BASE"] = fake.url
        yield fake
    app.config["STRIPE_API_BASE"] = "https://api.stripe.com"


def approved_claim(app, client, shop, amount: int | None = None) -> dict:
    """A lost-parcel claim on order 1001 (its policy bound by the sandbox first), approved for a refund."""
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key=API_KEY)
    Worker(app).drain()  # the parcel's policy is bought
    claim_id = claim(client, shop).get_json()["id"]
    body = {"resolution": "refund"} | ({"amount": amount} if amount is not None else {})
    response = client.post(f"/api/v1/claims/{claim_id}/approve", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def get(client, shop, claim_id: str) -> dict:
    return client.get(f"/api/v1/claims/{claim_id}", headers=bearer(shop.keys.secret_key)).get_json()


def refund_event(event_type: str, refund: dict, **changes) -> dict:
    obj = object_fixture("refund")
    obj.update({key: refund[key] for key in ("id", "amount", "payment_intent", "metadata")})
    obj.update(changes)
    return wrap(event_type, obj)


def test_a_lost_answer_is_repeated_with_the_same_key_and_refunds_once(app, client, shop, double):
    seen_while_sending: list[tuple[int, str]] = []

    def mark_paid_meanwhile(_request) -> None:
        # The merchant tries to record a bank transfer while the refund may be in flight.
        answer = app.test_client().post(
            f"/api/v1/claims/{approved['id']}/mark-paid",
            json={"method": "bank_transfer"},
            headers=bearer(shop.keys.secret_key),
        )
        seen_while_sending.append((answer.status_code, answer.get_json()["error"]["code"]))

    approved = approved_claim(app, client, shop)
    assert approved["refund"] == {"id": None, "status": "pending", "error": None}
    again = client.post(
        f"/api/v1/claims/{approved['id']}/approve", json={"resolution": "refund"}, headers=bearer(shop.keys.secret_key)
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "claim_already_decided"

    double.drop_answers = 1
    double.on_request = mark_paid_meanwhile
    stats = Worker(app).drain()
    assert stats.ok, stats.failures

    # The answer to the first request was lost; the repeat carried the same key and got Stripe's replay.
    key = f"claim-refund:{approved['id']}:0"
    assert [r.idempotency_key for r in double.requests] == [key, key]
    assert len(double.refunds) == 1 and double.refunded("pi_1001") == 50000
    [refund] = double.refunds.values()
    assert refund["metadata"] == {
        "claim_id": approved["id"],
        "order_id": "1001",
        "claim_refund_key": key,
        "sp_claim": approved["id"],
    }
    assert double.requests[0].form["payment_intent"] == "pi_1001"
    assert double.requests[0].authorization == f"Bearer {API_KEY}"
    assert seen_while_sending[0] == (409, "refund_in_progress")

    paid = get(client, shop, approved["id"])
    assert (paid["status"], paid["paid_method"], paid["paid_reference"]) == ("paid", "stripe_refund", refund["id"])
    assert paid["refund"] == {"id": refund["id"], "status": "succeeded", "error": None}
    # Running the worker again sends nothing more.
    Worker(app).drain()
    assert len(double.requests) == 2


def test_stripe_answers_500_twice_then_the_job_backs_off_without_paying_twice(app, client, shop, double):
    approved = approved_claim(app, client, shop)
    double.fail_with = (500, {"error": {"type": "api_error", "message": "boom"}})
    stats = Worker(app, jitter=lambda: 0.5).drain()
    assert stats.jobs_retrying == 1
    assert len(double.requests) == 3  # one call and two repeats at once: Stripe's client adds none
    body = get(client, shop, approved["id"])
    assert (body["status"], body["refund"]["status"], body["refund"]["error"]) == (
        "approved",
        "sending",
        "stripe_unreachable",
    )
    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.kind == "refund_claim")).one()
        assert job.status == "retrying"
        assert timedelta(seconds=599) < job.next_attempt_at - utcnow() <= timedelta(seconds=600)
    double.fail_with = None
    later = utcnow() + timedelta(seconds=601)
    assert Worker(app, clock=lambda: later).drain().ok
    assert get(client, shop, approved["id"])["status"] == "paid"
    assert len(double.refunds) == 1


def test_a_pending_refund_is_paid_when_the_webhook_says_succeeded(app, client, shop, double):
    double.refund_status = "pending"
    approved = approved_claim(app, client, shop)
    assert Worker(app).drain().ok
    body = get(client, shop, approved["id"])
    [refund] = double.refunds.values()
    assert (body["status"], body["refund"]["status"], body["refund"]["id"]) == ("approved", "pending", refund["id"])
    response = deliver(client, shop.shop.id, refund_event("refund.updated", refund, status="succeeded"))
    assert response.status_code == 200
    paid = get(client, shop, approved["id"])
    assert (paid["status"], paid["paid_reference"], paid["refund"]["status"]) == ("paid", refund["id"], "succeeded")


def test_refund_failed_puts_the_claim_back_to_approved_with_the_reason(app, client, shop, double):
    approved = approved_claim(app, client, shop)
    Worker(app).drain()
    [refund] = double.refunds.values()
    assert get(client, shop, approved["id"])["status"] == "paid"
    event = refund_event("refund.failed", refund, status="failed", failure_reason="expired_or_canceled_card")
    assert deliver(client, shop.shop.id, event).status_code == 200
    body = get(client, shop, approved["id"])
    assert (body["status"], body["refund"]["status"], body["paid_at"]) == ("approved", "failed", None)
    assert body["refund"]["error"] == "refund_failed: expired_or_canceled_card"
    assert (
        body["reasons"][-1]["code"] == "refund_failed" and "expired_or_canceled_card" in body["reasons"][-1]["message"]
    )
    # A late `succeeded` for the same refund does not undo the failure.
    deliver(client, shop.shop.id, refund_event("refund.updated", refund, status="succeeded"))
    assert get(client, shop, approved["id"])["status"] == "approved"


def test_a_refund_above_the_balance_fails_at_once_and_can_be_retried(app, client, shop, double):
    double.charges["pi_1001"] = 30000
    approved = approved_claim(app, client, shop, amount=40000)
    stats = Worker(app).drain()
    assert stats.jobs_failed == 1 and len(double.requests) == 1
    body = get(client, shop, approved["id"])
    assert (body["status"], body["refund"]["status"], body["refund"]["error"]) == (
        "approved",
        "failed",
        "refund_exceeds_balance",
    )
    assert body["reasons"][-1]["code"] == "refund_failed"
    headers = bearer(shop.keys.secret_key)
    # Not a refund that is still open: a second approval stays a 409, a retry of a paid one too.
    assert (
        client.post(
            f"/api/v1/claims/{approved['id']}/approve", json={"resolution": "refund"}, headers=headers
        ).status_code
        == 409
    )
    double.charges["pi_1001"] = 51000
    retried = client.post(f"/api/v1/claims/{approved['id']}/retry-refund", headers=headers)
    assert retried.status_code == 202 and retried.get_json()["refund"]["status"] == "pending"
    assert Worker(app).drain().ok
    assert double.requests[-1].idempotency_key == f"claim-refund:{approved['id']}:1"
    assert get(client, shop, approved["id"])["status"] == "paid"
    again = client.post(f"/api/v1/claims/{approved['id']}/retry-refund", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "refund_not_failed"


def test_a_retry_adopts_an_earlier_refund_that_stands(app, client, shop, double):
    approved = approved_claim(app, client, shop)
    double.fail_with = (500, {"error": {"type": "api_error", "message": "down"}})
    with app.app_context():  # every attempt lost: the job gives up and the refund shows failed
        job = db.session.scalars(select(Job).where(Job.kind == "refund_claim")).one()
        job.max_attempts = 1
        db.session.commit()
    Worker(app).drain()
    assert get(client, shop, approved["id"])["refund"]["status"] == "failed"
    # …but Stripe had made it after all (say the last answer was lost): the retry finds it, pays nothing more.
    double.fail_with = None
    double.refunds["earlier"] = {
        "id": "re_made_after_all",
        "object": "refund",
        "amount": 50000,
        "currency": "usd",
        "payment_intent": "pi_1001",
        "status": "succeeded",
        "metadata": {"claim_id": approved["id"]},
        "failure_reason": None,
    }
    client.post(f"/api/v1/claims/{approved['id']}/retry-refund", headers=bearer(shop.keys.secret_key))
    posts_before = sum(1 for r in double.requests)
    assert Worker(app).drain().ok
    assert sum(1 for r in double.requests) == posts_before  # only a GET of the refunds list, no new refund
    body = get(client, shop, approved["id"])
    assert (body["status"], body["paid_reference"]) == ("paid", "re_made_after_all")


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("bad_key", "stripe_auth_failed"),
        ("no_key", "stripe_key_missing"),
    ],
)
def test_a_refused_key_fails_the_refund_with_a_clear_error(app, client, shop, double, setup, code):
    approved = approved_claim(app, client, shop)
    if setup == "bad_key":
        double.fail_with = (401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
    else:
        patch = {"stripe": {"api_key": None}}
        assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200
    assert Worker(app).drain().jobs_failed == 1
    body = get(client, shop, approved["id"])
    assert (body["status"], body["refund"]["status"], body["refund"]["error"]) == ("approved", "failed", code)


def test_a_full_amount_claim_refund_does_not_cancel_the_cover(app, client, shop, double):
    approved = approved_claim(app, client, shop)
    with app.app_context():  # an order whose whole total is the claimed parcel
        payment = db.session.scalars(select(Payment).where(Payment.payment_intent == "pi_1001")).one()
        payment.amount = 50000
        db.session.commit()
    double.charges["pi_1001"] = 50000
    assert Worker(app).drain().ok
    [refund] = double.refunds.values()
    deliver(client, shop.shop.id, refund_event("refund.created", refund, status="succeeded"))
    deliver(client, shop.shop.id, charge_refunded_event("pi_1001", 50000, 50000))
    [protection] = protections(client, shop)
    assert protection["status"] == "active"
    with app.app_context():
        policy = db.session.scalars(select(Policy)).one()
        assert (policy.status, policy.cancel_requested_at) == ("bound", None)
    assert get(client, shop, approved["id"])["status"] == "paid"


def test_an_order_refund_beyond_the_claim_voids_the_protection_but_keeps_the_claimed_policy(app, client, shop, double):
    approved = approved_claim(app, client, shop)
    Worker(app).drain()
    [refund] = double.refunds.values()
    deliver(client, shop.shop.id, refund_event("refund.created", refund, status="succeeded"))
    other = object_fixture("refund")
    other.update(id="re_merchant_rest", payment_intent="pi_1001", amount=1000, status="succeeded", metadata={})
    deliver(client, shop.shop.id, wrap("refund.created", other))
    [protection] = protections(client, shop)
    assert protection["status"] == "voided"  # the merchant refunded the rest of the order
    with app.app_context():
        policy = db.session.scalars(select(Policy)).one()
        assert (policy.status, policy.cancel_requested_at) == ("bound", None)  # its loss is claimed
    assert get(client, shop, approved["id"])["status"] == "paid"


def test_auto_approved_claims_are_refunded_by_the_worker(app, client, shop, double):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key=API_KEY)
    settings(client, shop, auto_approve_up_to=50000)
    body = claim(client, shop).get_json()
    assert body["status"] == "approved"
    assert Worker(app).drain().ok
    assert get(client, shop, body["id"])["status"] == "paid" and len(double.refunds) == 1
