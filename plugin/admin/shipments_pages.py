"""/admin/shipments: every parcel with its policy, failed policies first, then retrying, then pending, then the
rest (filters, search, keyset pages, CSV); one parcel with its tracking; a retry button on failed policies.

The failed-first order never sorts the shop's parcels: the list is a chain of segments, each read through its own
index (failed policies newest first, then retrying, then pending, then every other parcel newest first), so the
first page reads a page's worth of rows whatever the shop's size. A list's date is when the parcel was recorded
(its policy is recorded with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import ColumnElement, func, or_, select

from plugin.admin.access import actor, current_shop
from plugin.admin.blueprint import bp
from plugin.admin.list_support import (
    Formats,
    back_to,
    here,
    major,
    optional_url,
    problem,
    segmented_list,
    web_link,
    zone_of,
)
from plugin.admin.list_words import word
from plugin.admin.listing import (
    AnySelect,
    Order,
    Segment,
    choice_arg,
    date_range_args,
    text_arg,
    walk_chain,
)
from plugin.domain.policies import PolicyStatus
from plugin.errors import ConflictError
from plugin.extensions import db
from plugin.models import Claim, Policy, Protection, Shipment, TrackingEvent, utcnow
from plugin.services import audit
from plugin.services.policies import retry_policy

# Policies that need a person or are still under way come first, in this order.
FIRST = (PolicyStatus.FAILED.value, PolicyStatus.RETRYING.value, PolicyStatus.PENDING.value)
STATUSES = [status.value for status in PolicyStatus]
RETRYABLE = frozenset({PolicyStatus.FAILED.value, PolicyStatus.RETRYING.value})
POLICY_NEWEST = (Order(Policy.created_at), Order(Policy.id))
SHIPMENT_NEWEST = (Order(Shipment.created_at), Order(Shipment.id))
FILTER_NAMES = ("status", "flag", "carrier", "from", "to", "q")
# Why a policy is not the usual one (Policy.flag), in words: short for the list, long for the parcel's page.
FLAG_WORDS = {"carrier_excluded": lazy_gettext("Carrier excluded")}
FLAG_EXPLAINED = {
    "carrier_excluded": lazy_gettext(
        "The insurer does not take this carrier's parcels (eligibility.excluded_carriers): the shop covers this "
        "parcel itself."
    )
}
MAX_TRACKING_EVENTS = 500
CSV_HEADER = (
    "shipment",
    "shipment_id",
    "order_id",
    "created_at",
    "shipped_at",
    "carrier",
    "tracking_number",
    "tracking_status",
    "delivered_at",
    "uninsured_reason",
    "policy",
    "provider",
    "policy_status",
    "currency",
    "sum_insured_minor",
    "sum_insured",
    "cost_minor",
    "cost",
    "certificate",
    "attempts",
    "last_error",
    "next_attempt_at",
    "policy_flag",  # last: columns added later go at the end, so existing imports keep their positions
)


@dataclass(frozen=True)
class ShipmentFilters:
    """What the list is narrowed to."""

    status: str | None = None  # the policy's status
    flag: str | None = None  # the policy's flag (Policy.flag)
    carrier: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    search: str | None = None  # an order id, a tracking number, the store's shipment id, a shp_/pol_ id


def _search(text: str) -> ColumnElement[bool]:
    # Each term has its own index on one table, so the database reads only the matching rows.
    if text.startswith("pol_"):
        return Policy.id == text
    if text.startswith("shp_"):
        return Shipment.id == text
    return or_(Shipment.order_id == text, Shipment.tracking_number == text, Shipment.shipment_ref == text)


def _narrowed(statement: AnySelect, filters: ShipmentFilters, recorded: Any) -> AnySelect:
    if filters.flag is not None:
        statement = statement.where(Policy.flag == filters.flag)
    if filters.carrier is not None:
        statement = statement.where(Shipment.carrier == filters.carrier)
    if filters.since is not None:
        statement = statement.where(recorded >= filters.since)
    if filters.until is not None:
        statement = statement.where(recorded < filters.until)
    if filters.search is not None:
        statement = statement.where(_search(filters.search))
    return statement


def _with_policy(shop_id: str, status: str, filters: ShipmentFilters) -> Segment:
    """Parcels whose policy has this status, newest policy first (the policies' own status index)."""
    statement = (
        select(Shipment, Policy)
        .join(Policy, Policy.shipment_id == Shipment.id)
        .where(Policy.shop_id == shop_id, Policy.status == status, Shipment.shop_id == shop_id)
    )
    return Segment(_narrowed(statement, filters, Policy.created_at), POLICY_NEWEST)


def _the_rest(shop_id: str, filters: ShipmentFilters) -> Segment:
    """Every other parcel (bound, cancelled or uninsured), newest first (the shipments' own index)."""
    statement = (
        select(Shipment, Policy)
        .outerjoin(Policy, Policy.shipment_id == Shipment.id)
        .where(Shipment.shop_id == shop_id, or_(Policy.id.is_(None), Policy.status.not_in(FIRST)))
    )
    return Segment(_narrowed(statement, filters, Shipment.created_at), SHIPMENT_NEWEST)


def shipments_list(shop_id: str, filters: ShipmentFilters) -> list[Segment]:
    """The shop's parcels with their policies: failed, retrying and pending policies first, then the rest."""
    if filters.status is not None:
        return [_with_policy(shop_id, filters.status, filters)]
    return [*(_with_policy(shop_id, status, filters) for status in FIRST), _the_rest(shop_id, filters)]


def carrier_excluded_in_transit(shop_id: str) -> int:
    """Parcels on their way that the shop covers itself because the insurer excludes their carrier."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Policy)
            .join(Shipment, Shipment.id == Policy.shipment_id)
            .where(
                Policy.shop_id == shop_id,
                Policy.flag == "carrier_excluded",
                Policy.status != PolicyStatus.CANCELLED.value,
                Shipment.shop_id == shop_id,
                Shipment.delivered_at.is_(None),
                Shipment.cancelled_at.is_(None),
            )
        )
        or 0
    )


def _filters_from_request(formats: Formats) -> ShipmentFilters:
    since, until = date_range_args(formats.zone)
    return ShipmentFilters(
        choice_arg("status", STATUSES),
        choice_arg("flag", FLAG_WORDS),
        text_arg("carrier"),
        since,
        until,
        text_arg("q"),
    )


def _csv_rows(segments: list[Segment]) -> Iterator[list[Any]]:
    for shipment, policy in walk_chain(segments):
        currency = policy.currency if policy is not None else shipment.currency
        yield [
            shipment.id,
            shipment.shipment_ref,
            shipment.order_id,
            shipment.created_at,
            shipment.shipped_at,
            shipment.carrier,
            shipment.tracking_number,
            shipment.tracking_status,
            shipment.delivered_at,
            shipment.uninsured_reason,
            *(
                (
                    policy.id,
                    policy.provider,
                    policy.status,
                    currency,
                    policy.sum_insured_amount,
                    major(policy.sum_insured_amount, currency),
                    policy.cost_amount,
                    major(policy.cost_amount, currency),
                    policy.certificate,
                    policy.attempts,
                    policy.last_error,
                    policy.next_attempt_at if policy.status in FIRST else None,
                    policy.flag,
                )
                if policy is not None
                else (None, None, None, currency, None, None, None, None, None, None, None, None, None)
            ),
        ]


@bp.get("/shipments")
def shipments() -> ResponseReturnValue:
    """Parcels and their policies, failed ones first; `?format=csv` downloads every row the filters keep."""
    shop = current_shop()
    formats = Formats(zone_of(shop))
    filters = _filters_from_request(formats)
    segments = shipments_list(shop.id, filters)
    return segmented_list(
        endpoint="admin.shipments",
        template="admin/shipments.html",
        segments=segments,
        filter_names=FILTER_NAMES,
        csv_name="shipments.csv",
        csv_header=CSV_HEADER,
        csv_rows=_csv_rows,
        shop=shop,
        title=lazy_gettext("Shipments"),
        statuses=[(status, word(status)) for status in STATUSES],
        flags=list(FLAG_WORDS.items()),
        flag_words=FLAG_WORDS,
        retryable=RETRYABLE,
        open_statuses=FIRST,
        fmt=formats,
        word=word,
    )


def _shop_shipment(shop_id: str, shipment_id: str) -> Shipment:
    found = db.session.scalars(select(Shipment).where(Shipment.id == shipment_id, Shipment.shop_id == shop_id)).first()
    if found is None:
        abort(404)
    return found


def _shop_policy(shop_id: str, policy_id: str) -> Policy:
    found = db.session.scalars(select(Policy).where(Policy.id == policy_id, Policy.shop_id == shop_id)).first()
    if found is None:
        abort(404)
    return found


@bp.get("/shipments/<shipment_id>", endpoint="shipment")
def shipment_page(shipment_id: str) -> ResponseReturnValue:
    """One parcel: where it goes, its tracking events, its policy (with a retry button), its protection, its claim."""
    shop = current_shop()
    parcel = _shop_shipment(shop.id, shipment_id)
    policy = db.session.scalars(
        select(Policy).where(Policy.shipment_id == parcel.id, Policy.shop_id == shop.id)
    ).first()
    events = list(
        db.session.scalars(
            select(TrackingEvent)
            .where(TrackingEvent.shipment_id == parcel.id)
            .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
            .limit(MAX_TRACKING_EVENTS)
        )
    )
    protection = None
    if parcel.protection_id:
        protection = db.session.scalars(
            select(Protection).where(Protection.id == parcel.protection_id, Protection.shop_id == shop.id)
        ).first()
    claim = db.session.scalars(select(Claim).where(Claim.shipment_id == parcel.id, Claim.shop_id == shop.id)).first()
    return render_template(
        "admin/shipment.html",
        shop=shop,
        title=lazy_gettext("Shipment %(reference)s", reference=parcel.shipment_ref),
        shipment=parcel,
        policy=policy,
        events=events,
        protection=protection,
        claim=claim,
        claim_url=optional_url("admin.claim", claim_id=claim.id) if claim is not None else None,
        tracking_link=web_link(parcel.tracking_url),
        certificate_link=web_link(policy.certificate_url) if policy is not None else None,
        flag_explained=FLAG_EXPLAINED,
        retryable=RETRYABLE,
        open_statuses=FIRST,
        here=here(),
        fmt=Formats(zone_of(shop)),
        word=word,
    )


@bp.get("/policies/<policy_id>", endpoint="policy")
def policy_page(policy_id: str) -> ResponseReturnValue:
    """A policy is shown on its parcel's page."""
    found = _shop_policy(current_shop().id, policy_id)
    return redirect(url_for("admin.shipment", shipment_id=found.shipment_id))


@bp.post("/policies/<policy_id>/retry", endpoint="retry_policy")
def retry_policy_page(policy_id: str) -> ResponseReturnValue:
    """Ask the insurer again for a failed (or retrying) policy, now: staff and owners alike work this queue."""
    shop = current_shop()
    found = _shop_policy(shop.id, policy_id)
    now = utcnow()
    before = {"status": found.status, "attempts": found.attempts, "last_error": found.last_error}
    shipment_page = url_for("admin.shipment", shipment_id=found.shipment_id)
    if found.status not in RETRYABLE:
        return problem(
            409,
            gettext("This policy cannot be retried"),
            gettext(
                "Only a failed or retrying policy can be retried; this one is %(status)s.", status=word(found.status)
            ),
            shop,
        )
    # The entry is committed with the retry itself (retry_policy commits), or not at all.
    audit.record(shop.id, actor(), "policy.retried", now, target=found.id, before=before, after={"status": "retrying"})
    try:
        retry_policy(shop.id, found.id, now)
    except ConflictError:
        db.session.rollback()
        return problem(409, gettext("This policy cannot be retried"), gettext("The policy changed meanwhile."), shop)
    flash(gettext("The policy %(policy)s will be bought again now.", policy=found.id))
    return redirect(back_to(shipment_page), code=303)
