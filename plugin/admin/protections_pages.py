"""/admin/protections: every protection of the shop (filters, search, keyset pages, CSV), and one protection with
its payment, the consent evidence (what the shopper was shown and agreed to) and its parcels, policies, claims."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from sqlalchemy import ColumnElement, or_, select

from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.admin.list_support import Formats, major, optional_url, segmented_list, web_link, zone_of
from plugin.admin.list_words import word
from plugin.admin.listing import (
    Order,
    Segment,
    choice_arg,
    date_range_args,
    text_arg,
    walk_chain,
)
from plugin.domain.protections import ProtectionStatus
from plugin.extensions import db
from plugin.models import Claim, Consent, Protection
from plugin.services.protections import order_relations

STATUSES = [status.value for status in ProtectionStatus]
NEWEST_FIRST = (Order(Protection.created_at), Order(Protection.id))
FILTER_NAMES = ("status", "from", "to", "q")
CSV_HEADER = (
    "id",
    "order_id",
    "created_at",
    "status",
    "review_reason",
    "disputed",
    "line_item_check",
    "currency",
    "declared_value_minor",
    "declared_value",
    "premium_minor",
    "premium",
    "customer_price_minor",
    "customer_price",
    "merchant_contribution_minor",
    "merchant_contribution",
    "charged_minor",
    "charged",
    "customer_email",
    "payment_intent",
    "checkout_session",
    "consent_id",
    "voided_at",
    # Added with the return cover; at the end, so existing imports keep their columns.
    "coverages",
    "returns_customer_price_minor",
    "returns_customer_price",
    "rate_tier",
    "returns_rate_tier",
    "shipping_carrier",
)


@dataclass(frozen=True)
class ProtectionFilters:
    """What the list is narrowed to."""

    status: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    search: str | None = None  # an order id, the shopper's email, a PaymentIntent or a protection id


def _search(text: str) -> ColumnElement[bool]:
    # Each term has its own index (shop_id, …): the database reads only the matching rows.
    terms = [
        Protection.order_id == text,
        Protection.customer_email.in_(sorted({text, text.lower()})),  # as recorded, or in lower case
        Protection.payment_intent == text,
    ]
    if text.startswith("prot_"):
        terms.append(Protection.id == text)
    return or_(*terms)


def protections_list(shop_id: str, filters: ProtectionFilters) -> list[Segment]:
    """The shop's protections narrowed by the filters, newest first (one segment)."""
    statement = select(Protection).where(Protection.shop_id == shop_id)
    if filters.status is not None:
        statement = statement.where(Protection.status == filters.status)
    if filters.since is not None:
        statement = statement.where(Protection.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Protection.created_at < filters.until)
    if filters.search is not None:
        statement = statement.where(_search(filters.search))
    return [Segment(statement, NEWEST_FIRST)]


def _filters_from_request(formats: Formats) -> ProtectionFilters:
    since, until = date_range_args(formats.zone)
    return ProtectionFilters(choice_arg("status", STATUSES), since, until, text_arg("q"))


def _coverages(protection: Protection) -> tuple[tuple[str, bool], ...]:
    return (("shipping", protection.covers_shipping), ("returns", protection.covers_returns))


def _csv_rows(segments: list[Segment]) -> Iterator[list[Any]]:
    for protection in walk_chain(segments):
        currency = protection.currency
        yield [
            protection.id,
            protection.order_id,
            protection.created_at,
            protection.status,
            protection.review_reason,
            protection.disputed,
            protection.line_item_check,
            currency,
            protection.declared_value_amount,
            major(protection.declared_value_amount, currency),
            protection.premium_amount,
            major(protection.premium_amount, currency),
            protection.customer_price_amount,
            major(protection.customer_price_amount, currency),
            protection.merchant_contribution_amount,
            major(protection.merchant_contribution_amount, currency),
            protection.charged_amount,
            major(protection.charged_amount, currency),
            protection.customer_email,
            protection.payment_intent,
            protection.checkout_session,
            protection.consent_id,
            protection.voided_at,
            "+".join(name for name, bought in _coverages(protection) if bought),
            protection.returns_customer_price_amount,
            major(protection.returns_customer_price_amount, currency),
            protection.rate_tier,
            protection.returns_rate_tier,
            protection.shipping_carrier,
        ]


@bp.get("/protections")
def protections() -> ResponseReturnValue:
    """The shop's protections, newest first; `?format=csv` downloads every row the filters keep."""
    shop = current_shop()
    formats = Formats(zone_of(shop))
    filters = _filters_from_request(formats)
    segments = protections_list(shop.id, filters)
    return segmented_list(
        endpoint="admin.protections",
        template="admin/protections.html",
        segments=segments,
        filter_names=FILTER_NAMES,
        csv_name="protections.csv",
        csv_header=CSV_HEADER,
        csv_rows=_csv_rows,
        shop=shop,
        title=lazy_gettext("Protections"),
        statuses=[(status, word(status)) for status in STATUSES],
        fmt=formats,
        word=word,
    )


@bp.get("/protections/<protection_id>", endpoint="protection")
def protection_page(protection_id: str) -> ResponseReturnValue:
    """One protection: its money, its payment, the consent evidence, its parcels, policies and claims."""
    shop = current_shop()
    found = db.session.scalars(
        select(Protection).where(Protection.id == protection_id, Protection.shop_id == shop.id)
    ).first()
    if found is None:
        abort(404)
    payment = found.payment if found.payment is not None and found.payment.shop_id == shop.id else None
    consent = None
    if found.consent_id:
        consent = db.session.scalars(
            select(Consent).where(Consent.id == found.consent_id, Consent.shop_id == shop.id)
        ).first()
    related = order_relations(shop.id, [found])
    order = found.order_id or ""
    policies = {policy.shipment_id: policy for policy in related.policies.get(order, [])}
    parcels = [(shipment, policies.get(shipment.id)) for shipment in related.shipments.get(order, [])]
    claim_filter = Claim.protection_id == found.id
    if found.order_id:
        claim_filter = or_(claim_filter, Claim.order_id == found.order_id)
    claims = list(
        db.session.scalars(select(Claim).where(Claim.shop_id == shop.id, claim_filter).order_by(Claim.created_at))
    )
    return render_template(
        "admin/protection.html",
        shop=shop,
        title=lazy_gettext("Protection %(order)s", order=found.order_id or found.id),
        protection=found,
        payment=payment,
        consent=consent,
        consent_verified=found.id in related.verified_consents,
        terms_link=web_link(consent.terms_url) if consent is not None else None,
        parcels=parcels,
        claims=[(claim, optional_url("admin.claim", claim_id=claim.id)) for claim in claims],
        fmt=Formats(zone_of(shop)),
        word=word,
    )
