"""Queued Stripe deliveries (STRIPE_RECORDING=queued): answered once verified and stored, recorded just after.

Stripe asks for a quick 2xx before any complex logic, and at a checkout peak the recording is what costs (a
payment, its protection, their report rows, a dozen index entries). Queued, a verified delivery is stored as its
signed bytes, one row deduplicated against this inbox and against the deliveries already recorded, and answered
200. The worker records it moments later with the code an inline delivery runs (`record_stripe_event`), judging
the quote's expiry at the time the delivery came. A request that reads a shop's payments (the API with a secret
key, the admin, the claim portal, a platform webhook) first records what that shop has waiting (`catch_up`), so
no answer ever misses a payment Stripe was told we have.

Recording is idempotent (webhook_deliveries' unique key): a delivery recorded twice, by a worker and a reader at
once, or again after a crash between its recording and this row's deletion, has its effect once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, text, update

from plugin import logs, metrics
from plugin.config import quote_signing_keys
from plugin.domain.untrusted_text import fit_id
from plugin.errors import database_unreachable
from plugin.extensions import db, run_autocommitted
from plugin.models import QueuedStripeDelivery, utcnow
from plugin.services.purchases import DELIVERY_ID_LIMIT, PurchaseContext
from plugin.services.stripe_account import WebhookReceiver, load_receiver
from plugin.services.stripe_events import record_stripe_event
from plugin.validation import loads_signed

log = logging.getLogger(__name__)

QUEUED = QUEUED_OUTCOME = "queued"
# A read records at most this many of its shop's waiting deliveries first: the worker keeps the inbox near
# empty, and a backlog (no worker running) must not turn one page view into minutes of recording.
CATCH_UP_LIMIT = 200
MAX_BACKOFF = timedelta(hours=1)

# The delivery, unless this inbox or the recorded deliveries have it: one statement, one row, two index entries.
_ACCEPT = (
    "INSERT INTO stripe_inbox (shop_id, event_id, body, received_at, due_at, request_id, attempts)"
    " SELECT {shop_id}, {event_id}, {body}, {now}, {now}, {request_id}, 0"
    " WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries"
    " WHERE shop_id = {shop_id} AND source = 'stripe' AND delivery_id = {event_id})"
    " ON CONFLICT (shop_id, event_id) DO NOTHING RETURNING id"
)
_PARAMETERS = ("shop_id", "event_id", "body", "now", "request_id")
_POSTGRESQL_CASTS = {"shop_id": "text", "event_id": "text", "body": "bytea", "now": "timestamptz", "request_id": "text"}
_ACCEPT_POSTGRESQL = _ACCEPT.format(**{name: f"%({name})s::{_POSTGRESQL_CASTS[name]}" for name in _PARAMETERS})
_ACCEPT_OTHER = text(_ACCEPT.format(**{name: f":{name}" for name in _PARAMETERS}))


def queued() -> bool:
    """Whether this app acknowledges Stripe deliveries before recording them."""
    return bool(current_app.config.get("STRIPE_RECORDING") == QUEUED)


def accept(shop_id: str, event_id: str, body: bytes, now: datetime, request_id: str | None) -> bool:
    """Store a verified delivery for recording; whether it is new (False: queued or recorded before)."""
    params = {
        "shop_id": shop_id,
        "event_id": fit_id(event_id, DELIVERY_ID_LIMIT),
        "body": body,
        "now": now,
        "request_id": request_id,
    }
    if db.engine.dialect.name == "postgresql":
        # Autocommitted, straight through the driver: this is the whole of the acknowledgement's work.
        new = run_autocommitted(_ACCEPT_POSTGRESQL, params) != 0
    else:
        new = db.session.execute(_ACCEPT_OTHER, params).first() is not None
        db.session.commit()
    metrics.webhook_recorded("stripe", QUEUED_OUTCOME if new else "duplicate")
    return new


@dataclass(frozen=True)
class _Waiting:
    """A queued delivery as read for recording (the session is free again while it is recorded)."""

    id: int
    shop_id: str
    event_id: str
    body: bytes
    received_at: datetime
    request_id: str | None


def lease_due(now: datetime, *, limit: int, lease: timedelta) -> list[int]:
    """Take up to `limit` due deliveries, oldest first, for `lease` (a worker that dies lets them come due again)."""
    statement = (
        select(QueuedStripeDelivery.id)
        .where(QueuedStripeDelivery.due_at <= now)
        .order_by(QueuedStripeDelivery.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(statement))
    if ids:
        db.session.execute(
            update(QueuedStripeDelivery)
            .where(QueuedStripeDelivery.id.in_(ids))
            .values(due_at=now + lease)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids


def record_due(now: datetime, *, limit: int, lease: timedelta, retry_base: timedelta) -> int:
    """Record a batch of due deliveries (the worker's turn); how many it took."""
    ids = lease_due(now, limit=limit, lease=lease)
    record_rows(ids, now, retry_base=retry_base)
    return len(ids)


def catch_up(shop_id: str, now: datetime) -> int:
    """Record the shop's waiting deliveries before a request reads its payments; how many were recorded.

    Those a worker holds are recorded here too (the second recording waits for the first and does nothing);
    one whose recording failed waits for its backoff, as on the worker.
    """
    ids = list(
        db.session.scalars(
            select(QueuedStripeDelivery.id)
            .where(
                QueuedStripeDelivery.shop_id == shop_id,
                or_(QueuedStripeDelivery.last_error.is_(None), QueuedStripeDelivery.due_at <= now),
            )
            .order_by(QueuedStripeDelivery.id)
            .limit(CATCH_UP_LIMIT)
        )
    )
    if not ids:
        return 0
    return record_rows(ids, now, retry_base=timedelta(seconds=current_app.config["JOB_RETRY_BASE_SECONDS"]))


def catch_up_if_queued(shop_id: str) -> None:
    """`catch_up` when deliveries are queued; inline, every acknowledged delivery is recorded already."""
    if queued():
        catch_up(shop_id, utcnow())


def record_rows(ids: list[int], now: datetime, *, retry_base: timedelta) -> int:
    """Record these queued deliveries (those still queued), in order, then delete them; how many were recorded.

    Each is recorded in its own transaction(s), as an inline delivery is; the recorded ones leave the inbox in
    one statement at the end (a crash before it only makes their next recording a repeat, which does nothing).
    A failure (a bug, a database refusal the recording does not expect) leaves that delivery queued with the
    error, due again after a backoff, and is logged with the request id that brought it.
    """
    recorded: list[int] = []
    receivers: dict[str, WebhookReceiver | None] = {}
    for waiting in _read(ids):
        with logs.request_context(waiting.request_id):
            try:
                _apply(waiting, receivers)
            except Exception as exc:
                db.session.rollback()
                if database_unreachable(exc):  # a restart or failover: the lease lapses and it is recorded then
                    raise
                log.exception(
                    "queued Stripe delivery not recorded; retried later", extra={"delivery_id": waiting.event_id}
                )
                _back_off(waiting.id, f"{type(exc).__name__}: {exc}", now, retry_base)
                continue
        recorded.append(waiting.id)
    if recorded:
        db.session.execute(
            delete(QueuedStripeDelivery)
            .where(QueuedStripeDelivery.id.in_(recorded))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return len(recorded)


def _read(ids: list[int]) -> list[_Waiting]:
    rows = db.session.execute(
        select(
            QueuedStripeDelivery.id,
            QueuedStripeDelivery.shop_id,
            QueuedStripeDelivery.event_id,
            QueuedStripeDelivery.body,
            QueuedStripeDelivery.received_at,
            QueuedStripeDelivery.request_id,
        )
        .where(QueuedStripeDelivery.id.in_(ids))
        .order_by(QueuedStripeDelivery.id)
    ).all()
    db.session.rollback()  # the recording runs its own transactions
    return [_Waiting(*row) for row in rows]


def _apply(waiting: _Waiting, receivers: dict[str, WebhookReceiver | None]) -> None:
    if waiting.shop_id not in receivers:
        receivers[waiting.shop_id] = load_receiver(waiting.shop_id, current_app.extensions["secret_box"])
    receiver = receivers[waiting.shop_id]
    if receiver is None:  # the shop is gone: its inbox rows went with it (ON DELETE CASCADE)
        return
    event = loads_signed(waiting.body)
    assert isinstance(event, dict)  # only readable events are queued (the others are stored at once)
    ctx = PurchaseContext(
        quote_secrets=quote_signing_keys(current_app.config),
        now=waiting.received_at,
        line_items_checkable=receiver.has_api_key,
    )
    record_stripe_event(receiver, event, ctx)


def _back_off(row_id: int, error: str, now: datetime, retry_base: timedelta) -> None:
    row = db.session.get(QueuedStripeDelivery, row_id)
    if row is None:
        db.session.rollback()
        return
    row.attempts += 1
    row.last_error = error[:300]
    row.due_at = now + min(retry_base * 2 ** min(row.attempts - 1, 16), MAX_BACKOFF)
    db.session.commit()


def oldest_waiting() -> datetime | None:
    """When the longest-waiting delivery came, leased or backing off included (for health checks and metrics)."""
    return db.session.scalar(select(QueuedStripeDelivery.received_at).order_by(QueuedStripeDelivery.id).limit(1))
