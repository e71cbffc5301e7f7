"""A shop's last-30-day figures (on-time rate, loss ratio, return rate), the price tier each coverage earns by
them, and the worker's periodic refresh that stores both, so that quotes read a row instead of measuring.

Each figure reads one indexed range of one table, filtered by the shop, over [now - 30 days, now):
- delivered: shipments not cancelled with `delivered_at` in the window (shipments(shop_id, delivered_at));
- on_time_rate: of those, the ones delivered within `claims.delayed_after_days` of `shipped_at`, ÷ delivered;
- loss_ratio: claims_paid_amount ÷ premium_collected, as the report counts them (services/reports.py);
- return_rate: returns created in the window ÷ delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from plugin.domain.performance import (
    WINDOW_DAYS,
    PerformanceFigures,
    PerformanceTier,
    select_tier,
    tiers_from_settings,
)
from plugin.domain.reports import ratio, ratio_text
from plugin.extensions import db
from plugin.models import PerformanceTierChange, Return, Shipment, Shop, ShopPerformance
from plugin.services.report_sql import seconds_between
from plugin.services.reports import loss_amounts
from plugin.services.settings import effective_settings

log = logging.getLogger(__name__)

WINDOW = timedelta(days=WINDOW_DAYS)
REFRESH_TASK = "performance_refresh"  # the scheduled_tasks row that lets one worker refresh per interval
REFRESH_INTERVAL = timedelta(minutes=15)
SHIPPING, RETURNS = "shipping", "returns"
COVERAGES = (SHIPPING, RETURNS)


@dataclass(frozen=True)
class TierStanding:
    """A coverage's tiers and the one in force (None: none, the coverage's `rate` applies), with the rate."""

    coverage: str
    tiers: tuple[PerformanceTier, ...]
    index: int | None
    base_rate: Decimal

    @property
    def rate(self) -> Decimal:
        """The rate in force: the tier's, else the coverage's own."""
        return self.tiers[self.index].rate if self.index is not None else self.base_rate


def measure(shop: Shop, now: datetime) -> PerformanceFigures:
    """The shop's figures over [now - 30 days, now), measured now from the rows."""
    start = now - WINDOW
    days = int(effective_settings(shop)["claims"]["delayed_after_days"])
    on_time = seconds_between(Shipment.delivered_at, Shipment.shipped_at) <= days * 86400
    delivered, delivered_on_time = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((on_time, 1), else_=0)), 0)).where(
            Shipment.shop_id == shop.id,
            and_(Shipment.delivered_at >= start, Shipment.delivered_at < now),
            Shipment.cancelled_at.is_(None),
        )
    ).one()
    returns = db.session.scalar(
        select(func.count()).where(Return.shop_id == shop.id, Return.created_at >= start, Return.created_at < now)
    )
    paid, premium = loss_amounts(shop, start, now)
    delivered = int(delivered or 0)
    return PerformanceFigures(
        delivered=delivered,
        on_time_rate=ratio(int(delivered_on_time or 0), delivered),
        loss_ratio=ratio(paid, premium),
        return_rate=ratio(int(returns or 0), delivered),
    )


def standings(settings: dict[str, Any], figures: PerformanceFigures | None) -> dict[str, TierStanding]:
    """Each coverage's tiers and the one the figures earn."""
    sources = {SHIPPING: settings["pricing"], RETURNS: settings["coverage"]["returns"]["pricing"]}
    result = {}
    for coverage, pricing in sources.items():
        tiers = tiers_from_settings(pricing.get("performance_tiers") or [])
        result[coverage] = TierStanding(coverage, tiers, select_tier(tiers, figures), Decimal(pricing["rate"]))
    return result


def stored(shop_id: str) -> ShopPerformance | None:
    """The shop's row as the worker last wrote it (None: never measured)."""
    return db.session.get(ShopPerformance, shop_id)


def stored_figures(row: ShopPerformance | None) -> PerformanceFigures | None:
    """A stored row's figures."""
    if row is None:
        return None
    return PerformanceFigures(
        delivered=row.delivered,
        on_time_rate=_decimal(row.on_time_rate),
        loss_ratio=_decimal(row.loss_ratio),
        return_rate=_decimal(row.return_rate),
    )


def history(shop_id: str, limit: int = 50) -> Sequence[PerformanceTierChange]:
    """The shop's tier changes, newest first."""
    return db.session.scalars(
        select(PerformanceTierChange)
        .where(PerformanceTierChange.shop_id == shop_id)
        .order_by(PerformanceTierChange.changed_at.desc(), PerformanceTierChange.id.desc())
        .limit(limit)
    ).all()


def refresh_shop(shop: Shop, now: datetime) -> ShopPerformance:
    """Measure the shop, store its figures and tiers, record each coverage whose tier changed; commits."""
    figures = measure(shop, now)
    tiers = standings(effective_settings(shop), figures)
    row = stored(shop.id)
    if row is None:
        row = ShopPerformance(shop_id=shop.id)
        db.session.add(row)
    for coverage in COVERAGES:
        before = getattr(row, f"{coverage}_tier") if row.computed_at is not None else None
        after = tiers[coverage].index
        if before != after:
            setattr(row, f"{coverage}_tier", after)
            setattr(row, f"{coverage}_tier_changed_at", now)
            db.session.add(
                PerformanceTierChange(
                    shop_id=shop.id,
                    coverage=coverage,
                    from_tier=before,
                    to_tier=after,
                    changed_at=now,
                    **_text(figures),
                )
            )
    row.computed_at = now
    for name, value in _text(figures).items():
        setattr(row, name, value)
    db.session.commit()
    return row


def refresh_all(now: datetime, batch: int = 200) -> int:
    """Refresh every shop, a batch of ids at a time, each shop in its own transaction; how many were refreshed
    (a shop whose refresh fails is logged and left for the next run)."""
    count, after = 0, ""
    while True:
        ids = db.session.scalars(select(Shop.id).where(Shop.id > after).order_by(Shop.id).limit(batch)).all()
        if not ids:
            return count
        for shop_id in ids:
            shop = db.session.get(Shop, shop_id)
            if shop is None:
                continue
            try:
                refresh_shop(shop, now)
                count += 1
            except SQLAlchemyError:  # one shop's failure (a refresh racing this one) must not stop the others
                log.exception("performance refresh failed", extra={"shop": shop_id})
                db.session.rollback()
        after = ids[-1]
        db.session.expunge_all()


def _text(figures: PerformanceFigures) -> dict[str, Any]:
    return {
        "delivered": figures.delivered,
        "on_time_rate": ratio_text(figures.on_time_rate),
        "loss_ratio": ratio_text(figures.loss_ratio),
        "return_rate": ratio_text(figures.return_rate),
    }


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None
