"""Settling approved claims: the Stripe refund and the recovery from the insurer, each queued as a job.

A claim's `refund_status`: `pending` (queued, or Stripe said pending: `refund_id` tells which) → `sending` (the
call may be in flight: mark-paid is refused) → Stripe's own `pending` | `requires_action` | `succeeded` |
`failed`; `cancelled` when the merchant paid another way first. Its `recovery_status`: `pending` (the insurer
claim is queued) → `filed` | `in_review` | `approved` | `paid` | `rejected`, or `manual` (the insurer has no
claims API: the merchant files through its portal and records the outcome), or `reserve` (self-insurance).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from plugin.domain.claims import ClaimStatus, Resolution, claim_transition
from plugin.errors import ConflictError, NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import Claim, Payment, Policy, Shop, ShopSecret
from plugin.services import claim_events, jobs

log = logging.getLogger(__name__)

REFUND_CLAIM = "refund_claim"
FILE_INSURER_CLAIM = "file_insurer_claim"
POLL_INSURER_CLAIM = "poll_insurer_claim"
REFUND_MAX_ATTEMPTS = 8
# The insurer claim's status is asked after an hour, then at doubling intervals up to a day, at most this
# many times (about three weeks in all); after that the merchant records the outcome by hand.
RECOVERY_POLL_FIRST = timedelta(hours=1)
RECOVERY_POLL_CAP = timedelta(days=1)
RECOVERY_MAX_POLLS = 24
RECOVERY_STATUSES = ("filed", "in_review", "approved", "paid", "rejected")
RECOVERY_FINAL = frozenset({"paid", "rejected"})
REFUND_EXCEEDS_BALANCE = "refund_exceeds_balance"
# Refund states in which the claim's money has gone (or is going) back through Stripe.
_MONEY_OUT = ("pending", "sending", "requires_action", "succeeded")
# Stripe's refund states only move forward: a late `pending` never undoes `succeeded`, nor anything `failed`.
_STRIPE_RANK = {"pending": 0, "requires_action": 1, "succeeded": 2, "failed": 3, "canceled": 3}


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


def locked_claim(claim_id: str, shop_id: str | None = None) -> Claim | None:
    """The claim, read afresh and held for the rest of the transaction: its row lock on PostgreSQL; on SQLite the
    database's write lock, taken before the read so that two decisions cannot both read the old status."""
    statement = select(Claim).where(Claim.id == claim_id)
    if shop_id is not None:
        statement = statement.where(Claim.shop_id == shop_id)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    else:
        db.session.execute(text("UPDATE claims SET updated_at = updated_at WHERE id = :id"), {"id": claim_id})
    return db.session.scalars(statement.execution_options(populate_existing=True)).first()


def _note(claim: Claim, code: str, message: str) -> None:
    claim.reasons = [*(claim.reasons or []), {"code": code, "message": message}]


def apply_refund_state(claim: Claim, refund_id: str, status: str, failure_reason: str | None, now: datetime) -> None:
    """Stripe's word on the claim's refund (the job's answer, or a webhook): paid, still pending, or failed."""
    current = _STRIPE_RANK.get(claim.refund_status or "", -1)
    if claim.refund_id == refund_id and _STRIPE_RANK.get(status, 0) < current:
        return  # an older state arriving late
    claim.refund_id = refund_id
    if status == "succeeded":
        claim.refund_status = "succeeded"
        claim.refund_error = None
        if claim.status == ClaimStatus.APPROVED:
            claim.status = claim_transition(claim.status, ClaimStatus.PAID)
            claim.paid_at = now
            claim.paid_method = "stripe_refund"
            claim.paid_reference = refund_id
            claim_events.claim_changed(claim, "claim.updated", now)
    elif status in ("failed", "canceled"):
        reason = failure_reason or status
        claim.refund_status = "failed"
        claim.refund_error = f"refund_failed: {reason}"[:1000]
        if claim.status == ClaimStatus.PAID and claim.paid_method == "stripe_refund":
            claim.status = claim_transition(claim.status, ClaimStatus.APPROVED)
            claim.paid_at = claim.paid_method = claim.paid_reference = None
        _note(
            claim,
            "refund_failed",
            f"Stripe could not refund the payment ({reason}); retry the refund or pay another way.",
        )
        claim_events.claim_changed(claim, "claim.updated", now)
    else:
        claim.refund_status = status[:30]


def refund_event(shop_id: str, payment: Payment, refund_id: str, refund_key_sent: str | None, status: str,
                 failure_reason: str | None, now: datetime) -> Claim | None:  # fmt: skip
    """A refund.* event about a refund the plugin made for a claim: the claim follows it (the caller commits).

    Matched by the refund id, else by the refund key our metadata carries (the webhook may come before the
    job has recorded Stripe's answer); a refund of an earlier, failed generation matches nothing."""
    claim = db.session.scalars(
        select(Claim).where(Claim.shop_id == shop_id, Claim.refund_id == refund_id).limit(1)
    ).first()
    if claim is None and refund_key_sent and refund_key_sent.startswith("claim-refund:"):
        claim_id = refund_key_sent.split(":")[1]
        candidate = db.session.get(Claim, claim_id)
        if (
            candidate is not None
            and candidate.shop_id == shop_id
            and candidate.payment_id == payment.id
            and refund_key(candidate) == refund_key_sent
            and candidate.refund_id is None
        ):
            claim = candidate
    if claim is None:
        return None
    claim = locked_claim(claim.id) or claim
    apply_refund_state(claim, refund_id, status, failure_reason, now)
    log.info("claim refund event", extra={"claim": claim.id, "refund": refund_id, "status": status})
    return claim


