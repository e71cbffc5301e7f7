"""Newest-first pages of a shop's rows, Stripe-style: a cursor (`starting_after`) and `has_more`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, and_, or_

from plugin.errors import ValidationFailedError
from plugin.extensions import db


class Pageable(Protocol):
    """A row with an id, a shop and a creation time (protections, claims)."""

    id: Any
    shop_id: Any
    created_at: Any


def page_window(
    statement: Select[Any],
    model: type[Pageable],
    *,
    shop_id: str,
    created_gte: datetime | None,
    created_lte: datetime | None,
    starting_after: str | None,
    noun: str,
) -> Select[Any]:
    """The statement narrowed to a creation window and to the rows after the cursor (newest first)."""
    if created_gte is not None:
        statement = statement.where(model.created_at >= created_gte)
    if created_lte is not None:
        statement = statement.where(model.created_at <= created_lte)
    if starting_after is not None:
        cursor = db.session.get(model, starting_after)
        if cursor is None or cursor.shop_id != shop_id:
            raise ValidationFailedError(fields={"starting_after": [f"No such {noun}."]})
        statement = statement.where(
            or_(
                model.created_at < cursor.created_at,
                and_(model.created_at == cursor.created_at, model.id < cursor.id),
            )
        )
    return statement.order_by(model.created_at.desc(), model.id.desc())


def fetch_page(statement: Select[Any], limit: int) -> tuple[list[Any], bool]:
    """Up to `limit` rows, and whether more follow (one row more is read to know)."""
    rows = list(db.session.scalars(statement.limit(limit + 1)))
    return rows[:limit], len(rows) > limit
