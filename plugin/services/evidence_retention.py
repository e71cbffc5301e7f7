"""Evidence retention: files are kept `claims.evidence_retention_days` (730) after their claim was decided, and a
parcel's packing evidence as long after it shipped, unless a claim on the parcel is undecided or was decided more
recently. Deleted in batches (rows and bytes), each batch its own transaction; never a file of an undecided claim."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select

from plugin.domain.claims import DECIDED_STATUSES
from plugin.extensions import db
from plugin.models import Claim, Evidence, Shipment, Shop
from plugin.services.erasure import delete_evidence
from plugin.services.settings import effective_settings

log = logging.getLogger(__name__)

PURGE_TASK = "evidence_purge"  # the scheduled_tasks row that lets one worker purge per interval
PURGE_INTERVAL = timedelta(hours=6)
BATCH_SIZE = 200
_DECIDED = [str(status) for status in DECIDED_STATUSES]


def retention_days(shop: Shop) -> int:
    """The shop's `claims.evidence_retention_days`."""
    return int(effective_settings(shop)["claims"]["evidence_retention_days"])


def _expired(shop_id: str, cutoff: datetime) -> Select[Any]:
    """The ids of the shop's evidence past its retention."""
    claim_expired = exists().where(
        Claim.id == Evidence.claim_id,
        Claim.status.in_(_DECIDED),
        Claim.decided_at.is_not(None),
        Claim.decided_at < cutoff,
    )
    # A claim on the parcel that still needs its packing evidence: undecided, or decided within the retention.
    claim_needs_parcel = exists().where(
        Claim.shipment_id == Evidence.shipment_id,
        or_(~Claim.status.in_(_DECIDED), Claim.decided_at.is_(None), Claim.decided_at >= cutoff),
    )
    parcel_expired = and_(
        Evidence.claim_id.is_(None),
        Evidence.shipment_id.is_not(None),
        exists().where(Shipment.id == Evidence.shipment_id, Shipment.created_at < cutoff),
        ~claim_needs_parcel,
    )
    return (
        select(Evidence)
        .where(Evidence.shop_id == shop_id, or_(and_(Evidence.claim_id.is_not(None), claim_expired), parcel_expired))
        .order_by(Evidence.created_at, Evidence.id)
    )


def purge_shop(shop: Shop, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete the shop's expired evidence, a batch per transaction; how many files."""
    cutoff = now - timedelta(days=retention_days(shop))
    shop_id = shop.id
    deleted = 0
    while True:
        rows: list[Evidence] = list(db.session.scalars(_expired(shop_id, cutoff).limit(batch_size)))
        if not rows:
            return deleted
        deleted += delete_evidence(rows)
        db.session.commit()
        if len(rows) < batch_size:
            return deleted


def purge(now: datetime, shop_id: str | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Purge every shop (or one); by shop id, how many files went (shops with none left out)."""
    statement = select(Shop).order_by(Shop.id)
    if shop_id is not None:
        statement = statement.where(Shop.id == shop_id)
    shops = list(db.session.scalars(statement))
    done: dict[str, int] = {}
    for shop in shops:
        count = purge_shop(shop, now, batch_size)
        if count:
            done[shop.id] = count
            log.info("evidence purged", extra={"shop": shop.id, "files": count})
    return done
