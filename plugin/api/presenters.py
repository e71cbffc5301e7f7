"""Rows as the API shows them: protections, shipments and policies (the contract's objects).

Bodies read only what is already loaded: a page's relations come in one query each (see
plugin.services.protections.order_relations), never one query per row.
"""

from __future__ import annotations

from typing import Any

from plugin.domain.policies import OPEN_STATUSES
from plugin.models import Policy, Protection, Shipment, rfc3339
from plugin.services.protections import OrderRelations, ProtectionPage


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
        "flag": policy.flag,
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
        "cancel_reason": policy.cancel_reason,
        "cancel_status": policy.cancel_status,
        "bound_at": rfc3339(policy.bound_at),
        "cancelled_at": rfc3339(policy.cancelled_at),
        "created_at": rfc3339(policy.created_at),
    }


def destination_body(where: Shipment | Protection) -> dict[str, str | None] | None:
    """Where the parcel goes, as the API shows it (null when neither the store nor the quote said)."""
    if not where.destination_country:
        return None
    return {
        "country": where.destination_country,
        "region": where.destination_region,
        "postal_code": where.destination_postal_code,
    }


def shipment_body(shipment: Shipment, policy: Policy | None) -> dict[str, Any]:
    """The shipment as the API shows it, with its policy."""
    return {
        "id": shipment.id,
        "object": "shipment",
        "shipment_id": shipment.shipment_ref,
        "order_id": shipment.order_id,
        "protection": shipment.protection_id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "tracking_status": shipment.tracking_status,
        "last_tracking_at": rfc3339(shipment.last_tracking_at),
        "shipped_at": rfc3339(shipment.shipped_at),
        "delivered_at": rfc3339(shipment.delivered_at),
        "cancelled_at": rfc3339(shipment.cancelled_at),
        "items": shipment.items,
        "items_value": shipment.items_value_amount,
        "currency": shipment.currency,
        "uninsured_reason": shipment.uninsured_reason,
        "destination": destination_body(shipment),
        "policy": policy_body(policy) if policy is not None else None,
    }


def order_shipment_bodies(shipments: list[Shipment], policies: list[Policy]) -> list[dict[str, Any]]:
    """An order's shipments, each with its policy, from the order's shipments and policies (loaded once each)."""
    by_shipment = {policy.shipment_id: policy for policy in policies}
    return [shipment_body(shipment, by_shipment.get(shipment.id)) for shipment in shipments]


def protection_coverages(protection: Protection) -> list[dict[str, Any]]:
    """The coverages bought, as the quote named them: the stored sums less the return cover's part is the
    shipping cover's part."""
    parts: list[dict[str, Any]] = []
    returns = (
        protection.returns_premium_amount or 0,
        protection.returns_customer_price_amount or 0,
        protection.returns_merchant_contribution_amount or 0,
    )
    if protection.covers_shipping is not False:
        parts.append(
            {
                "type": "shipping",
                "premium": protection.premium_amount - returns[0],
                "customer_price": protection.customer_price_amount - returns[1],
                "merchant_contribution": protection.merchant_contribution_amount - returns[2],
                "rate_tier": protection.rate_tier,
            }
        )
    if protection.covers_returns:
        parts.append(
            {
                "type": "returns",
                "premium": returns[0],
                "customer_price": returns[1],
                "merchant_contribution": returns[2],
                "rate_tier": protection.returns_rate_tier,
            }
        )
    return parts


def protection_body(protection: Protection, related: OrderRelations) -> dict[str, Any]:
    """The contract's protection object, with its order's shipments and policies."""
    payment = protection.payment
    order = protection.order_id
    shipments = related.shipments.get(order, []) if order else []
    policies = related.policies.get(order, []) if order else []
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
        "coverages": protection_coverages(protection),
        "rate_tier": protection.rate_tier if protection.covers_shipping else protection.returns_rate_tier,
        "shipping_carrier": protection.shipping_carrier,
        "amount_charged": protection.charged_amount,
        "amount_refunded": payment.amount_refunded if payment else 0,
        "payment_intent": protection.payment_intent,
        "checkout_session": protection.checkout_session,
        "customer_email": protection.customer_email,
        "destination": destination_body(protection),
        "consent": protection.consent_id,
        "consent_verified": protection.id in related.verified_consents,
        "quote": protection.quote_reference,
        "quote_expires_at": rfc3339(protection.quote_expires_at),
        "line_item_check": protection.line_item_check,
        "voided_at": rfc3339(protection.voided_at),
        "created_at": rfc3339(protection.created_at),
        "updated_at": rfc3339(protection.updated_at),
        "shipments": order_shipment_bodies(shipments, policies),
        "policies": [policy_body(policy) for policy in policies],
    }


def protection_page_body(page: ProtectionPage) -> dict[str, Any]:
    """A list object of protections."""
    return {
        "object": "list",
        "data": [protection_body(row, page.related) for row in page.rows],
        "has_more": page.has_more,
    }
