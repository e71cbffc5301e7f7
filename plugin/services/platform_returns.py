"""Returns told by the store platform's webhooks: the order a return is for, and its opening and receipt."""

from __future__ import annotations

from datetime import datetime

from plugin.domain.returns import ReturnStatus
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import PlatformReturn, Shop
from plugin.platforms.shopify import ReturnNoted
from plugin.services.returns import (
    OrderNotShippedError,
    ReturnOrderNotFoundError,
    ReturnRequest,
    existing_return,
    mark_received,
    record_return,
)


def note_platform_return(shop: Shop, fact: ReturnNoted, now: datetime) -> str:
    """A returns webhook: remember the return's order; open the return when the payload carries its tracking
    (the caller, the delivery's transaction, commits). Answers the delivery's outcome."""
    noted = db.session.get(PlatformReturn, (shop.id, fact.return_ref))
    if fact.order_id and noted is None:
        db.session.add(PlatformReturn(shop_id=shop.id, return_ref=fact.return_ref, order_id=fact.order_id))
    order_id = fact.order_id or (noted.order_id if noted else None)
    if existing_return(shop.id, fact.return_ref) is not None:
        return "return_known"
    if not fact.tracking_number:
        return "ignored_no_tracking"
    if order_id is None:
        return "return_order_unknown"
    request = ReturnRequest(
        return_ref=fact.return_ref,
        order_id=order_id,
        carrier=fact.carrier,
        tracking_number=fact.tracking_number,
        label_cost=fact.label_cost or 0,
        source="platform",
    )
    try:
        opened = record_return(shop, request, now)
    except ReturnOrderNotFoundError:
        return "order_unknown"
    except OrderNotShippedError:
        return "order_not_shipped"
    except ValidationFailedError:
        return "return_invalid"
    return "return_opened" if opened.ret.uncovered_reason is None else f"return_uncovered:{opened.ret.uncovered_reason}"


def platform_return_delivered(shop_id: str, return_ref: str, now: datetime) -> str:
    """returns/close or returns/process: the return came back; receive it (the caller commits)."""
    ret = existing_return(shop_id, return_ref)
    if ret is None:
        return "unknown_return"
    if ret.status != ReturnStatus.IN_TRANSIT:
        return f"return_{ret.status}"
    mark_received(ret, now)
    return "return_received"