def refunded_for_claims(payment_id: int) -> int:
    """What this payment's claims refunded (or are refunding) through Stripe: not the order being refunded."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Claim.approved_amount), 0)).where(
            Claim.payment_id == payment_id,
            Claim.resolution == Resolution.REFUND.value,
            Claim.refund_status.in_(_MONEY_OUT),
        )
    )
    return int(total or 0)


def claimed_policy_ids(policy_ids: list[str]) -> set[str]:
    """Which of these policies cover a parcel with a claim that was not denied (their cover must stay)."""
    if not policy_ids:
        return set()
    return set(
        db.session.scalars(
            select(Claim.policy_id).where(Claim.policy_id.in_(policy_ids), Claim.status != ClaimStatus.DENIED.value)
        )
    )


class RefundNotRetryableError(ConflictError):
    """Only a refund that failed can be asked again."""

    code = "refund_not_failed"


def retry_refund(shop_id: str, claim_id: str, now: datetime) -> Claim:
    """Ask Stripe again for a refund that failed, under a new idempotency key (the next generation); commit."""
    claim = locked_claim(claim_id, shop_id)
    if claim is None:
        db.session.rollback()
        raise NotFoundError("No such claim.")
    if claim.status != ClaimStatus.APPROVED or claim.resolution != Resolution.REFUND or claim.refund_status != "failed":
        state = f"{claim.status}, refund {claim.refund_status or 'none'}"
        db.session.rollback()
        raise RefundNotRetryableError(f"Only an approved claim whose refund failed can be refunded again ({state}).")
    shop = db.session.get(Shop, shop_id)
    payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
    if shop is None or not can_refund(shop, payment):
        db.session.rollback()
        raise ConflictError(
            "This payment cannot be refunded through Stripe (no Stripe API key in settings, or no PaymentIntent "
            "on record); pay another way and record it with mark-paid.",
            code="refund_unavailable",
        )
    jobs.supersede(refund_key(claim), now)  # the refund of the next generation replaces the failed one
    claim.refund_generation += 1
    claim.refund_id = None
    enqueue_refund(claim, now)
    _note(claim, "refund_retried", "The merchant asked Stripe to refund again.")
    claim_events.claim_changed(claim, "claim.updated", now)
    db.session.commit()
    return claim


class RecoveryNotOpenError(ConflictError):
    """The claim has nothing to recover from an insurer."""

    code = "no_recovery"


def record_recovery(
    shop_id: str, claim_id: str, status: str, amount: int | None, reference: str | None, now: datetime
) -> Claim:
    """The merchant records what the insurer did with the claim (for insurers without a claims API); commit."""
    claim = locked_claim(claim_id, shop_id)
    if claim is None:
        db.session.rollback()
        raise NotFoundError("No such claim.")
    if claim.recovery_status is None or claim.recovery_status == "reserve":
        what = "self-insured: the reserve pays" if claim.recovery_status == "reserve" else "no insurer covers it"
        db.session.rollback()
        raise RecoveryNotOpenError(f"This claim has nothing to recover from an insurer ({what}).")
    if amount is not None and amount > claim.covered_amount:
        db.session.rollback()
        raise ValidationFailedError(fields={"amount": [f"At most the parcel's covered value, {claim.covered_amount}."]})
    claim.recovery_status = status
    if amount is not None:
        claim.recovery_amount = amount
    if reference is not None:
        claim.recovery_reference = reference
    claim.recovery_error = None
    jobs.cancel_jobs(POLL_INSURER_CLAIM, claim.id, now)
    _note(claim, "recovery_recorded", f"Insurer claim recorded as {status} by the merchant.")
    claim_events.claim_changed(claim, "claim.updated", now)
    db.session.commit()
    return claim


def enqueue_recovery_poll(claim: Claim, poll: int, now: datetime) -> None:
    """Ask the insurer about the claim again later (the caller commits); nothing after the last poll."""
    if poll > RECOVERY_MAX_POLLS:
        return
    delay = min(RECOVERY_POLL_FIRST * (2 ** min(poll - 1, 10)), RECOVERY_POLL_CAP)
    jobs.enqueue(
        shop_id=claim.shop_id,
        kind=POLL_INSURER_CLAIM,
        subject=claim.id,
        idempotency_key=f"claim-recovery-poll:{claim.id}:{poll}",
        now=now + delay,
        payload={"poll": poll},
    )


def cancel_refund(claim: Claim, now: datetime) -> None:
    """Call off a refund that is still only queued (the merchant paid another way)."""
    jobs.cancel_jobs(REFUND_CLAIM, claim.id, now)
    if claim.refund_status == "pending":
        claim.refund_status = "cancelled"
