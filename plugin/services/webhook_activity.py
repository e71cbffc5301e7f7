"""What the shop's webhooks did lately: deliveries received (Stripe, the store) and events sent to its endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from plugin.domain.jobs import JobStatus
from plugin.extensions import db
from plugin.models import Job, WebhookDelivery, WebhookEndpoint, WebhookEvent
from plugin.services.webhooks import DELIVER_WEBHOOK

RECENT = 15


class Outcome(StrEnum):
    """Where one delivery of an event to one endpoint stands."""

    PENDING = "pending"  # queued, or retrying after a failed attempt
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # refused for good, or out of attempts
    CANCELLED = "cancelled"


_OUTCOMES = {
    JobStatus.QUEUED: Outcome.PENDING,
    JobStatus.RETRYING: Outcome.PENDING,
    JobStatus.SUCCEEDED: Outcome.DELIVERED,
    JobStatus.FAILED: Outcome.FAILED,
    JobStatus.CANCELLED: Outcome.CANCELLED,
}


@dataclass(frozen=True)
class OutboundDelivery:
    """One event's delivery to one endpoint, as its job records it."""

    event_id: str
    event_type: str
    created_at: datetime
    endpoint_id: str
    endpoint_url: str | None  # None: the endpoint was removed since
    outcome: Outcome
    attempts: int
    response_status: int | None  # the endpoint's 2xx, once delivered
    last_error: str | None  # why the last attempt failed
    next_attempt_at: datetime | None


def recent_received(shop_id: str, limit: int = RECENT) -> list[WebhookDelivery]:
    """The deliveries the shop received last (Stripe's and the store's), newest first."""
    # Ids grow with time: the primary key's index reads the newest rows first, whatever the table's size.
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.shop_id == shop_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def recent_sent(shop_id: str, limit: int = RECENT) -> list[OutboundDelivery]:
    """The shop's latest events with each delivery's outcome, newest first."""
    events = list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.shop_id == shop_id)
            .order_by(WebhookEvent.created_at.desc(), WebhookEvent.id.desc())
            .limit(limit)
        )
    )
    if not events:
        return []
    deliveries = db.session.scalars(
        select(Job).where(
            Job.kind == DELIVER_WEBHOOK, Job.subject.in_([event.id for event in events]), Job.shop_id == shop_id
        )
    )
    by_event: dict[str, list[Job]] = {}
    for job in deliveries:
        by_event.setdefault(job.subject, []).append(job)
    urls = {
        endpoint_id: url
        for endpoint_id, url in db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.url).where(WebhookEndpoint.shop_id == shop_id)
        )
    }
    rows: list[OutboundDelivery] = []
    for event in events:
        for job in sorted(by_event.get(event.id, []), key=lambda job: job.created_at):
            payload = job.payload or {}
            endpoint_id = str(payload.get("endpoint", ""))
            status = payload.get("response_status")
            outcome = _OUTCOMES.get(JobStatus(job.status), Outcome.PENDING)
            rows.append(
                OutboundDelivery(
                    event_id=event.id,
                    event_type=event.type,
                    created_at=event.created_at,
                    endpoint_id=endpoint_id,
                    endpoint_url=urls.get(endpoint_id),
                    outcome=outcome,
                    attempts=job.attempts,
                    response_status=status if isinstance(status, int) else None,
                    last_error=job.last_error,
                    next_attempt_at=job.next_attempt_at if outcome is Outcome.PENDING else None,
                )
            )
    return rows
