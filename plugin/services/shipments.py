"""Shipments: recorded once per store shipment id, with a pending policy when the parcel is to be insured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from plugin.domain.ids import new_id
from plugin.domain.policies import (
    TRACKING_STATUSES,
    CancelReason,
    PolicyStatus,
    ProviderRule,
    choose_provider,
    insured_value,
)
from plugin.domain.pricing import Destination
from plugin.errors import ConflictError
from plugin.extensions import db
from plugin.models import Payment, Policy, Protection, Shipment, Shop, TrackingEvent
from plugin.services.policies import enqueue_bind, order_policies, request_cancellation
from plugin.services.protections import latest_protection
from plugin.services.settings import effective_settings

SELF_INSURED = "self_insured"  # the merchant's own cover (plugin/insurers/self_insured.py)
CARRIER_EXCLUDED = "carrier_excluded"  # Policy.flag: self-insured because the insurer excludes the carrier


@dataclass(frozen=True, slots=True)
class ShipmentItem:
    """A line of the parcel; the unit price may be unknown."""

    sku: str
    quantity: int
    unit_price: int | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    """A parcel the store shipped, from the API or a platform webhook."""

    shipment_ref: str
    order_id: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None = None
    shipped_at: datetime | None = None
    items: tuple[ShipmentItem, ...] | None = None
    destination: Destination | None = None  # None: the protection's, as its quote said
    address_key: str | None = None  # a digest of the street address, when the store sent it (fraud signals)


class ShipmentConflictError(ConflictError):
    """The store's shipment id is already recorded for another order."""

    def __init__(self, shipment_ref: str, existing_order_id: str) -> None:
        super().__init__(
            f"Shipment {shipment_ref!r} is already recorded for order {existing_order_id!r}; "
            "each shipment_id belongs to one order."
        )
        self.existing_order_id = existing_order_id


@dataclass(frozen=True)
class RecordedShipment:
    """The shipment, its policy (None: not insured), and whether this call created them."""

    shipment: Shipment
    policy: Policy | None
    created: bool


def carrier_excluded(carrier: str | None, excluded_carriers: Sequence[str]) -> bool:
    """Whether the parcel's carrier is one the insurer will not take (trimmed, case-insensitive)."""
    name = (carrier or "").strip().casefold()
    return bool(name) and name in {entry.strip().casefold() for entry in excluded_carriers}


def items_value(items: Sequence[ShipmentItem] | None) -> int | None:
    """The parcel's value from its items; None when any price is missing."""
    prices = [item.unit_price for item in items or ()]
    if not items or any(price is None for price in prices):
        return None
    return sum((price or 0) * item.quantity for price, item in zip(prices, items, strict=True))


def _already_insured(shop_id: str, order_id: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Policy.sum_insured_amount), 0)).where(
                Policy.shop_id == shop_id,
                Policy.order_id == order_id,
                Policy.status != PolicyStatus.CANCELLED,
            )
        )
        or 0
    )


def _order_amount(shop_id: str, order_id: str) -> int | None:
    return db.session.scalar(
        select(Payment.amount).where(
            Payment.shop_id == shop_id, Payment.order_id == order_id, Payment.status == "succeeded"
        )
    )


def _hold_order(shop_id: str, order_id: str, protection: Protection | None) -> None:
    """Take the order's serialisation point, held until commit: one parcel of an order is planned at a time,
    so parcels arriving at once (API calls, webhooks, several processes) never insure more than declared."""
    if protection is not None:
        model: type[Protection] | type[Payment] = Protection
        where = [Protection.id == protection.id]
    else:  # all_orders scope without a protection: the order's payment is the row its value comes from
        model = Payment
        where = [Payment.shop_id == shop_id, Payment.order_id == order_id]
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write takes the database's single write lock (waiting out busy_timeout,
        # never failing with "database is locked" at once), and the rest of the transaction holds it. It
        # writes nothing: updated_at is set to itself, so its onupdate does not fire.
        db.session.execute(
            update(model).where(*where).values(updated_at=model.updated_at),
            execution_options={"synchronize_session": False},
        )
    else:
        # Read committed: once the lock is ours, the next statement sees every policy its holder committed.
        db.session.execute(select(model.id).where(*where).order_by(model.id).with_for_update())


def _policy_plan(
    shop: Shop, settings: dict[str, Any], order_id: str, value_of_items: int | None, protection: Protection | None
) -> tuple[int | None, str | None]:
    """(sum insured, reason it is not insured) for a new parcel of the order, planned under the order's lock."""
    covered = protection is not None and protection.status == "active"
    if not covered and settings["insurer"]["scope"] != "all_orders":
        reason = "not_protected" if protection is None else f"protection_{protection.status}"
        return None, reason
    _hold_order(shop.id, order_id, protection if covered else None)
    declared = protection.declared_value_amount if covered else _order_amount(shop.id, order_id)  # type: ignore[union-attr]
    value = insured_value(value_of_items, declared, _already_insured(shop.id, order_id))
    if value is None:
        return None, "value_unknown"
    if value <= 0:
        return None, "declared_value_used_up"
    return value, None


def _destination_of(request: ShipmentRequest, protection: Protection | None) -> Destination | None:
    """The store's destination for the parcel, else the one the protection's quote carried."""
    if request.destination is not None:
        return request.destination
    if protection is not None and protection.destination_country:
        return Destination(
            protection.destination_country, protection.destination_region, protection.destination_postal_code
        )
    return None


