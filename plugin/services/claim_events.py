"""What a claim's changes tell the world: the shopper's emails and the merchant's outbound webhooks.

The claim services call `claim_changed` at each change, sometimes several times in one transaction (a claim filed
and approved at once; approved, then marked reshipped). The notices are queued when that transaction commits, from
the claim as it then is: one webhook event per claim and transaction (`claim.created` if it was filed in it, else
`claim.updated`) whose data is the claim as the API shows it, and the emails its final status calls for. A
transaction that rolls back queues nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from plugin.api.claim_presenters import claim_body
from plugin.extensions import db
from plugin.models import Claim, ClaimMessage, Shop
from plugin.services import notifications, webhooks
from plugin.services.evidence import evidence_of_claim

log = logging.getLogger(__name__)
_PENDING = "claim_events.pending"


@dataclass
class _Pending:
    claim: Claim
    now: datetime
    types: set[str] = field(default_factory=set)


def claim_changed(claim: Claim, event_type: str, now: datetime) -> None:
    """A claim was created or changed: its notices are queued when the caller's transaction commits."""
    pending: dict[str, _Pending] = db.session.info.setdefault(_PENDING, {})
    entry = pending.setdefault(claim.id, _Pending(claim, now))
    entry.types.add(event_type)


def message_for_shopper(claim: Claim, message: ClaimMessage, now: datetime) -> None:
    """The merchant wrote to the shopper: queue the email in the caller's transaction."""
    notifications.queue_message_email(claim, message, now)


def publish(claim: Claim, types: set[str], now: datetime) -> None:
    """Queue a claim's webhook event and emails, from its state now (in the current transaction)."""
    shop = db.session.get(Shop, claim.shop_id)
    if shop is None:
        return
    created = "claim.created" in types
    evidence = evidence_of_claim(claim)
    webhooks.emit(shop.id, "claim.created" if created else "claim.updated", claim_body(claim, evidence), now)
    queued = notifications.queue_claim_emails(shop, claim, created, now)
    log.info("claim notices queued", extra={"claim": claim.id, "status": claim.status, "emails": queued})


def _before_commit(session: Session) -> None:
    pending: dict[str, _Pending] | None = session.info.pop(_PENDING, None)
    for entry in (pending or {}).values():
        publish(entry.claim, entry.types, entry.now)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (rolled back or closed): forget its changes
        session.info.pop(_PENDING, None)


def install(target: Any = None) -> None:
    """Listen to the app's sessions (once): queue the notices of claims changed in a transaction at its commit."""
    target = target if target is not None else db.session
    if not event.contains(target, "before_commit", _before_commit):
        event.listen(target, "before_commit", _before_commit)
        event.listen(target, "after_transaction_end", _after_transaction_end)
