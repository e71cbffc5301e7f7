"""Job handlers for approved claims: refund the shopper through Stripe, file the claim with the insurer, follow it.

The refund goes through Stripe's Refunds API on the original PaymentIntent with the claim's refund key as
Stripe's `Idempotency-Key`. Stripe's own client does not retry here (max_network_retries=0): the one place
that repeats a call whose answer was lost is `with_lost_answer_retries` (at once, twice, the same key), so a
lost answer costs three requests at most per attempt, never nine, and the count is the same as every other job's.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from plugin.domain.jobs import JobStatus
from plugin.extensions import db
from plugin.insurers.base import ClaimFile, ClaimFiling, ClaimsNotSupportedError, FiledClaim, InsurerError
from plugin.jobs.base import FailJob, JobError, JobKind, JobView, RetryJob, with_lost_answer_retries
from plugin.jobs.policies import _insurer, _insurer_call
from plugin.models import Claim, Payment, Policy, Shipment, Shop
from plugin.payments.stripe_api import StripeApi, StripeApiError, StripeRefundAnswer
from plugin.services import claim_events, claim_payouts
from plugin.services.claim_payouts import (
    FILE_INSURER_CLAIM,
    POLL_INSURER_CLAIM,
    RECOVERY_FINAL,
    REFUND_CLAIM,
    REFUND_EXCEEDS_BALANCE,
    REFUND_MAX_ATTEMPTS,
    locked_claim,
    recovery_key,
    refund_key,
)
from plugin.services.evidence import evidence_of_claim, read_evidence
from plugin.services.settings import read_secrets

log = logging.getLogger(__name__)

# Stripe's codes for a refund larger than what is left of the charge.
_EXCEEDS_BALANCE_CODES = frozenset({"amount_too_large", "charge_already_refunded"})
# Refunds of an earlier generation that still stand (a retry adopts one rather than paying twice).
_STANDING = frozenset({"pending", "requires_action", "succeeded"})


class RefundRefusedError(FailJob):
    """A refund Stripe (or the settings) will not allow as asked: `code` goes on the claim's refund_error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.reason = message


def _refund_due(claim: Claim | None, job: JobView) -> bool:
    return (
        claim is not None
        and claim.status == "approved"
        and claim.resolution == "refund"
        and refund_key(claim) == job.idempotency_key
        and claim.refund_id is None
        and claim.refund_status in ("pending", "sending")
    )


def _refund_client(ctx: Any, shop: Shop) -> StripeApi:
    key = read_secrets(shop, ("stripe.api_key",), ctx.app.extensions["secret_box"]).get("stripe.api_key")
    if not key:
        raise RefundRefusedError("stripe_key_missing", "the shop has no stripe.api_key in its settings")
    return StripeApi(key, ctx.app.config["STRIPE_API_BASE"], max_network_retries=0)


def refund_claim(job: JobView, ctx: Any) -> None:
    """Refund the claim's approved amount on the original payment; record Stripe's answer."""
    claim = locked_claim(job.subject)
    if claim is None or not _refund_due(claim, job):
        ctx.finish(job)  # paid another way, superseded by a retry, or recorded already (by the webhook)
        return
    shop = db.session.get(Shop, claim.shop_id)
    payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
    if shop is None or payment is None or not (payment.payment_intent or payment.charge_id):
        raise RefundRefusedError("payment_not_refundable", "no PaymentIntent or charge is on record for the order")
    api = _refund_client(ctx, shop)
    intent, charge = payment.payment_intent, payment.charge_id
    amount, key, generation = int(claim.approved_amount or 0), refund_key(claim), claim.refund_generation
    # sp_claim (or sp_return for a return's label): the plugin's own refund, which never voids a protection.
    metadata = {"claim_id": claim.id, "order_id": claim.order_id, "claim_refund_key": key, "sp_claim": claim.id}
    if claim.return_id is not None:
        metadata["sp_return"] = claim.return_id
    claim_id = claim.id
    claim.refund_status = "sending"  # from here mark-paid is refused: the refund may exist at Stripe
    db.session.commit()

    def attempt() -> StripeRefundAnswer:
        if generation > 0:
            # A retry after a failure: a refund of an earlier generation that stands after all is adopted.
            for refund in api.refunds_of(payment_intent=intent, charge=charge):
                if (refund.metadata or {}).get("claim_id") == claim_id and refund.status in _STANDING:
                    return refund
        return api.create_refund(
            payment_intent=intent, charge=charge, amount=amount, idempotency_key=key, metadata=metadata
        )

    try:
        answer = with_lost_answer_retries(attempt, StripeApiError, lambda exc: exc.answer_lost)
    except StripeApiError as exc:
        if exc.code in _EXCEEDS_BALANCE_CODES:
            raise RefundRefusedError(
                REFUND_EXCEEDS_BALANCE, f"the refund is larger than what is left of the charge ({exc.code})"
            ) from exc
        if exc.auth:
            raise RefundRefusedError("stripe_auth_failed", "Stripe refused the shop's stripe.api_key") from exc
        if exc.retryable:
            raise RetryJob(f"stripe_unreachable: {exc}") from exc
        raise RefundRefusedError("stripe_refused", str(exc)) from exc
    ctx.finish(job, lambda: _record_refund(claim_id, answer, ctx.now()))