def add_shipment(shop: Shop, request: ShipmentRequest, now: datetime) -> RecordedShipment:
    """Add the parcel (once) and, when it is to be insured, a pending policy; the caller commits."""
    existing = find_shipment(shop.id, request.shipment_ref)
    if existing is not None:
        if existing.order_id != request.order_id:
            raise ShipmentConflictError(request.shipment_ref, existing.order_id)
        return RecordedShipment(existing, policy_of(existing), created=False)

    value_of_items = items_value(request.items)
    settings = effective_settings(shop)
    protection = latest_protection(shop.id, request.order_id)
    value, reason = _policy_plan(shop, settings, request.order_id, value_of_items, protection)
    covered = protection is not None and protection.status == "active"
    # A parcel belongs to the order's protection, even an inactive one, except when all_orders scope insures
    # it at the merchant's cost; its policy belongs to the protection only when that one covers it.
    linked = protection if covered or settings["insurer"]["scope"] != "all_orders" else None
    covering = protection if covered else None
    destination = _destination_of(request, protection)
    shipped_at = request.shipped_at or now
    shipment = Shipment(
        id=new_id("shp"),
        shop_id=shop.id,
        shipment_ref=request.shipment_ref,
        order_id=request.order_id,
        protection_id=linked.id if linked is not None else None,
        carrier=request.carrier,
        tracking_number=request.tracking_number,
        tracking_url=request.tracking_url,
        tracking_status="shipped",
        items=[
            {"sku": item.sku, "quantity": item.quantity, "unit_price": item.unit_price, "name": item.name}
            for item in request.items or ()
        ],
        currency=shop.currency,
        items_value_amount=value_of_items,
        shipped_at=shipped_at,
        last_tracking_at=shipped_at,
        uninsured_reason=reason,
        address_key=request.address_key,
        destination_country=destination.country if destination else None,
        destination_region=destination.region if destination else None,
        destination_postal_code=destination.postal_code if destination else None,
    )
    db.session.add(shipment)
    policy = None
    if value is not None:
        rules = [ProviderRule(rule["max_value"], rule["provider"]) for rule in settings["insurer"]["rules"]]
        # The insurer will not take this carrier's parcels: the merchant covers it, and the policy says why.
        excluded = carrier_excluded(request.carrier, settings["eligibility"]["excluded_carriers"])
        policy = Policy(
            id=new_id("pol"),
            shop_id=shop.id,
            shipment=shipment,
            order_id=request.order_id,
            protection_id=covering.id if covering is not None else None,
            provider=SELF_INSURED if excluded else choose_provider(value, rules, settings["insurer"]["provider"]),
            flag=CARRIER_EXCLUDED if excluded else None,
            status=PolicyStatus.PENDING,
            currency=shop.currency,
            sum_insured_amount=value,
            attempts=0,
            key_generation=0,
            next_attempt_at=now,
        )
        db.session.add(policy)
        enqueue_bind(policy, now)  # the purchase is a job, committed with the policy
    return RecordedShipment(shipment, policy, created=True)


def record_shipment(shop: Shop, request: ShipmentRequest, now: datetime) -> RecordedShipment:
    """Record the parcel once, with its pending policy, in one transaction."""
    shop_id = shop.id
    try:
        recorded = add_shipment(shop, request, now)
        db.session.commit()
    except IntegrityError:
        # The same shipment recorded at the same moment by another request: answer with that one.
        db.session.rollback()
        recorded = add_shipment(db.session.get(Shop, shop_id), request, now)  # type: ignore[arg-type]
        db.session.commit()
    return recorded


def policy_of(shipment: Shipment) -> Policy | None:
    """The shipment's policy, if it has one."""
    return db.session.scalars(select(Policy).where(Policy.shipment_id == shipment.id)).first()


def find_shipment(shop_id: str, shipment_ref: str) -> Shipment | None:
    """The shipment the store knows by this id."""
    return db.session.scalars(
        select(Shipment).where(Shipment.shop_id == shop_id, Shipment.shipment_ref == shipment_ref)
    ).first()


def record_tracking(
    shipment: Shipment,
    status: str,
    occurred_at: datetime,
    *,
    message: str | None = None,
    location: str | None = None,
) -> None:
    """A carrier update: kept as an event; the shipment's status and last update move forward only."""
    status = status.strip().lower()[:40] if status.strip().lower() in TRACKING_STATUSES else "in_transit"
    db.session.add(
        TrackingEvent(
            shipment_id=shipment.id,
            status=status,
            message=(message or None) and message[:500],
            location=(location or None) and location[:255],
            occurred_at=occurred_at,
        )
    )
    if occurred_at >= shipment.last_tracking_at:
        shipment.last_tracking_at = occurred_at
        shipment.tracking_status = status
    if status == "delivered" and shipment.delivered_at is None:
        shipment.delivered_at = occurred_at


def cancel_shipment(shipment: Shipment, reason: CancelReason, now: datetime) -> None:
    """The store cancelled the shipment: its policy is cancelled (through the insurer if bought)."""
    shipment.cancelled_at = shipment.cancelled_at or now
    shipment.tracking_status = "cancelled"
    policy = policy_of(shipment)
    if policy is not None:
        request_cancellation([policy], reason, now)


def cancel_order(shop_id: str, order_id: str, reason: CancelReason, now: datetime) -> int:
    """Cancel every policy of the order (refunded or cancelled after shipment)."""
    return request_cancellation(order_policies(shop_id, order_id), reason, now)


def order_shipments(shop_id: str, order_id: str) -> list[Shipment]:
    """Every shipment of an order, oldest first."""
    return list(
        db.session.scalars(
            select(Shipment)
            .where(Shipment.shop_id == shop_id, Shipment.order_id == order_id)
            .order_by(Shipment.created_at)
        )
    )
