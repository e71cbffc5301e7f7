"""Settling approved claims: the Stripe refund and the recovery from the insurer, each queued as a job."""

from __future__ import annotations

from datetime import datetime

from plugin.extensions import db
from plugin.models import Claim, Payment, Policy, Shop, ShopSecret
from plugin.services import jobs

REFUND_CLAIM = "refund_claim"
FILE_INSURER_CLAIM = "file_insurer_claim"
REFUND_MAX_ATTEMPTS = 8


def refund_key(claim: Claim) -> str:
    """The refund's idempotency key, at Stripe and in the job queue: a retry or a second approval reuses it."""
    return f"claim-refund:{claim.id}:{claim.refund_generation}"


def recovery_key(claim: Claim) -> str:
    """The insurer claim's idempotency key."""
    return f"claim-recovery:{claim.id}"


def can_refund(shop: Shop, payment: Payment | None) -> bool:
    """Whether the payment can be refunded through the merchant's Stripe account."""
    if payment is None or not (payment.payment_intent or payment.charge_id):
        return False
    return db.session.get(ShopSecret, (shop.id, "stripe.api_key")) is not None


def enqueue_refund(claim: Claim, now: datetime) -> None:
    """Queue the Stripe refund of an approved claim, in the caller's transaction."""
    claim.refund_status = "pending"
    claim.refund_error = None
    jobs.enqueue(
        shop_id=claim.shop_id,
        kind=REFUND_CLAIM,
        subject=claim.id,
        idempotency_key=refund_key(claim),
        now=now,
        max_attempts=REFUND_MAX_ATTEMPTS,
    )


def start_recovery(claim: Claim, now: datetime) -> None:
    """Claim the approved amount back from the parcel's insurer, or draw on the merchant's reserve."""
    policy = db.session.get(Policy, claim.policy_id) if claim.policy_id else None
    if policy is None or policy.status != "bound":
        return
    claim.recovery_provider = policy.provider
    if policy.provider == "self_insured":
        claim.recovery_status = "reserve"
        claim.recovery_amount = claim.approved_amount
        return
    claim.recovery_status = "pending"
    jobs.enqueue(
        shop_id=claim.shop_id,
        kind=FILE_INSURER_CLAIM,
        subject=claim.id,
        idempotency_key=recovery_key(claim),
        now=now,
    )


def cancel_refund(claim: Claim, now: datetime) -> None:
    """Call off a refund that is still only queued (the merchant paid another way)."""
    jobs.cancel_jobs(REFUND_CLAIM, claim.id, now)
    if claim.refund_status == "pending":
        claim.refund_status = "cancelled"
