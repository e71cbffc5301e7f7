"""Stripe events as use cases: record one verified delivery, or catch up on missed ones from the event log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from plugin.domain.purchases import PaymentSucceeded
from plugin.extensions import db
from plugin.models import Protection, Shop
from plugin.payments.stripe import HANDLED_TYPES, translate
from plugin.payments.stripe_api import StripeApi, StripeApiError
from plugin.services import new_payments
from plugin.services.purchases import (
    PurchaseContext,
    Recorded,
    ShopRef,
    apply_fact,
    confirm_line_items,
    record_delivery,
)


def record_stripe_event(shop: ShopRef, event: Mapping[str, Any], ctx: PurchaseContext) -> Recorded:
    """Record one Stripe event, once, with its effects and the jobs they need (nothing asks Stripe here)."""
    fact = translate(event)
    if new_payments.applies(fact, ctx):
        assert isinstance(fact, PaymentSucceeded)
        recorded = new_payments.record_new_payment(
            shop, "stripe", str(event["id"]), str(event.get("type") or ""), fact, ctx
        )
        if recorded is not None:
            return recorded
    return record_delivery(
        shop,
        "stripe",
        str(event["id"]),
        str(event.get("type") or ""),
        lambda: apply_fact(shop, fact, ctx) if fact is not None else None,
    )


def reconcile(
    shop: Shop, api: StripeApi, since: datetime, quote_secrets: Sequence[str], now: datetime
) -> dict[str, int]:
    """Apply the shop's Stripe events we missed (each once), then confirm the Checkout lines still pending.

    Raises StripeApiError when the event log cannot be read; a line item check that fails is counted.
    """
    events = api.events(since, HANDLED_TYPES)
    counts: dict[str, int] = {}
    ctx = PurchaseContext(quote_secrets=quote_secrets, now=now, line_items_checkable=True)
    for event in events:
        recorded = record_stripe_event(shop, event, ctx)
        key = "already_seen" if recorded.duplicate else recorded.outcome
        counts[key] = counts.get(key, 0) + 1
    pending = db.session.scalars(
        select(Protection.id).where(Protection.shop_id == shop.id, Protection.line_item_check == "pending")
    ).all()
    for protection_id in pending:
        try:
            result = confirm_line_items(protection_id, api.checkout_line_items, now)
        except StripeApiError as exc:
            db.session.rollback()
            result = f"error ({exc})"
        counts[f"line_items_{result}"] = counts.get(f"line_items_{result}", 0) + 1
    return {"events": len(events), **dict(sorted(counts.items()))}