def _record_refund(claim_id: str, answer: StripeRefundAnswer, now: datetime) -> None:
    claim = locked_claim(claim_id)
    if claim is None:
        return
    claim_payouts.apply_refund_state(claim, answer.id, answer.status, answer.failure_reason, now)
    log.info("claim refund made", extra={"claim": claim_id, "refund": answer.id, "status": answer.status})


def refund_failed(
    job: JobView, error: JobError | None, message: str, status: JobStatus, next_at: datetime | None, ctx: Any
) -> None:
    """A refund attempt failed: a refusal (or the last attempt) puts the claim's refund at `failed`, shown."""
    claim = locked_claim(job.subject)
    if claim is None or refund_key(claim) != job.idempotency_key or claim.refund_id is not None:
        return
    code = error.code if isinstance(error, RefundRefusedError) else message.split(":", 1)[0][:60]
    claim.refund_error = code if error is not None else "unexpected_error"
    if status == JobStatus.FAILED:
        claim.refund_status = "failed"
        reason = error.reason if isinstance(error, RefundRefusedError) else message
        claim.reasons = [
            *(claim.reasons or []),
            {"code": "refund_failed", "message": f"The Stripe refund failed: {reason[:300]}"},
        ]
        claim_events.claim_changed(claim, "claim.updated", ctx.now())
    # Retrying: refund_status stays `sending`, the refund may exist; the same key makes the retry safe.
    log.warning("claim refund failed", extra={"claim": claim.id, "status": str(status), "error": message})


# ---- recovery from the insurer -----------------------------------------------------------------------------


def _filing(claim: Claim, policy: Policy) -> ClaimFiling:
    shipment = db.session.get(Shipment, claim.shipment_id)
    evidence = evidence_of_claim(claim)
    files = tuple(
        ClaimFile(row.filename or f"{row.id}.{row.kind}", row.content_type, read_evidence(row)) for row in evidence
    )
    return ClaimFiling(
        reference=claim.id,
        policy_reference=policy.provider_reference or policy.certificate or policy.id,
        certificate=policy.certificate,
        claim_type=claim.type,
        amount=int(claim.approved_amount or claim.amount),
        currency=claim.currency,
        order_id=claim.order_id,
        description=claim.description,
        carrier=shipment.carrier if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        shipped_at=shipment.shipped_at if shipment else None,
        contact_email=claim.email,
        claim_url=policy.claim_url,
        files=files,
    )


def _claim_and_policy(job: JobView) -> tuple[Claim, Policy, Shop] | None:
    claim = locked_claim(job.subject)
    policy = db.session.get(Policy, claim.policy_id) if claim is not None and claim.policy_id else None
    shop = db.session.get(Shop, claim.shop_id) if claim is not None else None
    if claim is None or policy is None or shop is None:
        return None
    return claim, policy, shop


