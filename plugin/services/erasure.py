"""Erasing a shopper's data on request, within one shop: the personal fields are blanked wherever they live, the
shopper's evidence files are deleted with their bytes, and emails still queued to them are cancelled; the money
records (amounts, ids, statuses, refunds, policies) stay. Idempotent: a second run finds nothing left to erase."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, func, or_, select

from plugin.domain.jobs import OPEN_JOB_STATUSES, JobStatus, job_transition
from plugin.evidence_storage import current_storage
from plugin.extensions import db
from plugin.models import (
    AuditEntry,
    BlockedShopper,
    Claim,
    ClaimMessage,
    Consent,
    Evidence,
    Job,
    Payment,
    Protection,
    Return,
    Shipment,
    WebhookEvent,
)
from plugin.services import audit
from plugin.services.notifications import MERCHANT_NOTICES, SEND_EMAIL

ERASED = "[erased]"
ERASURE_ACTION = "shopper.erased"
# What a summary counts, in this order: the rows changed (or deleted) of each kind.
KINDS = (
    "payments",
    "protections",
    "consents",
    "shipments",
    "claims",
    "claim_messages",
    "evidence",
    "returns",
    "blocked_shoppers",
    "emails_cancelled",
    "webhook_events",
    "audit_entries",
)
_MERCHANT_NOTICE_VALUES = frozenset(notice.value for notice in MERCHANT_NOTICES)


def email_digest(email: str) -> str:
    """How the audit log names an erased shopper: the SHA-256 of the lower-case address, never the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class ErasureSummary:
    """How many rows of each kind the erasure changed or deleted."""

    shop_id: str
    email_sha256: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def report(self) -> dict[str, Any]:
        return {"shop": self.shop_id, "email_sha256": self.email_sha256, "erased": dict(self.counts)}


def _blank(row: Any, names: tuple[str, ...], value: Any = None) -> bool:
    """Set these columns to `value`; whether any changed."""
    changed = False
    for name in names:
        if getattr(row, name) not in (None, value):
            setattr(row, name, value)
            changed = True
    return changed


def _scrub(value: Any, email: str) -> tuple[Any, bool]:
    """A JSON value with every string equal to the address (any case) replaced by None."""
    if isinstance(value, str):
        return (None, True) if value.strip().lower() == email else (value, False)
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            out[key], hit = _scrub(item, email)
            changed = changed or hit
        return out, changed
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            new, hit = _scrub(item, email)
            items.append(new)
            changed = changed or hit
        return items, changed
    return value, False


