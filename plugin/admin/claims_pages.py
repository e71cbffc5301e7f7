"""The claims queue, /admin/claims: what waits for a person first, then everything else; filters, search,
keyset pages and a CSV export of the same list.

The queue's order: claims that need review (a fraud signal or a disputed payment), oldest first; then the ones
waiting for the merchant's decision, oldest first; then every decided claim, newest first. The queue is read as
those three segments one after the other, each a plain keyset query on (status, created_at): a single query
ordered by a computed rank would sort every claim of the shop for each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, func, or_, select

from plugin.admin import claim_words as words
from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.admin.listing import (
    MAX_FILTER_LENGTH,
    BadFilter,
    Order,
    Page,
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
from plugin.models import Claim, Shipment
from plugin.services.claims import normalise_email, normalise_order_number

_CLAIM_ID: ColumnElement[Any] = Claim.id.expression


@dataclass(frozen=True)
class Segment:
    """A run of the queue: claims in these statuses, oldest or newest first."""

    statuses: tuple[str, ...]
    newest_first: bool

    def narrow(self, statement: Select[Any]) -> Select[Any]:
        return statement.where(Claim.status.in_(self.statuses))

    @property
    def orders(self) -> tuple[Order, Order]:
        return (Order(Claim.created_at.expression, descending=self.newest_first), Order(_CLAIM_ID, descending=True))


SEGMENTS = (
    Segment((ClaimStatus.NEEDS_REVIEW.value,), newest_first=False),
    Segment((ClaimStatus.SUBMITTED.value,), newest_first=False),
    Segment(
        (ClaimStatus.APPROVED.value, ClaimStatus.PAID.value, ClaimStatus.RESHIPPED.value, ClaimStatus.DENIED.value),
        newest_first=True,
    ),
)


def _first_segment(statement: Select[Any], cursor: str | None) -> int:
    """The segment the cursor's claim stands in (found through the filtered statement, so that another shop's
    claim, or one the filters leave out, is no cursor)."""
    if cursor is None:
        return 0
    status = None
    if len(cursor) <= MAX_FILTER_LENGTH:
        status = db.session.scalar(statement.with_only_columns(Claim.status).where(Claim.id == cursor))
    for index, segment in enumerate(SEGMENTS):
        if status in segment.statuses:
            return index
    raise BadFilter(gettext("The page cursor is not valid."))


def queue_page(statement: Select[Any], cursor: str | None, limit: int) -> Page:
    """A page of the queue after the claim named by `cursor`: the rest of its segment, then the next ones."""
    first = _first_segment(statement, cursor)
    rows: list[Any] = []
    for index in range(first, len(SEGMENTS)):
        segment = SEGMENTS[index]
        if len(rows) == limit:  # the page is full: is there anything after it?
            found = db.session.execute(segment.narrow(statement).with_only_columns(_CLAIM_ID).limit(1)).first()
            if found is not None:
                return Page(rows, rows[-1][0].id)
            continue
        page = keyset_page(
            segment.narrow(statement), segment.orders, _CLAIM_ID, cursor if index == first else None, limit - len(rows)
        )
        rows += page.rows
        if page.next_cursor is not None:
            return Page(rows, page.next_cursor)
    return Page(rows, None)


def walk_queue(statement: Select[Any]) -> Iterator[Any]:
    """Every claim of the statement in the queue's order, a batch at a time (for the CSV export)."""
    for segment in SEGMENTS:
        yield from walk(segment.narrow(statement), segment.orders, _CLAIM_ID)


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
    page = queue_page(statement, text_arg("after"), limit)
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
    for claim, shipment_ref in walk_queue(statement):
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