def file_insurer_claim(job: JobView, ctx: Any) -> None:
    """File the claim with the parcel's insurer, once (the recovery key); follow it up by polling."""
    found = _claim_and_policy(job)
    if found is None or found[0].recovery_status != "pending" or recovery_key(found[0]) != job.idempotency_key:
        ctx.finish(job)  # recorded by the merchant meanwhile, or nothing to recover
        return
    claim, policy, shop = found
    try:
        insurer = _insurer(ctx, shop, policy.provider)
    except InsurerError as exc:
        raise FailJob(exc.message) from exc
    filing = _filing(claim, policy)
    db.session.commit()  # no transaction stays open while the insurer is asked
    try:
        filed = _insurer_call(lambda: insurer.file_claim(filing, job.idempotency_key))
    except FailJob as exc:
        if not isinstance(exc.__cause__, ClaimsNotSupportedError):
            raise
        filed = FiledClaim(status="manual", reference=policy.certificate, link=policy.claim_url)
    ctx.finish(job, lambda: _record_filed(job.subject, filed, ctx.now()))


def _record_filed(claim_id: str, filed: FiledClaim, now: datetime) -> None:
    claim = locked_claim(claim_id)
    if claim is None or claim.recovery_status != "pending":
        return
    _apply_filed(claim, filed)
    if filed.status not in RECOVERY_FINAL and filed.status != "manual":
        claim_payouts.enqueue_recovery_poll(claim, 1, now)
    log.info("insurer claim filed", extra={"claim": claim_id, "status": filed.status, "reference": filed.reference})


def _apply_filed(claim: Claim, filed: FiledClaim) -> None:
    claim.recovery_status = filed.status
    claim.recovery_reference = filed.reference or claim.recovery_reference
    claim.recovery_link = filed.link or claim.recovery_link
    if filed.amount is not None:
        claim.recovery_amount = filed.amount
    elif claim.recovery_amount is None:
        claim.recovery_amount = claim.approved_amount
    claim.recovery_error = None


def recovery_failed(
    job: JobView, error: JobError | None, message: str, status: JobStatus, next_at: datetime | None, ctx: Any
) -> None:
    """The insurer could not be asked: shown on the claim; the last failure hands the claim to the merchant."""
    claim = locked_claim(job.subject)
    if claim is None:
        return
    claim.recovery_error = message[:1000]
    if status == JobStatus.FAILED and job.kind == FILE_INSURER_CLAIM and claim.recovery_status == "pending":
        claim.recovery_status = "manual"  # file it by hand (the dossier) and record the outcome


def poll_insurer_claim(job: JobView, ctx: Any) -> None:
    """Ask the insurer where a filed claim stands; ask again later until it is paid or rejected (bounded)."""
    found = _claim_and_policy(job)
    if found is None:
        ctx.finish(job)
        return
    claim, policy, shop = found
    reference = claim.recovery_reference
    if claim.recovery_status in RECOVERY_FINAL or claim.recovery_status == "manual" or not reference:
        ctx.finish(job)
        return
    try:
        insurer = _insurer(ctx, shop, policy.provider)
    except InsurerError as exc:
        raise FailJob(exc.message) from exc
    db.session.commit()
    filed = _insurer_call(lambda: insurer.claim_status(reference))
    poll = int(job.payload.get("poll") or 1)
    ctx.finish(job, lambda: _record_status(job.subject, filed, poll, ctx.now()))


def _record_status(claim_id: str, filed: FiledClaim, poll: int, now: datetime) -> None:
    claim = locked_claim(claim_id)
    if claim is None or claim.recovery_status in RECOVERY_FINAL:
        return
    _apply_filed(claim, filed)
    if filed.status not in RECOVERY_FINAL:
        claim_payouts.enqueue_recovery_poll(claim, poll + 1, now)


KINDS = (
    JobKind(REFUND_CLAIM, refund_claim, REFUND_MAX_ATTEMPTS, refund_failed),
    JobKind(FILE_INSURER_CLAIM, file_insurer_claim, 8, recovery_failed),
    JobKind(POLL_INSURER_CLAIM, poll_insurer_claim, 3, recovery_failed),
)
