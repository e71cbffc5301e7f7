"""/admin/deliveries: the webhooks Stripe and the store sent us (what each did), and on a second tab the events we
send to the merchant's endpoints with each delivery's status, attempts and last error (a retry on failed ones)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from sqlalchemy import ColumnElement, select

from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.admin.list_support import Formats, here, pager_links, zone_of
from plugin.admin.list_words import word
from plugin.admin.listing import (
    Order,
    Segment,
    chained_page,
    choice_arg,
    csv_response,
    cursor_arg,
    date_range_args,
    format_arg,
    limit_arg,
    text_arg,
    walk_chain,
)
from plugin.domain.jobs import JobStatus
from plugin.extensions import db
from plugin.models import Job, WebhookDelivery, WebhookEndpoint, WebhookEvent
from plugin.services.job_retries import can_retry
from plugin.services.webhooks import DELIVER_WEBHOOK

INBOUND, OUTBOUND = "inbound", "outbound"
SOURCES = ("stripe", "platform")
JOB_STATUSES = [status.value for status in JobStatus]
INBOUND_NEWEST = (Order(WebhookDelivery.received_at), Order(WebhookDelivery.id))
OUTBOUND_NEWEST = (Order(Job.created_at), Order(Job.id))
INBOUND_FILTERS = ("source", "outcome", "from", "to", "q")
OUTBOUND_FILTERS = ("status", "from", "to", "q")
INBOUND_HEADER = ("id", "received_at", "source", "topic", "delivery_id", "outcome")
OUTBOUND_HEADER = (
    "event",
    "type",
    "created_at",
    "endpoint",
    "endpoint_url",
    "job",
    "status",
    "attempts",
    "max_attempts",
    "last_error",
    "next_attempt_at",
    "finished_at",
)


@dataclass(frozen=True)
class InboundFilters:
    """What the list of received webhooks is narrowed to."""

    source: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    search: str | None = None  # a delivery id (Stripe's event id, the store's webhook id)


@dataclass(frozen=True)
class OutboundFilters:
    """What the list of sent events is narrowed to."""

    status: str | None = None  # the delivery's (its job's) status
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None  # an event id (evt_…) or a delivery's job id (job_…)


def inbound_list(shop_id: str, filters: InboundFilters) -> list[Segment]:
    """The webhooks the shop received, newest first."""
    statement = select(WebhookDelivery).where(WebhookDelivery.shop_id == shop_id)
    if filters.source is not None:
        statement = statement.where(WebhookDelivery.source == filters.source)
    if filters.outcome is not None:
        statement = statement.where(WebhookDelivery.outcome == filters.outcome)
    if filters.since is not None:
        statement = statement.where(WebhookDelivery.received_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(WebhookDelivery.received_at < filters.until)
    if filters.search is not None:
        # (shop_id, source, delivery_id) is unique: naming the sources lets the database look the id up under each.
        sources = [filters.source] if filters.source is not None else list(SOURCES)
        statement = statement.where(WebhookDelivery.source.in_(sources), WebhookDelivery.delivery_id == filters.search)
    return [Segment(statement, INBOUND_NEWEST)]


def _outbound_search(text: str) -> ColumnElement[bool]:
    if text.startswith("job_"):
        return Job.id == text
    return Job.subject == text  # the event's id ((kind, subject) is indexed)


def outbound_list(shop_id: str, filters: OutboundFilters) -> list[Segment]:
    """Each delivery of an event to one of the merchant's endpoints (one job each), newest first."""
    statement = (
        select(Job, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == Job.subject)
        .where(Job.shop_id == shop_id, Job.kind == DELIVER_WEBHOOK, WebhookEvent.shop_id == shop_id)
    )
    if filters.status is not None:
        statement = statement.where(Job.status == filters.status)
    if filters.since is not None:
        statement = statement.where(Job.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Job.created_at < filters.until)
    if filters.search is not None:
        statement = statement.where(_outbound_search(filters.search))
    return [Segment(statement, OUTBOUND_NEWEST)]


def _endpoint_urls(shop_id: str) -> dict[str, str]:
    rows = db.session.execute(select(WebhookEndpoint.id, WebhookEndpoint.url).where(WebhookEndpoint.shop_id == shop_id))
    return {endpoint_id: url for endpoint_id, url in rows}


def _endpoint_of(job: Job) -> str:
    value = (job.payload or {}).get("endpoint")
    return value if isinstance(value, str) else ""


def _inbound_rows(segments: list[Segment]) -> Iterator[list[Any]]:
    for delivery in walk_chain(segments):
        yield [
            delivery.id,
            delivery.received_at,
            delivery.source,
            delivery.topic,
            delivery.delivery_id,
            delivery.outcome,
        ]


def _outbound_rows(segments: list[Segment], urls: dict[str, str]) -> Iterator[list[Any]]:
    for job, event in walk_chain(segments):
        endpoint = _endpoint_of(job)
        yield [
            event.id,
            event.type,
            event.created_at,
            endpoint,
            urls.get(endpoint),
            job.id,
            job.status,
            job.attempts,
            job.max_attempts,
            job.last_error,
            job.next_attempt_at if job.status in (JobStatus.QUEUED, JobStatus.RETRYING) else None,
            job.finished_at,
        ]


@bp.get("/deliveries")
def deliveries() -> ResponseReturnValue:
    """Webhooks received (`?tab=inbound`, the default) or sent (`?tab=outbound`); `?format=csv` downloads them."""
    shop = current_shop()
    formats = Formats(zone_of(shop))
    tab = choice_arg("tab", (INBOUND, OUTBOUND)) or INBOUND
    since, until = date_range_args(formats.zone)
    urls: dict[str, str] = {}
    if tab == INBOUND:
        names: tuple[str, ...] = INBOUND_FILTERS
        filters: Any = InboundFilters(choice_arg("source", SOURCES), text_arg("outcome"), since, until, text_arg("q"))
        segments = inbound_list(shop.id, filters)
    else:
        names = OUTBOUND_FILTERS
        filters = OutboundFilters(choice_arg("status", JOB_STATUSES), since, until, text_arg("q"))
        segments = outbound_list(shop.id, filters)
        urls = _endpoint_urls(shop.id)
    if format_arg() == "csv":
        if tab == INBOUND:
            return csv_response("webhooks-received.csv", INBOUND_HEADER, _inbound_rows(segments))
        return csv_response("webhooks-sent.csv", OUTBOUND_HEADER, _outbound_rows(segments, urls))
    page = chained_page(segments, cursor_arg(), limit_arg())
    raw = {name: request.args.get(name, "") for name in names}
    return render_template(
        "admin/deliveries.html",
        shop=shop,
        title=lazy_gettext("Webhook deliveries"),
        tab=tab,
        rows=page.rows,
        links=pager_links("admin.deliveries", {"tab": tab, **raw}, page),
        filters=raw,
        sources=[(source, word(source)) for source in SOURCES],
        statuses=[(status, word(status)) for status in JOB_STATUSES],
        urls=urls,
        endpoint_of=_endpoint_of,
        can_retry=can_retry,
        here=here(),
        fmt=formats,
        word=word,
    )
