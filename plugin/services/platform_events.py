"""What store-platform webhooks (Shopify format) do to shipments and policies."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from plugin.domain.policies import CancelReason
from plugin.extensions import db
from plugin.models import Shop
from plugin.platforms.shopify import (
    OrderCancelled,
    OrderRefunded,
    PlatformFact,
    ReturnDelivered,
    ReturnNoted,
    ShipmentChanged,
    TrackingUpdate,
)
from plugin.services import platform_returns
from plugin.services.purchases import Recorded
from plugin.services.shipments import (
    ShipmentConflictError,
    ShipmentRequest,
    add_shipment,
    cancel_order,
    cancel_shipment,
    find_shipment,
    order_shipments,
    record_tracking,
)


def _refunded_shipments(shop_id: str, fact: OrderRefunded, now: datetime) -> int:
    """Cancel the cover of every parcel whose items were all refunded."""
    left: Counter[str] = Counter()
    for sku, quantity in fact.refunded:
        left[sku] += quantity
    cancelled = 0
    for shipment in order_shipments(shop_id, fact.order_id):
        if shipment.cancelled_at is not None or not shipment.items:
            continue
        needed: Counter[str] = Counter()
        for item in shipment.items:
            needed[item["sku"]] += item["quantity"]
        if all(left[sku] >= quantity for sku, quantity in needed.items()):
            left -= needed
            cancel_shipment(shipment, CancelReason.ITEMS_REFUNDED, now)
            cancelled += 1
    return cancelled


def apply_platform_fact(shop: Shop, fact: PlatformFact, now: datetime) -> Recorded:
    """The effect of one platform fact (added to the session; the delivery's transaction commits it)."""
    if isinstance(fact, ShipmentRequest):
        try:
            recorded = add_shipment(shop, fact, now)
        except ShipmentConflictError:
            # The fulfillment id is another order's: record nothing, but answer the signed delivery (200).
            return Recorded("shipment_conflict")
        if not recorded.created:
            return Recorded("shipment_known")
        return Recorded("policy_pending" if recorded.policy is not None else "shipment_uninsured")
    if isinstance(fact, TrackingUpdate | ShipmentChanged):
        shipment = find_shipment(shop.id, fact.shipment_ref)
        if shipment is None:
            return Recorded("unknown_shipment")
        if isinstance(fact, TrackingUpdate):
            record_tracking(shipment, fact.status, fact.occurred_at, message=fact.message, location=fact.location)
            return Recorded("tracking_recorded")
        shipment.carrier = fact.carrier or shipment.carrier
        shipment.tracking_number = fact.tracking_number or shipment.tracking_number
        shipment.tracking_url = fact.tracking_url or shipment.tracking_url
        if fact.cancelled:
            cancel_shipment(shipment, CancelReason.SHIPMENT_CANCELLED, now)
            return Recorded("shipment_cancelled")
        if fact.shipment_status:
            record_tracking(shipment, fact.shipment_status, fact.occurred_at)
        return Recorded("shipment_updated")
    if isinstance(fact, ReturnNoted):
        return Recorded(platform_returns.note_platform_return(shop, fact, now))
    if isinstance(fact, ReturnDelivered):
        return Recorded(platform_returns.platform_return_delivered(shop.id, fact.return_ref, now))
    if isinstance(fact, OrderCancelled):
        return Recorded(f"policies_cancelled:{cancel_order(shop.id, fact.order_id, CancelReason.ORDER_CANCELLED, now)}")
    count = _refunded_shipments(shop.id, fact, now)
    db.session.flush()
    return Recorded(f"policies_cancelled:{count}")
