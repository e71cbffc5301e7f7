"""The proactive tracking scan: find stalled and late parcels, alert the merchant, then invite the shopper.

Decisions are the pure plugin.domain.tracking_scan's; this reads the parcels a shop's rules make worth a look
(not delivered, not cancelled, protected unless `insurer.scope` is `all_orders`, shipped inside the claim window,
old enough to act on: one indexed range on (shop_id, shipped_at)), in batches, and carries out the actions in
one transaction per batch, stamping each on the shipment so nothing is done twice. Emails and webhook events are
queued as jobs; nothing here calls out.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from plugin.api.presenters import shipment_body
from plugin.domain.notices import Notice
from plugin.domain.tracking_scan import ParcelTrack, ScanAction, ScanRules, scan_parcel
from plugin.extensions import db
from plugin.models import Claim, Policy, Protection, ScheduledTask, Shipment, Shop
from plugin.services import notifications, webhooks
from plugin.services.settings import effective_settings

log = logging.getLogger(__name__)
BATCH_SIZE = 500
TRACKING_SCAN = "tracking_scan"


@dataclass
class ScanSummary:
    """What one scan did."""

    shops: int = 0
    parcels_checked: int = 0
    stalled: int = 0
    unstalled: int = 0
    merchant_alerts: int = 0
    shopper_invites: int = 0
    delay_notices: int = 0
    batches_retried: int = 0

    def report(self) -> dict[str, int]:
        """The summary as one JSON-ready object."""
        return asdict(self)


def _track(shipment: Shipment, claimed: set[str]) -> ParcelTrack:
    return ParcelTrack(
        shipped_at=shipment.shipped_at,
        last_tracking_at=shipment.last_tracking_at,
        delivered_at=shipment.delivered_at,
        cancelled_at=shipment.cancelled_at,
        stalled_at=shipment.stalled_at,
        merchant_alerted_at=shipment.merchant_alerted_at,
        shopper_invited_at=shipment.shopper_invited_at,
        delay_notified_at=shipment.delay_notified_at,
        has_claim=shipment.id in claimed,
    )


def _candidates(shop: Shop, rules: ScanRules, all_orders: bool, now: datetime) -> Any:
    """The shop's parcels worth a look now, as a statement ordered for keyset batches."""
    statement = select(Shipment).where(
        Shipment.shop_id == shop.id,
        Shipment.shipped_at >= now - timedelta(days=rules.lost_until_days),
        Shipment.shipped_at <= now - timedelta(days=rules.earliest_action_days()),
        Shipment.delivered_at.is_(None),
        Shipment.cancelled_at.is_(None),
    )
    # Parcels with every notice already given need no look (the delay notice only matters when the cover is on).
    if rules.delay_compensation > 0:
        statement = statement.where(or_(Shipment.shopper_invited_at.is_(None), Shipment.delay_notified_at.is_(None)))
    else:
        statement = statement.where(Shipment.shopper_invited_at.is_(None))
    if not all_orders:
        statement = statement.join(Protection, Protection.id == Shipment.protection_id).where(
            Protection.status == "active"
        )
    return statement.order_by(Shipment.shipped_at, Shipment.id)


def _apply(
    shop: Shop, shipment: Shipment, actions: tuple[ScanAction, ...], summary: ScanSummary, now: datetime
) -> None:
    for action in actions:
        if action is ScanAction.MARK_STALLED:
            shipment.stalled_at = now
            summary.stalled += 1
        elif action is ScanAction.CLEAR_STALLED:
            shipment.stalled_at = None
            summary.unstalled += 1
        elif action is ScanAction.ALERT_MERCHANT:
            shipment.merchant_alerted_at = now
            notifications.queue_parcel_email(shop, shipment, Notice.MERCHANT_TRACKING_STALLED, now)
            policy = db.session.scalars(select(Policy).where(Policy.shipment_id == shipment.id)).first()
            webhooks.emit(shop.id, "tracking.stalled", shipment_body(shipment, policy), now)
            summary.merchant_alerts += 1
        elif action is ScanAction.INVITE_SHOPPER:
            shipment.shopper_invited_at = now
            notifications.queue_parcel_email(shop, shipment, Notice.PARCEL_STALLED, now)
            summary.shopper_invites += 1
        elif action is ScanAction.NOTIFY_DELAY:
            shipment.delay_notified_at = now
            notifications.queue_parcel_email(shop, shipment, Notice.PARCEL_DELAYED, now)
            summary.delay_notices += 1


def _scan_batch(shop: Shop, statement: Any, rules: ScanRules, summary: ScanSummary, now: datetime) -> list[Shipment]:
    """One batch, in one transaction (rows locked on PostgreSQL; another scan skips them)."""
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=Shipment, skip_locked=True)
    rows = list(db.session.scalars(statement.limit(BATCH_SIZE).execution_options(populate_existing=True)))
    if not rows:
        return rows
    ids = [row.id for row in rows]
    claimed = set(db.session.scalars(select(Claim.shipment_id).where(Claim.shipment_id.in_(ids))))
    for shipment in rows:
        summary.parcels_checked += 1
        actions = scan_parcel(_track(shipment, claimed), rules, now)
        if actions:
            _apply(shop, shipment, actions, summary, now)
    return rows


def scan_shop(shop: Shop, now: datetime, summary: ScanSummary) -> None:
    """Scan one shop's parcels, a batch per transaction."""
    settings = effective_settings(shop)
    rules = ScanRules.of(settings["claims"])
    base = _candidates(shop, rules, settings["insurer"]["scope"] == "all_orders", now)
    after: tuple[datetime, str] | None = None
    while True:
        statement = base
        if after is not None:
            statement = statement.where(
                or_(Shipment.shipped_at > after[0], and_(Shipment.shipped_at == after[0], Shipment.id > after[1]))
            )
        try:
            rows = _scan_batch(shop, statement, rules, summary, now)
            last = (rows[-1].shipped_at, rows[-1].id) if rows else None
            db.session.commit()
        except IntegrityError:  # another scan queued the same notice at the same moment: its batch stands
            db.session.rollback()
            summary.batches_retried += 1
            log.warning("tracking scan batch overlapped another scan", extra={"shop": shop.id})
            return
        if last is None or len(rows) < BATCH_SIZE:
            return
        after = last


def scan_tracking(now: datetime, shop_id: str | None = None) -> ScanSummary:
    """Scan every shop (or one) for stalled and late parcels; the summary of what was done."""
    summary = ScanSummary()
    statement = select(Shop.id).order_by(Shop.id)
    if shop_id is not None:
        statement = statement.where(Shop.id == shop_id)
    shop_ids = list(db.session.scalars(statement))
    db.session.commit()
    for current in shop_ids:
        shop = db.session.get(Shop, current)
        if shop is None:
            continue
        summary.shops += 1
        scan_shop(shop, now, summary)
    log.info("tracking scan done", extra=summary.report())
    return summary


def claim_periodic_run(name: str, now: datetime, interval: timedelta) -> bool:
    """Whether this process runs the periodic task `name` now: true for exactly one caller per interval, however
    many workers ask (the one whose update moves the recorded time forward wins)."""
    moved = db.session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.name == name, ScheduledTask.last_run_at <= now - interval)
        .values(last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0) == 1:
        db.session.commit()
        return True
    if db.session.get(ScheduledTask, name) is not None:
        db.session.rollback()
        return False
    db.session.add(ScheduledTask(name=name, last_run_at=now))
    try:
        db.session.commit()
    except IntegrityError:  # another worker recorded the first run at the same moment
        db.session.rollback()
        return False
    return True
