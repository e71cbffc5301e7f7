"""Job handlers for policies: buy one from its insurer, or cancel a bought one."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select

from plugin.api.presenters import policy_body
from plugin.domain.jobs import JobStatus
from plugin.domain.policies import (
    MAX_ATTEMPTS,
    MAX_CANCEL_ATTEMPTS,
    OPEN_STATUSES,
    CancelReason,
    CancelStatus,
    PolicyStatus,
    policy_transition,
    prorated,
)
from plugin.extensions import db
from plugin.insurers.base import Binding, Insurer, InsurerError, Parcel, ParcelItem, TransientInsurerError
from plugin.insurers.measured import MeasuredInsurer
from plugin.jobs.base import FailJob, JobError, JobKind, JobView, RetryJob, with_lost_answer_retries
from plugin.models import Policy, Protection, Shipment, Shop
from plugin.services import webhooks
from plugin.services.policies import BIND_POLICY, CANCEL_POLICY, bind_key, enqueue_cancel
from plugin.services.settings import effective_settings, read_secrets

log = logging.getLogger(__name__)
T = TypeVar("T")
_CREDENTIALS = ("insurer.config.api_key", "insurer.config.api_secret")


def _locked_policy(policy_id: str) -> Policy | None:
    statement = select(Policy).where(Policy.id == policy_id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return db.session.scalars(statement.execution_options(populate_existing=True)).first()


_INSURER_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {}


def _insurer_settings(shop: Shop) -> dict[str, Any]:
    """The shop's effective insurer settings, composed once per distinct stored settings in this process.

    Composing checks the stored overrides against the settings schema, which was about half of a bind's CPU in
    the worker; the key is the stored document itself, so a changed setting is composed afresh at once.
    """
    key = (shop.id, json.dumps(shop.settings, sort_keys=True, default=str))
    found = _INSURER_SETTINGS.get(key)
    if found is None:
        if len(_INSURER_SETTINGS) >= 1024:
            _INSURER_SETTINGS.clear()  # crude but bounded
        found = _INSURER_SETTINGS[key] = effective_settings(shop)["insurer"]
    return found


def _insurer(ctx: Any, shop: Shop, provider: str) -> Insurer:
    settings = _insurer_settings(shop)
    same = provider == settings["provider"]
    config = dict(settings["config"]) if same else {}
    credentials = read_secrets(shop, _CREDENTIALS, ctx.app.extensions["secret_box"]) if same else {}
    adapter = ctx.insurer_factory(
        provider,
        config,
        {name.rsplit(".", 1)[1]: value for name, value in credentials.items()},
        engine=db.engine,
        allow_private=ctx.app.config["ALLOW_PRIVATE_INSURER_HOSTS"],
    )
    return MeasuredInsurer(adapter)  # every call timed, every failure counted (/metrics)


def _shop_and_insurer(ctx: Any, policy: Policy) -> tuple[Shop, Insurer]:
    """The policy's shop and its insurer's adapter; settings that cannot reach an insurer fail the job."""
    shop = db.session.get(Shop, policy.shop_id)
    if shop is None:
        raise FailJob(f"shop {policy.shop_id} is gone")
    try:
        return shop, _insurer(ctx, shop, policy.provider)
    except InsurerError as exc:
        raise FailJob(exc.message) from exc


def _parcel(policy: Policy, shop: Shop) -> Parcel:
    shipment = db.session.get(Shipment, policy.shipment_id)
    if shipment is None:
        raise FailJob(f"shipment {policy.shipment_id} of the policy is gone")
    protection = db.session.get(Protection, policy.protection_id) if policy.protection_id else None
    premium_share = 0
    if protection is not None:
        premium_share = prorated(protection.premium_amount, policy.sum_insured_amount, protection.declared_value_amount)
    # The shipment's destination (the store's, else its protection's quote's, copied when it was recorded).
    where = shipment if shipment.destination_country or protection is None else protection
    return Parcel(
        reference=policy.id,
        shop_id=shop.id,
        shop_name=shop.name,
        order_id=policy.order_id,
        shipment_ref=shipment.shipment_ref,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        sum_insured=policy.sum_insured_amount,
        currency=policy.currency,
        shipped_at=shipment.shipped_at,
        destination_country=where.destination_country,
        destination_region=where.destination_region,
        destination_postal_code=where.destination_postal_code,
        customer_email=protection.customer_email if protection else None,
        items=tuple(
            ParcelItem(item["sku"], item["quantity"], item.get("unit_price"), item.get("name"))
            for item in shipment.items or []
        ),
        premium_share=premium_share,
    )


def _insurer_call(call: Callable[[], T]) -> T:
    """The call, repeated at once while its answer is lost; insurer errors become job errors."""
    try:
        return with_lost_answer_retries(call, TransientInsurerError, lambda exc: exc.answer_lost)
    except InsurerError as exc:
        raise (RetryJob if exc.retryable else FailJob)(exc.message) from exc


def bind_policy(job: JobView, ctx: Any) -> None:
    """Buy the policy; an unclear earlier outcome is looked up first where the insurer has no idempotency."""
    policy = _locked_policy(job.subject)
    if policy is None or policy.status not in OPEN_STATUSES or bind_key(policy) != job.idempotency_key:
        ctx.finish(job)  # cancelled before it was bought, or superseded by a merchant's retry
        return
    shop, insurer = _shop_and_insurer(ctx, policy)
    parcel = _parcel(policy, shop)
    look_up = policy.in_doubt_since is not None and not insurer.idempotent_bind
    policy.attempts += 1
    policy.in_doubt_since = ctx.now()
    db.session.commit()  # from here until the outcome is recorded, the purchase is "in doubt"

    def attempt() -> Binding:
        nonlocal look_up
        if look_up:
            found = insurer.find(parcel)
            if found is not None:
                return found
        # A repeat after a lost answer must look first too, unless the key makes the repeat safe.
        look_up = not insurer.idempotent_bind
        return insurer.bind(parcel, job.idempotency_key)

    binding = _insurer_call(attempt)
    ctx.finish(job, lambda: _record_bound(job.subject, binding, ctx))


def _record_bound(policy_id: str, binding: Binding, ctx: Any) -> None:
    policy = _locked_policy(policy_id)
    if policy is None:
        return
    now = ctx.now()
    policy.status = policy_transition(policy.status, PolicyStatus.BOUND)
    policy.certificate = binding.certificate
    policy.provider_reference = binding.provider_reference
    policy.certificate_url = binding.certificate_url
    policy.claim_url = binding.claim_url
    policy.sum_insured_amount = binding.sum_insured
    policy.cost_amount = binding.cost
    policy.reserve_amount = binding.reserve
    policy.bound_at = now
    policy.last_error = None
    policy.in_doubt_since = None
    policy.next_attempt_at = None
    if policy.cancel_requested_at is not None:  # asked for while the purchase was under way
        enqueue_cancel(policy, now)
    ctx.count("bound")
    log.info("policy bound", extra={"policy": policy_id, "provider": policy.provider})


def bind_failed(
    job: JobView, error: JobError | None, message: str, status: JobStatus, next_at: datetime | None, ctx: Any
) -> None:
    """A purchase attempt failed: the policy retries with the job, or fails (is cancelled if that was asked)."""
    policy = _locked_policy(job.subject)
    if policy is None or policy.status not in OPEN_STATUSES or bind_key(policy) != job.idempotency_key:
        return
    policy.last_error = message[:1000]
    if error is not None and not error.retryable:
        policy.in_doubt_since = None  # a refusal is a definite answer: nothing was bought
    if status == JobStatus.FAILED:
        target = PolicyStatus.CANCELLED if policy.cancel_requested_at is not None else PolicyStatus.FAILED
        policy.status = policy_transition(policy.status, target)
        policy.next_attempt_at = None
        if target == PolicyStatus.CANCELLED:
            policy.cancelled_at = ctx.now()
        else:
            ctx.count("failed")
            webhooks.emit(policy.shop_id, "policy.failed", policy_body(policy), ctx.now())
    else:
        policy.status = policy_transition(policy.status, PolicyStatus.RETRYING)
        policy.next_attempt_at = next_at
        ctx.count("retried")
    log.warning("policy purchase failed", extra={"policy": policy.id, "status": str(status), "error": message})


class CancellationRefusedError(FailJob):
    """The insurer answered that the policy cannot be cancelled."""


def cancel_policy(job: JobView, ctx: Any) -> None:
    """Cancel a bought policy with its insurer."""
    policy = _locked_policy(job.subject)
    if policy is None or policy.status != PolicyStatus.BOUND:
        ctx.finish(job)  # already cancelled, or never bought
        return
    _shop, insurer = _shop_and_insurer(ctx, policy)
    reference = policy.provider_reference or policy.certificate or ""
    reason = CancelReason(policy.cancel_reason) if policy.cancel_reason in set(CancelReason) else CancelReason.REQUESTED
    db.session.commit()
    outcome = _insurer_call(lambda: insurer.cancel(reference, reason))
    if not outcome.cancelled:
        raise CancellationRefusedError(f"cancellation refused: {outcome.message or 'the insurer does not allow it'}")
    ctx.finish(job, lambda: _record_cancelled(job.subject, ctx))


def _record_cancelled(policy_id: str, ctx: Any) -> None:
    policy = _locked_policy(policy_id)
    if policy is None or policy.status != PolicyStatus.BOUND:
        return
    policy.status = policy_transition(policy.status, PolicyStatus.CANCELLED)
    policy.cancelled_at = ctx.now()
    policy.cancel_status = CancelStatus.DONE
    policy.last_error = None
    ctx.count("cancelled")


def cancel_failed(
    job: JobView, error: JobError | None, message: str, status: JobStatus, next_at: datetime | None, ctx: Any
) -> None:
    """A cancellation attempt failed: the policy stays bound; a refusal or the last attempt is recorded."""
    policy = _locked_policy(job.subject)
    if policy is None or policy.status != PolicyStatus.BOUND:
        return
    policy.last_error = message[:1000]
    if isinstance(error, CancellationRefusedError):
        policy.cancel_status = CancelStatus.REFUSED
    elif status == JobStatus.FAILED:
        policy.cancel_status = CancelStatus.FAILED
    log.warning("policy cancellation failed", extra={"policy": policy.id, "status": str(status), "error": message})


KINDS = (
    JobKind(BIND_POLICY, bind_policy, MAX_ATTEMPTS, bind_failed),
    JobKind(CANCEL_POLICY, cancel_policy, MAX_CANCEL_ATTEMPTS, cancel_failed),
)
