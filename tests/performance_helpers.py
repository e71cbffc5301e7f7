"""Deliveries, returns and paid claims written straight into the tables at chosen times, for the performance
figures' tests (the figures count rows by their times, as the reports do)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from plugin.domain.ids import new_id
from plugin.extensions import db
from plugin.models import Return, Shipment

_numbers = itertools.count(1)

# Tiers keyed on the on-time rate: 98 % or better earns 0.8 %, worse than 98 % pays 1.2 %.
ON_TIME_TIERS: list[dict[str, Any]] = [
    {"metric": "on_time_rate", "at_least": "0.98", "rate": "0.008"},
    {"metric": "on_time_rate", "below": "0.98", "rate": "0.012"},
]


def deliveries(
    shop_id: str, now: datetime, count: int, *, late: bool = False, days_ago: float = 1.0, cancelled: bool = False
) -> None:
    """`count` parcels delivered `days_ago` before `now`: in 2 days (on time) or in 11 (late past the default
    claims.delayed_after_days of 10)."""
    delivered_at = now - timedelta(days=days_ago)
    shipped_at = delivered_at - timedelta(days=11 if late else 2)
    for _ in range(count):
        number = next(_numbers)
        db.session.add(
            Shipment(
                id=new_id("shp"),
                shop_id=shop_id,
                shipment_ref=f"ful_perf_{number}",
                order_id=f"P{number}",
                currency="USD",
                items=[],
                tracking_status="delivered",
                shipped_at=shipped_at,
                last_tracking_at=delivered_at,
                delivered_at=delivered_at,
                cancelled_at=delivered_at if cancelled else None,
            )
        )
    db.session.commit()


def returns(shop_id: str, now: datetime, count: int, *, days_ago: float = 1.0) -> None:
    """`count` returns opened `days_ago` before `now`."""
    for _ in range(count):
        number = next(_numbers)
        db.session.add(
            Return(
                id=new_id("ret"),
                shop_id=shop_id,
                return_ref=f"ret_perf_{number}",
                order_id=f"P{number}",
                source="api",
                currency="USD",
                label_cost_amount=800,
                items=[],
                status="in_transit",
                created_at=now - timedelta(days=days_ago),
            )
        )
    db.session.commit()
