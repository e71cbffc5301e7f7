"""Policies as the worker and the merchant handle them: claiming due work, recording outcomes, retries, cancels."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from plugin.domain.policies import OPEN_STATUSES, PolicyStatus
from plugin.errors import ConflictError, NotFoundError
from plugin.extensions import db
from plugin.models import Policy, rfc3339


def _due(now: datetime) -> Any:
    lease_free = or_(Policy.leased_until.is_(None), Policy.leased_until < now)
    to_buy = and_(Policy.status.in_([str(s) for s in OPEN_STATUSES]))
    to_cancel = and_(
        Policy.status == PolicyStatus.BOUND,
        Policy.cancel_requested_at.is_not(None),
        Policy.cancelled_at.is_(None),
    )
    return and_(or_(to_buy, to_cancel), Policy.next_attempt_at <= now, lease_free)


def claim_due(now: datetime, *, limit: int, lease: timedelta, token: str) -> list[str]:
    """Lease up to `limit` due policies to this worker; no two workers ever hold the same one.

    On PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED, so concurrent workers pass over
    each other's rows instead of waiting; on SQLite the database's single writer does the same. The lease
    is committed at once: the insurer is called outside any transaction, and a dead worker's lease lapses.
    """
    statement = select(Policy.id).where(_due(now)).order_by(Policy.next_attempt_at).limit(limit)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    candidates = list(db.session.scalars(statement))
    if not candidates:
        db.session.rollback()
        return []
    db.session.execute(
        update(Policy)
        .where(Policy.id.in_(candidates), _due(now))
        .values(lease_token=token, leased_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return list(db.session.scalars(select(Policy.id).where(Policy.id.in_(candidates), Policy.lease_token == token)))


def held(policy_id: str, token: str) -> Policy | None:
    """The policy, locked for writing, if this worker still holds its lease."""
    statement = select(Policy).where(Policy.id == policy_id, Policy.lease_token == token)
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update()
    return db.session.scalars(statement).first()


def release(policy: Policy) -> None:
    """Give the lease back (the caller commits)."""
    policy.lease_token = None
    policy.leased_until = None


def request_cancellation(policies: Iterable[Policy], reason: str, now: datetime) -> int:
    """Cancel policies: not yet bought ones at once, bought ones through the insurer (by the worker)."""
    changed = 0
    for policy in policies:
        if policy.status in (PolicyStatus.PENDING, PolicyStatus.RETRYING, PolicyStatus.FAILED):
            policy.status = PolicyStatus.CANCELLED
            policy.cancelled_at = now
            policy.cancel_reason = reason
            policy.next_attempt_at = None
            changed += 1
        elif policy.status == PolicyStatus.BOUND and policy.cancel_requested_at is None:
            policy.cancel_requested_at = now
            policy.cancel_reason = reason
            policy.next_attempt_at = now
            changed += 1
    return changed


def order_policies(shop_id: str, order_id: str) -> list[Policy]:
    """Every policy of an order."""
    return list(
        db.session.scalars(
            select(Policy).where(Policy.shop_id == shop_id, Policy.order_id == order_id).order_by(Policy.created_at)
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
        policy.key_generation += 1
        policy.attempts = 0
    policy.status = PolicyStatus.RETRYING
    policy.next_attempt_at = now
    db.session.commit()
    return policy


def policy_body(policy: Policy) -> dict[str, Any]:
    """The contract's policy object."""
    return {
        "id": policy.id,
        "object": "policy",
        "shipment": policy.shipment_id,
        "shipment_id": policy.shipment.shipment_ref,  # the store's id, as sent in POST /api/v1/shipments
        "order_id": policy.order_id,
        "protection": policy.protection_id,
        "provider": policy.provider,
        "status": policy.status,
        "certificate": policy.certificate,
        "certificate_url": policy.certificate_url,
        "sum_insured": policy.sum_insured_amount,
        "cost": policy.cost_amount,
        "reserve": policy.reserve_amount,
        "currency": policy.currency,
        "attempts": policy.attempts,
        "last_error": policy.last_error,
        "next_attempt_at": rfc3339(policy.next_attempt_at) if policy.status in OPEN_STATUSES else None,
        "cancel_requested_at": rfc3339(policy.cancel_requested_at),
        "bound_at": rfc3339(policy.bound_at),
        "cancelled_at": rfc3339(policy.cancelled_at),
        "created_at": rfc3339(policy.created_at),
    }
