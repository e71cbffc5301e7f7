"""Retrying a failed job by hand: the jobs service's primitive, and the retry of each kind through its subject."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.domain.ids import new_id
from plugin.errors import ConflictError, NotFoundError
from plugin.extensions import db
from plugin.models import Claim, Job, Payment, Policy, ShopSecret, utcnow
from plugin.services import jobs
from plugin.services.job_retries import NotRetryableError, SupersededJobError, can_retry, retry_job
from tests.list_helpers import add_job, add_protection, add_shipment, at


def test_retry_failed_queues_a_failed_job_again_now(app, shop):
    job_id = add_job(app, shop.shop.id, "send_email", "clm_a", at(0), last_error="550 no such mailbox")
    now = utcnow()
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.lease_token, job.leased_until = "stale", at(1)
        jobs.retry_failed(job, now)
        db.session.commit()
        job = db.session.get(Job, job_id)
        assert (job.status, job.attempts, job.finished_at, job.lease_token, job.leased_until) == (
            "queued", 0, None, None, None,
        )  # fmt: skip
        assert job.next_attempt_at == now and job.last_error == "550 no such mailbox"
        leased = jobs.lease_due(now + timedelta(seconds=1), limit=5, lease=timedelta(minutes=5), token="w")
        assert [job.id for job in leased] == [job_id]


@pytest.mark.parametrize("status", ["queued", "retrying", "succeeded", "cancelled"])
def test_only_a_failed_job_is_retried(app, shop, status):
    job_id = add_job(app, shop.shop.id, "send_email", "clm_a", at(0), status=status)
    with app.app_context():
        job = db.session.get(Job, job_id)
        with pytest.raises(jobs.JobNotFailedError):
            jobs.retry_failed(job, utcnow())
        assert not can_retry(job)


def test_supersede_closes_only_a_failed_job(app, shop):
    failed = add_job(app, shop.shop.id, "bind_policy", "pol_a", at(0), key="k-failed")
    queued = add_job(app, shop.shop.id, "bind_policy", "pol_b", at(0), key="k-queued", status="queued")
    with app.app_context():
        jobs.supersede("k-failed", utcnow())
        jobs.supersede("k-queued", utcnow())
        jobs.supersede("k-missing", utcnow())
        db.session.commit()
        assert db.session.get(Job, failed).status == "cancelled"
        assert db.session.get(Job, queued).status == "queued"


def test_make_due_still_queues_a_failed_job_again(app, shop):
    job_id = add_job(app, shop.shop.id, "bind_policy", "pol_a", at(0), key="sp-pol_a-0")
    with app.app_context():
        assert jobs.make_due("sp-pol_a-0", utcnow()) is not None
        db.session.commit()
        assert db.session.get(Job, job_id).status == "queued"


def test_another_shops_job_is_not_found(app, shop, new_shop):
    theirs = add_job(app, new_shop("Other House").shop.id, "send_email", "clm_a", at(0))
    with app.app_context():
        with pytest.raises(NotFoundError):
            retry_job(shop.shop.id, theirs, utcnow())
        assert db.session.get(Job, theirs).status == "failed"


def test_an_unknown_kind_is_not_retried(app, shop):
    job_id = add_job(app, shop.shop.id, "mystery", "x", at(0))
    with app.app_context():
        with pytest.raises(NotRetryableError):
            retry_job(shop.shop.id, job_id, utcnow())
        assert db.session.get(Job, job_id).status == "failed"


def test_a_failed_cancellation_is_asked_again(app, shop):
    _shipment, policy_id = add_shipment(app, shop.shop.id, "1001", at(0))
    job_id = add_job(app, shop.shop.id, "cancel_policy", policy_id, at(1), key=f"cancel-{policy_id}")
    with app.app_context():
        db.session.get(Policy, policy_id).cancel_status = "failed"
        db.session.commit()
        retry_job(shop.shop.id, job_id, utcnow())
        assert db.session.get(Policy, policy_id).cancel_status == "requested"
        assert db.session.get(Job, job_id).status == "queued"


def test_a_cancellation_of_a_policy_no_longer_bound_is_not_retried(app, shop):
    _shipment, policy_id = add_shipment(app, shop.shop.id, "1001", at(0), policy_status="cancelled")
    job_id = add_job(app, shop.shop.id, "cancel_policy", policy_id, at(1), key=f"cancel-{policy_id}")
    with app.app_context(), pytest.raises(NotRetryableError):
        retry_job(shop.shop.id, job_id, utcnow())


def _claim(app: Flask, shop_id: str, **fields) -> str:
    shipment_id, policy_id = add_shipment(app, shop_id, "1001", at(0))
    protection_id = add_protection(app, shop_id, "1001", at(0), payment_intent="pi_claim")
    with app.app_context():
        payment_id = db.session.scalars(select(Payment.id).where(Payment.payment_intent == "pi_claim")).one()
        claim = Claim(
            id=new_id("clm"),
            shop_id=shop_id,
            order_id="1001",
            shipment_id=shipment_id,
            protection_id=protection_id,
            payment_id=payment_id,
            policy_id=policy_id,
            type="lost",
            status="approved",
            source="api",
            currency="USD",
            amount=50000,
            covered_amount=50000,
            approved_amount=50000,
            **fields,
        )
        db.session.add(claim)
        db.session.commit()
        return claim.id


def test_an_insurer_claim_handed_to_the_merchant_is_filed_again(app, shop):
    claim_id = _claim(app, shop.shop.id, recovery_status="manual", recovery_error="insurer down")
    job_id = add_job(app, shop.shop.id, "file_insurer_claim", claim_id, at(1), key=f"claim-recovery:{claim_id}")
    with app.app_context():
        retry_job(shop.shop.id, job_id, utcnow())
        claim = db.session.get(Claim, claim_id)
        assert (claim.recovery_status, claim.recovery_error) == ("pending", None)
        assert db.session.get(Job, job_id).status == "queued"


def test_an_insurer_claim_recorded_meanwhile_is_not_filed_again(app, shop):
    claim_id = _claim(app, shop.shop.id, recovery_status="paid")
    job_id = add_job(app, shop.shop.id, "file_insurer_claim", claim_id, at(1), key=f"claim-recovery:{claim_id}")
    with app.app_context():
        with pytest.raises(ConflictError):
            retry_job(shop.shop.id, job_id, utcnow())
        assert db.session.get(Job, job_id).status == "failed"
        assert db.session.get(Claim, claim_id).recovery_status == "paid"


def test_a_failed_refund_is_asked_again_under_the_next_generation(app, shop):
    claim_id = _claim(app, shop.shop.id, resolution="refund", refund_status="failed", refund_error="stripe_refused")
    job_id = add_job(app, shop.shop.id, "refund_claim", claim_id, at(1), key=f"claim-refund:{claim_id}:0")
    with app.app_context():
        db.session.add(ShopSecret(shop_id=shop.shop.id, name="stripe.api_key", ciphertext="sealed"))
        db.session.commit()
        retry_job(shop.shop.id, job_id, utcnow())
        claim = db.session.get(Claim, claim_id)
        assert (claim.refund_generation, claim.refund_status) == (1, "pending")
        assert db.session.get(Job, job_id).status == "cancelled"
        new = db.session.scalars(select(Job).where(Job.idempotency_key == f"claim-refund:{claim_id}:1")).one()
        assert new.status == "queued"
        with pytest.raises(jobs.JobNotFailedError):
            retry_job(shop.shop.id, job_id, utcnow())
        # A failed job of an earlier generation left from before retries closed them: still not run again.
        db.session.get(Job, job_id).status = "failed"
        db.session.commit()
        with pytest.raises(SupersededJobError):
            retry_job(shop.shop.id, job_id, utcnow())
        assert db.session.get(Job, job_id).status == "failed"


def test_a_refund_stripe_cannot_make_is_not_retried(app, shop):
    claim_id = _claim(app, shop.shop.id, resolution="refund", refund_status="failed")
    job_id = add_job(app, shop.shop.id, "refund_claim", claim_id, at(1), key=f"claim-refund:{claim_id}:0")
    with app.app_context():
        with pytest.raises(ConflictError) as raised:
            retry_job(shop.shop.id, job_id, utcnow())
        assert raised.value.code == "refund_unavailable"  # no Stripe key in the settings
        assert db.session.get(Job, job_id).status == "failed"
        assert db.session.get(Claim, claim_id).refund_generation == 0