def erase_shopper(shop_id: str, email: str, now: datetime, actor: str = "cli") -> ErasureSummary:
    """Erase one shopper's personal data in one shop (the caller commits; S3 objects go at once, as they
    are deleted: a run that fails afterwards is simply run again)."""
    from plugin.services.stripe_inbox import catch_up_if_queued

    catch_up_if_queued(shop_id)  # a payment acknowledged but not yet recorded would bring the address back
    email = email.strip().lower()
    summary = ErasureSummary(shop_id, email_digest(email))
    counts = summary.counts

    payments = list(
        db.session.scalars(
            select(Payment).where(Payment.shop_id == shop_id, func.lower(Payment.customer_email) == email)
        )
    )
    payment_ids = [payment.id for payment in payments]
    protections = list(
        db.session.scalars(
            select(Protection).where(
                Protection.shop_id == shop_id,
                or_(
                    func.lower(Protection.customer_email) == email,
                    Protection.payment_id.in_(payment_ids) if payment_ids else false(),
                ),
            )
        )
    )
    claims = list(db.session.scalars(select(Claim).where(Claim.shop_id == shop_id, func.lower(Claim.email) == email)))
    returns = list(
        db.session.scalars(select(Return).where(Return.shop_id == shop_id, func.lower(Return.email) == email))
    )
    protection_ids = [protection.id for protection in protections]
    claim_ids = [claim.id for claim in claims]
    order_ids = sorted(
        {payment.order_id for payment in payments if payment.order_id}
        | {protection.order_id for protection in protections if protection.order_id}
        | {claim.order_id for claim in claims}
        | {ret.order_id for ret in returns}
    )
    shipments = (
        list(
            db.session.scalars(
                select(Shipment).where(
                    Shipment.shop_id == shop_id,
                    or_(
                        Shipment.order_id.in_(order_ids),
                        Shipment.protection_id.in_(protection_ids) if protection_ids else false(),
                    ),
                )
            )
        )
        if order_ids or protection_ids
        else []
    )

    for payment in payments:
        counts["payments"] += _blank(payment, ("customer_email",))
    for protection in protections:
        counts["protections"] += _blank(protection, ("customer_email", "destination_postal_code"))
    consent_ids = [protection.consent_id for protection in protections if protection.consent_id]
    if consent_ids:
        for consent in db.session.scalars(
            select(Consent).where(Consent.shop_id == shop_id, Consent.id.in_(consent_ids))
        ):
            counts["consents"] += _blank(consent, ("user_agent", "page_origin"))
    for shipment in shipments:
        counts["shipments"] += _blank(shipment, ("destination_postal_code", "address_key"))
    for claim in claims:
        changed = _blank(claim, ("email", "address_key"))
        changed = _blank(claim, ("description",), ERASED) or changed
        counts["claims"] += changed
    for ret in returns:
        counts["returns"] += _blank(ret, ("email",))

    # Claims on the shopper's orders that carry no address (filed through the API without one) are theirs too.
    if order_ids:
        claim_ids = sorted(
            {
                *claim_ids,
                *db.session.scalars(
                    select(Claim.id).where(
                        Claim.shop_id == shop_id, Claim.order_id.in_(order_ids), Claim.email.is_(None)
                    )
                ),
            }
        )
    if claim_ids:
        for message in db.session.scalars(
            select(ClaimMessage).where(
                ClaimMessage.shop_id == shop_id, ClaimMessage.claim_id.in_(claim_ids), ClaimMessage.author == "shopper"
            )
        ):
            counts["claim_messages"] += _blank(message, ("body",), ERASED)
        counts["evidence"] += delete_evidence(
            list(
                db.session.scalars(
                    select(Evidence).where(
                        Evidence.shop_id == shop_id, Evidence.claim_id.in_(claim_ids), Evidence.uploaded_by == "shopper"
                    )
                )
            )
        )

    counts["blocked_shoppers"] += db.session.execute(  # type: ignore[attr-defined]
        delete(BlockedShopper).where(BlockedShopper.shop_id == shop_id, func.lower(BlockedShopper.email) == email)
    ).rowcount

    subjects = [*claim_ids, *(shipment.id for shipment in shipments)]
    if subjects:
        for job in db.session.scalars(
            select(Job).where(
                Job.shop_id == shop_id,
                Job.kind == SEND_EMAIL,
                Job.subject.in_(subjects),
                Job.status.in_([str(status) for status in OPEN_JOB_STATUSES]),
            )
        ):
            if (job.payload or {}).get("notice") in _MERCHANT_NOTICE_VALUES:
                continue  # the merchant's alert names no shopper's address
            job.status = job_transition(job.status, JobStatus.CANCELLED)
            job.next_attempt_at = None
            job.finished_at = now
            job.last_error = "cancelled: the shopper's data was erased"
            counts["emails_cancelled"] += 1

    # The events recorded for the merchant's endpoints (retries send these bytes) and the audit log's own entries.
    for event in db.session.scalars(
        select(WebhookEvent).where(
            WebhookEvent.shop_id == shop_id, func.lower(WebhookEvent.payload).contains(email, autoescape=True)
        )
    ):
        scrubbed, changed = _scrub(json.loads(event.payload), email)
        if changed:
            event.payload = json.dumps(scrubbed, separators=(",", ":"))
            counts["webhook_events"] += 1
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop_id)):
        changed = False
        if entry.target is not None and entry.target.strip().lower() == email:
            entry.target = f"sha256:{summary.email_sha256}"
            changed = True
        for name in ("before", "after"):
            value, hit = _scrub(getattr(entry, name), email)
            if hit:
                setattr(entry, name, value)
                changed = True
        counts["audit_entries"] += changed

    audit.record(shop_id, actor, ERASURE_ACTION, now, target=f"sha256:{summary.email_sha256}", after=dict(counts))
    return summary


def delete_evidence(rows: list[Evidence]) -> int:
    """Delete evidence rows and their stored bytes (the caller commits); how many."""
    storage = current_storage()
    for row in rows:
        storage.delete(row.storage_key)
        db.session.delete(row)
    db.session.flush()
    return len(rows)
