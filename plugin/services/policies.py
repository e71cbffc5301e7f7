"""Policies as the merchant and the store's events handle them: queueing purchases, retries, cancellations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from plugin.domain.policies import (
    MAX_ATTEMPTS,
    MAX_CANCEL_ATTEMPTS,
    OPEN_STATUSES,
    CancelReason,
    CancelStatus,
    PolicyStatus,
    policy_transition,
)
from plugin.errors import ConflictError, NotFoundError
from plugin.extensions import db
from plugin.models import Policy
from plugin.services import jobs

BIND_POLICY, CANCEL_POLICY = "bind_policy", "cancel_policy"


def bind_key(policy: Policy) -> str:
    """The idempotency key of the policy's purchase: a merchant's retry of a refused one asks afresh."""
    return f"sp-{policy.id}-{policy.key_generation}"


def cancel_key(policy: Policy) -> str:
    """The idempotency key of the policy's cancellation (a policy is cancelled at most once)."""
    return f"cancel-{policy.id}"


def enqueue_bind(policy: Policy, now: datetime) -> None:
    """Queue the policy's purchase in the caller's transaction."""
    jobs.enqueue(
        shop_id=policy.shop_id,
        kind=BIND_POLICY,
        subject=policy.id,
        idempotency_key=bind_key(policy),
        now=now,
        max_attempts=MAX_ATTEMPTS,
    )


def enqueue_cancel(policy: Policy, now: datetime) -> None:
    """Queue the cancellation of a bought policy in the caller's transaction."""
    policy.cancel_status = CancelStatus.REQUESTED
    jobs.enqueue(
        shop_id=policy.shop_id,
        kind=CANCEL_POLICY,
        subject=policy.id,
        idempotency_key=cancel_key(policy),
        now=now,
        max_attempts=MAX_CANCEL_ATTEMPTS,
    )


def _locked(policies: Iterable[Policy]) -> list[Policy]:
    """The same policies, re-read under a row lock (the worker may be recording an outcome right now)."""
    ids = [policy.id for policy in policies]
    if not ids:
        return []
    statement = select(Policy).where(Policy.id.in_(ids)).order_by(Policy.id)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return list(db.session.scalars(statement.execution_options(populate_existing=True)))


def request_cancellation(policies: Iterable[Policy], reason: CancelReason, now: datetime) -> int:
    """Cancel policies: not yet bought ones at once, bought ones through the insurer (by a job)."""
    changed = 0
    for policy in _locked(policies):
        if policy.cancel_requested_at is not None or policy.status == PolicyStatus.CANCELLED:
            continue
        in_flight = policy.status in OPEN_STATUSES and policy.in_doubt_since is not None
        if policy.status == PolicyStatus.BOUND or in_flight:
            # Bought, or perhaps bought by a call whose answer is not in yet: the insurer must be asked.
            policy.cancel_requested_at = now
            policy.cancel_reason = reason
            if policy.status == PolicyStatus.BOUND:
                enqueue_cancel(policy, now)
        else:
            policy.status = policy_transition(policy.status, PolicyStatus.CANCELLED)
            policy.cancelled_at = now
            policy.cancel_reason = reason
            policy.next_attempt_at = None
            jobs.cancel_jobs(BIND_POLICY, policy.id, now)
        changed += 1
    return changed


def order_policies(shop_id: str, order_id: str) -> list[Policy]:
    """Every policy of an order, each with its shipment (joined: showing a policy names its shipment)."""
    return list(
        db.session.scalars(
            select(Policy)
            .options(joinedload(Policy.shipment))
            .where(Policy.shop_id == shop_id, Policy.order_id == order_id)
            .order_by(Policy.created_at)
        )
    )


def get_policy(shop_id: str, policy_id: str) -> Policy:
    """One policy of this shop (another shop's is a 404)."""
    policy = db.session.get(Policy, policy_id)
    if policy is None or policy.shop_id != shop_id:
        raise NotFoundError("No such policy.")
    return policy


def retry_policy(shop_id: str, policy_id: str, now: datetime) -> Policy:
    """Make a failed or retrying policy due now; a refused one is asked afresh (a new idempotency key)."""
    policy = get_policy(shop_id, policy_id)
    if policy.status not in (PolicyStatus.FAILED, PolicyStatus.RETRYING):
        raise ConflictError(f"Only a failed or retrying policy can be retried; this one is {policy.status}.")
    if policy.status == PolicyStatus.FAILED:
        jobs.supersede(bind_key(policy), now)  # the purchase under the next key replaces the failed one
        policy.key_generation += 1
        policy.attempts = 0
    policy.status = policy_transition(policy.status, PolicyStatus.RETRYING)
    policy.next_attempt_at = now
    if jobs.make_due(bind_key(policy), now) is None:
        enqueue_bind(policy, now)
    db.session.commit()
    return policy
