"""A shopper's footprint in a shop, written as rows (every place personal data lives), and a byte-for-byte picture
of the tables to compare before and after an erasure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.domain.notices import Notice
from plugin.extensions import db
from plugin.models import (
    AuditEntry,
    BlockedShopper,
    Claim,
    ClaimMessage,
    Consent,
    Payment,
    Protection,
    Return,
    Shipment,
    WebhookEvent,
    utcnow,
)
from plugin.services import audit, jobs
from plugin.services.evidence import InspectedFile, store_evidence
from plugin.services.notifications import enqueue_email


@dataclass
class Footprint:
    payment_id: int
    protection_id: str
    consent_id: str
    shipment_id: str
    claim_id: str
    return_id: str
    shopper_evidence: list[str]  # storage keys
    merchant_evidence: list[str]
    packing_evidence: list[str]


def _file(seed: str) -> InspectedFile:
    data = f"%PDF-1.4 {seed} %%EOF".encode()
    return InspectedFile(f"{seed}.pdf", "pdf", "application/pdf", hashlib.sha256(data).hexdigest(), data)


def leave_footprint(
    shop_id: str,
    email: str,
    tag: str,
    *,
    status: str = "submitted",
    decided_at: datetime | None = None,
    shipped_at: datetime | None = None,
) -> Footprint:
    """Rows for one shopper's order in the shop: payment, protection, consent, parcel, claim with messages and
    files (theirs, the merchant's, packing), a return, a block, queued emails, a webhook event, audit entries."""
    now = utcnow()
    shipped = shipped_at or now - timedelta(days=3)
    order = f"order-{tag}"
    consent = Consent(
        id=f"cns_{tag}",
        shop_id=shop_id,
        quote_reference=f"ref-{tag}",
        price_shown_amount=250,
        currency="USD",
        text_shown="Protect my order",
        terms_version="1",
        page_origin=f"https://{tag}.example",
        user_agent=f"Mozilla/5.0 ({tag})",
        locale="en",
    )
    payment = Payment(
        shop_id=shop_id,
        payment_key=f"pi_{tag}",
        payment_intent=f"pi_{tag}",
        status="succeeded",
        amount=10250,
        currency="USD",
        order_id=order,
        protected=True,
        customer_email=email.upper() if tag.endswith("x") else email,
        succeeded_at=now,
    )
    db.session.add_all([consent, payment])
    db.session.flush()
    protection = Protection(
        id=f"prot_{tag}",
        shop_id=shop_id,
        payment_id=payment.id,
        order_id=order,
        status="active",
        currency="USD",
        declared_value_amount=10000,
        premium_amount=200,
        customer_price_amount=250,
        merchant_contribution_amount=0,
        charged_amount=250,
        quote_reference=f"ref-{tag}",
        consent_id=consent.id,
        payment_intent=f"pi_{tag}",
        customer_email=email,
        destination_country="US",
        destination_postal_code="94107",
    )
    shipment = Shipment(
        id=f"shp_{tag}",
        shop_id=shop_id,
        shipment_ref=f"ful-{tag}",
        order_id=order,
        protection_id=protection.id,
        carrier="UPS",
        tracking_number=f"1Z{tag}",
        currency="USD",
        items_value_amount=10000,
        shipped_at=shipped,
        last_tracking_at=shipped,
        destination_country="US",
        destination_postal_code="94107",
        address_key="a" * 64,
        created_at=shipped,
    )
    db.session.add_all([protection, shipment])
    db.session.flush()
    claim = Claim(
        id=f"clm_{tag}",
        shop_id=shop_id,
        order_id=order,
        shipment_id=shipment.id,
        protection_id=protection.id,
        payment_id=payment.id,
        type="lost",
        status=status,
        source="portal",
        email=email,
        address_key="b" * 64,
        description=f"Never came, call me at 555-{tag}",
        currency="USD",
        amount=10000,
        covered_amount=10000,
        decided_at=decided_at,
        approved_amount=10000 if status in ("approved", "paid") else None,
    )
    ret = Return(
        id=f"ret_{tag}",
        shop_id=shop_id,
        return_ref=f"rr-{tag}",
        order_id=order,
        protection_id=protection.id,
        source="api",
        email=email,
        currency="USD",
        label_cost_amount=800,
        status="in_transit",
    )
    db.session.add_all([claim, ret])
    db.session.flush()
    db.session.add_all(
        [
            ClaimMessage(
                id=f"msg_s_{tag}", shop_id=shop_id, claim_id=claim.id, author="shopper", visibility="shopper", body="hi"
            ),
            ClaimMessage(
                id=f"msg_m_{tag}",
                shop_id=shop_id,
                claim_id=claim.id,
                author="merchant",
                visibility="shopper",
                body="We are looking",
            ),
            BlockedShopper(shop_id=shop_id, email=email, reason="swapped", return_id=ret.id),
            WebhookEvent(
                id=f"evt_{tag}",
                shop_id=shop_id,
                type="claim.created",
                payload=json.dumps({"id": f"evt_{tag}", "data": {"email": email, "amount": 10000}}),
            ),
        ]
    )
    shopper = store_evidence(shop_id, [_file(f"s-{tag}")], uploaded_by="shopper", claim_id=claim.id)
    merchant = store_evidence(shop_id, [_file(f"m-{tag}")], uploaded_by="merchant", claim_id=claim.id)
    packing = store_evidence(shop_id, [_file(f"p-{tag}")], uploaded_by="merchant", shipment_id=shipment.id)
    enqueue_email(shop_id, Notice.CLAIM_RECEIVED, f"{claim.id}:received", now, claim=claim.id)
    enqueue_email(shop_id, Notice.MERCHANT_CLAIM_REVIEW, f"{claim.id}:review", now, claim=claim.id)
    jobs.enqueue(shop_id=shop_id, kind="bind_policy", subject=f"pol_{tag}", idempotency_key=f"bind:{tag}", now=now)
    audit.record(shop_id, "admin", "return.flagged", now, target=ret.id, after={"reason": "swapped", "email": email})
    audit.record(shop_id, "admin", "blocked_shopper.lifted", now, target=email, before={"reason": "swapped"})
    db.session.commit()
    return Footprint(
        payment_id=payment.id,
        protection_id=protection.id,
        consent_id=consent.id,
        shipment_id=shipment.id,
        claim_id=claim.id,
        return_id=ret.id,
        shopper_evidence=[row.storage_key for row in shopper],
        merchant_evidence=[row.storage_key for row in merchant],
        packing_evidence=[row.storage_key for row in packing],
    )


def snapshot(shop_id: str, containing: str | None = None) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (of one shop where the table has shop_id; only rows with a cell containing
    `containing` if given), as reprs, in a stable order."""
    pictures: dict[str, list[tuple[str, ...]]] = {}
    for table in db.metadata.sorted_tables:
        statement = select(table)
        if "shop_id" in table.c:
            statement = statement.where(table.c.shop_id == shop_id)
        rows = [tuple(repr(value) for value in row) for row in db.session.execute(statement)]
        if containing is not None:
            rows = [row for row in rows if any(containing in cell for cell in row)]
        pictures[table.name] = sorted(rows)
    return pictures


def audit_entries(shop_id: str, action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop_id, AuditEntry.action == action))
    )
