"""Reading a shop's protections: one, or a filtered page of them (newest first, cursor pagination)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from plugin.errors import NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import Protection, rfc3339
from plugin.services.consents import consent_matches
from plugin.services.policies import order_policies, policy_body
from plugin.services.shipments import order_shipments, policy_of, shipment_body


@dataclass(frozen=True)
class ProtectionFilter:
    """What a list request asks for."""

    order_id: str | None = None
    status: str | None = None
    created_gte: datetime | None = None
    created_lte: datetime | None = None
    limit: int = 10
    starting_after: str | None = None


def get_protection(shop_id: str, protection_id: str) -> Protection:
    """One protection of this shop; another shop's is as unknown as a missing one."""
    protection = db.session.get(Protection, protection_id)
    if protection is None or protection.shop_id != shop_id:
        raise NotFoundError("No such protection.")
    return protection


def list_protections(shop_id: str, query: ProtectionFilter) -> tuple[list[Protection], bool]:
    """A page of protections, newest first, and whether more follow."""
    statement = select(Protection).where(Protection.shop_id == shop_id)
    if query.order_id is not None:
        statement = statement.where(Protection.order_id == query.order_id)
    if query.status is not None:
        statement = statement.where(Protection.status == query.status)
    if query.created_gte is not None:
        statement = statement.where(Protection.created_at >= query.created_gte)
    if query.created_lte is not None:
        statement = statement.where(Protection.created_at <= query.created_lte)
    if query.starting_after is not None:
        cursor = db.session.get(Protection, query.starting_after)
        if cursor is None or cursor.shop_id != shop_id:
            raise ValidationFailedError(fields={"starting_after": ["No such protection."]})
        statement = statement.where(
            or_(
                Protection.created_at < cursor.created_at,
                and_(Protection.created_at == cursor.created_at, Protection.id < cursor.id),
            )
        )
    rows = list(
        db.session.scalars(
            statement.order_by(Protection.created_at.desc(), Protection.id.desc()).limit(query.limit + 1)
        )
    )
    return rows[: query.limit], len(rows) > query.limit


def protection_body(protection: Protection) -> dict[str, Any]:
    """The contract's protection object."""
    payment = protection.payment
    shipments = order_shipments(protection.shop_id, protection.order_id) if protection.order_id else []
    policies = order_policies(protection.shop_id, protection.order_id) if protection.order_id else []
    return {
        "id": protection.id,
        "object": "protection",
        "order_id": protection.order_id,
        "status": protection.status,
        "review_reason": protection.review_reason,
        "disputed": protection.disputed,
        "currency": protection.currency,
        "declared_value": protection.declared_value_amount,
        "premium": protection.premium_amount,
        "customer_price": protection.customer_price_amount,
        "merchant_contribution": protection.merchant_contribution_amount,
        "amount_charged": protection.charged_amount,
        "amount_refunded": payment.amount_refunded if payment else 0,
        "payment_intent": protection.payment_intent,
        "checkout_session": protection.checkout_session,
        "customer_email": protection.customer_email,
        "consent": protection.consent_id,
        "consent_verified": consent_matches(protection.shop_id, protection.consent_id, protection.quote_reference),
        "quote": protection.quote_reference,
        "quote_expires_at": rfc3339(protection.quote_expires_at),
        "line_item_check": protection.line_item_check,
        "voided_at": rfc3339(protection.voided_at),
        "created_at": rfc3339(protection.created_at),
        "updated_at": rfc3339(protection.updated_at),
        "shipments": [shipment_body(shipment, policy_of(shipment)) for shipment in shipments],
        "policies": [policy_body(policy) for policy in policies],
    }
