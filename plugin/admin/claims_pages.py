"""The claims queue, /admin/claims: what waits for a person first, then everything else; filters, search,
keyset pages and a CSV export of the same list.

The queue's order: claims that need review (a fraud signal or a disputed payment), oldest first; then the ones
waiting for the merchant's decision, oldest first; then every decided claim, newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select

from plugin.admin import claim_words as words
from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.admin.listing import (
    Order,
    choice_arg,
    csv_response,
    date_arg,
    keyset_page,
    limit_arg,
    text_arg,
    walk,
)
from plugin.domain.claims import ClaimStatus, ClaimType
from plugin.extensions import db
from plugin.models import Claim, Shipment, UTCDateTime
from plugin.services.claims import normalise_email, normalise_order_number

# Rank in the queue: needs review, then waiting for a decision, then decided.
_RANK = case(
    (Claim.status == ClaimStatus.NEEDS_REVIEW.value, 0),
    (Claim.status == ClaimStatus.SUBMITTED.value, 1),
    else_=2,
)
_WAITING = Claim.status.in_([ClaimStatus.NEEDS_REVIEW.value, ClaimStatus.SUBMITTED.value])
# One constant time stands in for the other group's rows, so each sort key is never NULL (keyset comparisons
# need values) and orders only its own group: waiting claims oldest first, decided ones newest first.
_SAME = literal(datetime(2000, 1, 1, tzinfo=UTC), UTCDateTime())
QUEUE_ORDER = (
    Order(_RANK, descending=False),
    Order(case((_WAITING, Claim.created_at), else_=_SAME), descending=False),
    Order(case((_WAITING, _SAME), else_=Claim.created_at), descending=True),
    Order(Claim.id.expression, descending=True),
)
_CLAIM_ID: ColumnElement[Any] = Claim.id.expression
STATUS_ORDER = ("needs_review", "submitted", "approved", "paid", "reshipped", "denied")
CSV_HEADER = (
    "claim_id",
    "created_at",
    "order_id",
    "shipment_id",
    "type",
    "status",
    "review_reason",
    "signals",
    "email",
    "currency",
    "amount_minor",
    "amount",
    "covered_amount_minor",
    "covered_amount",
    "resolution",
    "approved_amount_minor",
    "approved_amount",
    "reship_cost_minor",
    "reship_cost",
    "decided_by",
    "decided_at",
    "deny_reason",
    "refund_status",
    "refund_error",
    "paid_at",
    "paid_method",
    "paid_reference",
    "recovery_status",
    "recovery_amount_minor",
    "recovery_amount",
)


def _filtered(shop_id: str) -> tuple[Select[Any], dict[str, Any]]:
    """The shop's claims (with each parcel's store id) narrowed by the query string's filters, and the filters."""
    zone = words.zone_of(current_shop())
    status = choice_arg("status", STATUS_ORDER)
    kind = choice_arg("type", [kind.value for kind in ClaimType])
    created_from = date_arg("from", zone)
    created_to = date_arg("to", zone, end=True)
    search = text_arg("q")
    statement = (
        select(Claim, Shipment.shipment_ref)
        .join(Shipment, Shipment.id == Claim.shipment_id)
        .where(Claim.shop_id == shop_id)
    )
    if status is not None:
        statement = statement.where(Claim.status == status)
    if kind is not None:
        statement = statement.where(Claim.type == kind)
    if created_from is not None:
        statement = statement.where(Claim.created_at >= created_from)
    if created_to is not None:
        statement = statement.where(Claim.created_at < created_to)
    if search is not None:
        statement = statement.where(_matches(search))
    shown = {"status": status, "type": kind, "from": request.args.get("from"), "to": request.args.get("to")}
    shown["q"] = search
    # listing takes Select[Any]; SQLAlchemy 2.1 types a two-column select as Select[Claim, str].
    return cast(Select[Any], statement), {name: value for name, value in shown.items() if value}


def _matches(search: str) -> ColumnElement[bool]:
    """A claim id, an order number (`#1001` is 1001) or a customer's email, each matched whole."""
    return or_(
        Claim.id == search,
        Claim.order_id == normalise_order_number(search),
        Claim.email == normalise_email(search),
    )


def status_counts(shop_id: str) -> list[tuple[str, int]]:
    """How many of the shop's claims stand in each status, in the queue's order."""
    found = dict(
        db.session.execute(
            select(Claim.status, func.count()).where(Claim.shop_id == shop_id).group_by(Claim.status)
        ).all()
    )
    return [(status, int(found.get(status, 0))) for status in STATUS_ORDER]


@bp.get("/claims")
def claims() -> ResponseReturnValue:
    """The review queue: claims needing a person first, then the rest; filters, search and pages."""
    shop = current_shop()
    statement, filters = _filtered(shop.id)
    limit = limit_arg()
    page = keyset_page(statement, QUEUE_ORDER, _CLAIM_ID, text_arg("after"), limit)
    next_url = None
    if page.next_cursor is not None:
        sized: dict[str, Any] = {"limit": limit} if "limit" in request.args else {}
        next_url = url_for("admin.claims", **filters, **sized, after=page.next_cursor)
    return render_template(
        "admin/claims.html",
        shop=shop,
        rows=page.rows,
        counts=status_counts(shop.id),
        filters=filters,
        next_url=next_url,
        first_url=url_for("admin.claims", **filters) if request.args.get("after") else None,
        csv_url=url_for("admin.claims_csv", **filters),
        statuses=STATUS_ORDER,
        types=[kind.value for kind in ClaimType],
        words=words,
        zone=words.zone_of(shop),
    )


def _csv_rows(statement: Select[Any]) -> Iterator[list[Any]]:
    for claim, shipment_ref in walk(statement, QUEUE_ORDER, _CLAIM_ID):
        currency = claim.currency
        yield [
            claim.id,
            claim.created_at,
            claim.order_id,
            shipment_ref,
            claim.type,
            claim.status,
            claim.review_reason,
            " ".join(str(signal.get("code")) for signal in claim.signals or []),
            claim.email,
            currency,
            claim.amount,
            words.plain_amount(claim.amount, currency),
            claim.covered_amount,
            words.plain_amount(claim.covered_amount, currency),
            claim.resolution,
            claim.approved_amount,
            words.plain_amount(claim.approved_amount, currency),
            claim.reship_cost_amount,
            words.plain_amount(claim.reship_cost_amount, currency),
            claim.decided_by,
            claim.decided_at,
            claim.deny_reason,
            claim.refund_status,
            claim.refund_error,
            claim.paid_at,
            claim.paid_method,
            claim.paid_reference,
            claim.recovery_status,
            claim.recovery_amount,
            words.plain_amount(claim.recovery_amount, currency),
        ]


@bp.get("/claims.csv")
def claims_csv() -> ResponseReturnValue:
    """The queue with the same filters, every row, as CSV: amounts in minor units, with the currency and as a
    plain decimal; times in UTC (RFC 3339)."""
    statement, _filters = _filtered(current_shop().id)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return csv_response(f"claims-{stamp}.csv", CSV_HEADER, _csv_rows(statement))
