"""Shoppers whose return cover the merchant switched off (a swapped or empty return), and lifting it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from plugin.errors import NotFoundError
from plugin.extensions import db
from plugin.models import BlockedShopper
from plugin.services import audit
from plugin.services.claims import normalise_email


def list_blocked(shop_id: str, *, limit: int = 100, search: str | None = None) -> list[BlockedShopper]:
    """The shop's blocked shoppers, newest first (`search`: one email)."""
    statement = select(BlockedShopper).where(BlockedShopper.shop_id == shop_id)
    if search:
        statement = statement.where(BlockedShopper.email == normalise_email(search))
    return list(db.session.scalars(statement.order_by(BlockedShopper.created_at.desc()).limit(limit)))


def lift_block(shop_id: str, email: str, now: datetime, *, actor: str) -> None:
    """The shopper's return cover works again (for returns opened from now on); commit."""
    row = db.session.get(BlockedShopper, (shop_id, normalise_email(email)))
    if row is None:
        raise NotFoundError("This shopper is not blocked.")
    audit.record(shop_id, actor, "blocked_shopper.lifted", now, target=row.email, before={"reason": row.reason})
    db.session.delete(row)
    db.session.commit()
