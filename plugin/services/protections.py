"""Reading a shop's protections: one, or a filtered page of them (newest first, cursor pagination)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from plugin.errors import NotFoundError
from plugin.extensions import db
from plugin.models import Consent, Payment, Policy, Protection, Shipment
from plugin.services.paging import fetch_page, page_window


@dataclass(frozen=True)
class ProtectionFilter:
    """What a list request asks for."""

    order_id: str | None = None
    status: str | None = None
    created_gte: datetime | None = None
    created_lte: datetime | None = None
    limit: int = 10
    starting_after: str | None = None


@dataclass(frozen=True)
class OrderRelations:
    """What protections show beside themselves, loaded for a whole page at once (one query per relation)."""

    shipments: dict[str, list[Shipment]] = field(default_factory=dict)  # by order id, oldest first
    policies: dict[str, list[Policy]] = field(default_factory=dict)  # by order id, oldest first
    verified_consents: frozenset[str] = frozenset()  # ids of protections whose consent matches their quote


@dataclass(frozen=True)
class ProtectionPage:
    """Protections with their relations, and whether more follow."""

    rows: list[Protection]
    has_more: bool
    related: OrderRelations


def latest_protection(shop_id: str, order_id: str) -> Protection | None:
    """The order's newest protection (an order paid twice has several), whatever its status."""
    return db.session.scalars(
        select(Protection)
        .where(Protection.shop_id == shop_id, Protection.order_id == order_id)
        .order_by(Protection.created_at.desc())
        .limit(1)
    ).first()


def latest_payment(shop_id: str, order_id: str) -> Payment | None:
    """The order's newest succeeded payment, if any."""
    return db.session.scalars(
        select(Payment)
        .where(Payment.shop_id == shop_id, Payment.order_id == order_id, Payment.status == "succeeded")
        .order_by(Payment.id.desc())
        .limit(1)
    ).first()


def order_relations(shop_id: str, protections: list[Protection]) -> OrderRelations:
    """The shipments, policies and consents of these protections' orders, one query per relation."""
    orders = sorted({p.order_id for p in protections if p.order_id})
    related = OrderRelations()
    if orders:
        for shipment in db.session.scalars(
            select(Shipment)
            .where(Shipment.shop_id == shop_id, Shipment.order_id.in_(orders))
            .order_by(Shipment.created_at)
        ):
            related.shipments.setdefault(shipment.order_id, []).append(shipment)
        # Each policy's shipment is one of those just loaded: reading policy.shipment costs no query.
        for policy in db.session.scalars(
            select(Policy).where(Policy.shop_id == shop_id, Policy.order_id.in_(orders)).order_by(Policy.created_at)
        ):
            related.policies.setdefault(policy.order_id, []).append(policy)
    consent_ids = {p.consent_id for p in protections if p.consent_id}
    consents = (
        {c.id: c for c in db.session.scalars(select(Consent).where(Consent.id.in_(consent_ids)))} if consent_ids else {}
    )
    verified = frozenset(
        p.id
        for p in protections
        if p.consent_id in consents
        and consents[p.consent_id].shop_id == shop_id
        and consents[p.consent_id].quote_reference == p.quote_reference
    )
    return OrderRelations(related.shipments, related.policies, verified)


def get_protection(shop_id: str, protection_id: str) -> ProtectionPage:
    """One protection of this shop with its relations; another shop's is as unknown as a missing one."""
    protection = db.session.get(Protection, protection_id, options=[selectinload(Protection.payment)])
    if protection is None or protection.shop_id != shop_id:
        raise NotFoundError("No such protection.")
    return ProtectionPage([protection], False, order_relations(shop_id, [protection]))


def list_protections(shop_id: str, query: ProtectionFilter) -> ProtectionPage:
    """A page of protections, newest first, with their relations, and whether more follow."""
    statement = select(Protection).where(Protection.shop_id == shop_id).options(selectinload(Protection.payment))
    if query.order_id is not None:
        statement = statement.where(Protection.order_id == query.order_id)
    if query.status is not None:
        statement = statement.where(Protection.status == query.status)
    statement = page_window(
        statement,
        Protection,
        shop_id=shop_id,
        created_gte=query.created_gte,
        created_lte=query.created_lte,
        starting_after=query.starting_after,
        noun="protection",
    )
    page, has_more = fetch_page(statement, query.limit)
    return ProtectionPage(page, has_more, order_relations(shop_id, page))
