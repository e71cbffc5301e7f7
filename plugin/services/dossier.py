"""The claim dossier: every fact an insurer asks for about one claim, and the ZIP that carries them with the files.

A forwarder's cargo insurer (or Loadsure's claim portal) wants the tracking history, photos before shipping and
on arrival, proof of value, the messages exchanged and the decision. `gather` reads them into plain dataclasses
(one source for the three renderings: summary.pdf, summary.txt and dossier.json); `build_zip` writes the ZIP.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from sqlalchemy import select

from plugin.extensions import db
from plugin.models import (
    Claim,
    ClaimMessage,
    Consent,
    Evidence,
    Payment,
    Policy,
    Protection,
    Shipment,
    Shop,
    TrackingEvent,
    rfc3339,
)
from plugin.services.claims import get_claim
from plugin.services.dossier_facts import (
    Amount,
    ClaimFacts,
    ConsentFacts,
    DecisionFacts,
    Dossier,
    EvidenceFacts,
    ItemFacts,
    MessageFacts,
    ParcelFacts,
    PaymentFacts,
    PolicyFacts,
    ProtectionFacts,
    TrackingFacts,
    money,
)
from plugin.services.dossier_summary import render_pdf, render_text
from plugin.services.evidence import evidence_of_claim, read_evidence

log = logging.getLogger(__name__)

# Evidence is at most 10 files of 10 MB per claim, plus the parcel's packing files (no fixed count): past this
# many bytes of files the rest are listed in the summary but left out of the ZIP, so one request cannot make
# the server write an unbounded file. The ZIP stays in memory up to SPOOL_IN_MEMORY_BYTES, then goes to disk.
MAX_EVIDENCE_BYTES = 200 * 1024 * 1024
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}
_MAX_NAME_CHARS = 80


def _amount(minor_units: int | None, currency: str | None) -> Amount | None:
    return Amount(minor_units, currency) if minor_units is not None and currency else None


def safe_entry_name(evidence_id: str, filename: str | None, content_type: str) -> str:
    """`<evd id>-<name>.<ext>`: the uploaded name's last part, letters, digits, `.`, `-` and `_` only, else the id.

    No separator, no leading dot, no control or format character survives, so an entry can neither climb out
    of its folder (`../../etc/passwd.jpg` is `evd_…-passwd.jpg`) nor hide its real extension; the extension is
    the one of the file's checked content type, whatever the name said.
    """
    extension = _EXTENSIONS.get(content_type, "bin")
    last_part = re.split(r"[/\\]", unicodedata.normalize("NFC", filename or ""))[-1]
    stem = last_part.rsplit(".", 1)[0] if "." in last_part else last_part
    cleaned = "".join(char if char.isalnum() or char in "-_" else "_" for char in stem)
    cleaned = re.sub(r"_+", "_", cleaned).strip("_-")[:_MAX_NAME_CHARS]
    return f"{evidence_id}-{cleaned}.{extension}" if cleaned else f"{evidence_id}.{extension}"


def _payment(claim: Claim) -> PaymentFacts | None:
    payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
    if payment is None:
        return None
    return PaymentFacts(
        payment_intent=payment.payment_intent,
        charge=payment.charge_id,
        amount=_amount(payment.amount, payment.currency),
        refunded=_amount(payment.amount_refunded, payment.currency),
        disputed=payment.disputed,
        succeeded_at=payment.succeeded_at,
    )


def _protection(claim: Claim) -> ProtectionFacts | None:
    protection = db.session.get(Protection, claim.protection_id) if claim.protection_id else None
    if protection is None:
        return None
    consent = db.session.get(Consent, protection.consent_id) if protection.consent_id else None
    consent_facts = None
    if consent is not None and consent.shop_id == claim.shop_id:
        consent_facts = ConsentFacts(
            id=consent.id,
            text_shown=consent.text_shown,
            price_shown=Amount(consent.price_shown_amount, consent.currency),
            terms_version=consent.terms_version,
            terms_url=consent.terms_url,
            locale=consent.locale,
            page_origin=consent.page_origin,
            shown_at=consent.shown_at,
            recorded_at=consent.created_at,
        )
    currency = protection.currency
    return ProtectionFacts(
        id=protection.id,
        status=protection.status,
        declared_value=Amount(protection.declared_value_amount, currency),
        premium=Amount(protection.premium_amount, currency),
        customer_price=Amount(protection.customer_price_amount, currency),
        consent_id=protection.consent_id,
        consent=consent_facts,
        bought_at=protection.created_at,
    )


def _destination(shipment: Shipment) -> str | None:
    parts = [shipment.destination_postal_code, shipment.destination_region, shipment.destination_country]
    return ", ".join(part for part in parts if part) or None


def _parcel(shipment: Shipment) -> ParcelFacts:
    items = []
    for item in shipment.items or ():
        price = item.get("unit_price")
        items.append(
            ItemFacts(
                sku=str(item.get("sku") or ""),
                name=str(item["name"]) if item.get("name") else None,
                quantity=int(item.get("quantity") or 0),
                unit_price=_amount(price if isinstance(price, int) else None, shipment.currency),
            )
        )
    return ParcelFacts(
        id=shipment.id,
        shipment_ref=shipment.shipment_ref,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        tracking_status=shipment.tracking_status,
        shipped_at=shipment.shipped_at,
        delivered_at=shipment.delivered_at,
        destination=_destination(shipment),
        items_value=_amount(shipment.items_value_amount, shipment.currency),
        items=items,
    )


def _policy(claim: Claim) -> PolicyFacts | None:
    policy = db.session.get(Policy, claim.policy_id) if claim.policy_id else None
    if policy is None:  # a claim filed before its policy was recorded: the parcel's policy, if any now
        policy = db.session.scalars(select(Policy).where(Policy.shipment_id == claim.shipment_id)).first()
    if policy is None:
        return None
    return PolicyFacts(
        id=policy.id,
        provider=policy.provider,
        status=policy.status,
        certificate=policy.certificate,
        certificate_url=policy.certificate_url,
        provider_reference=policy.provider_reference,
        sum_insured=Amount(policy.sum_insured_amount, policy.currency),
        cost=_amount(policy.cost_amount, policy.currency),
        bound_at=policy.bound_at,
    )


def _tracking(shipment_id: str) -> list[TrackingFacts]:
    rows = db.session.scalars(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment_id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return [TrackingFacts(row.occurred_at, row.status, row.message, row.location) for row in rows]


def _evidence_rows(claim: Claim) -> list[tuple[str, Evidence]]:
    """The parcel's packing files first (before shipping), then the claim's (on arrival), each oldest first."""
    claim_rows = evidence_of_claim(claim)
    taken = {row.id for row in claim_rows}
    packing_rows = [
        row
        for row in db.session.scalars(
            select(Evidence)
            .where(Evidence.shipment_id == claim.shipment_id, Evidence.shop_id == claim.shop_id)
            .order_by(Evidence.created_at, Evidence.id)
        )
        if row.id not in taken
    ]
    return [("packing", row) for row in packing_rows] + [("claim", row) for row in claim_rows]


def _evidence(rows: list[tuple[str, Evidence]]) -> list[EvidenceFacts]:
    facts = []
    total = 0
    for role, row in rows:
        total += row.size
        entry = f"evidence/{role}/{safe_entry_name(row.id, row.filename, row.content_type)}"
        facts.append(
            EvidenceFacts(
                id=row.id,
                role=role,
                kind=row.kind,
                content_type=row.content_type,
                size=row.size,
                sha256=row.sha256,
                filename=row.filename,
                uploaded_by=row.uploaded_by,
                uploaded_at=row.created_at,
                entry=entry if total <= MAX_EVIDENCE_BYTES else None,
            )
        )
    return facts


def _messages(claim: Claim) -> list[MessageFacts]:
    rows = db.session.scalars(
        select(ClaimMessage).where(ClaimMessage.claim_id == claim.id).order_by(ClaimMessage.created_at, ClaimMessage.id)
    )
    return [MessageFacts(row.id, row.author, row.visibility, row.body, row.created_at) for row in rows]


def _decision(claim: Claim) -> DecisionFacts:
    currency = claim.currency
    refund = None
    if claim.refund_status is not None:
        refund = {"id": claim.refund_id, "status": claim.refund_status, "error": claim.refund_error}
    recovery = None
    if claim.recovery_status is not None:
        recovery = {
            "status": claim.recovery_status,
            "provider": claim.recovery_provider,
            "reference": claim.recovery_reference,
            "amount": _amount(claim.recovery_amount, currency),
            "link": claim.recovery_link,
            "error": claim.recovery_error,
        }
    return DecisionFacts(
        status=claim.status,
        decided_by=claim.decided_by,
        decided_at=claim.decided_at,
        resolution=claim.resolution,
        approved_amount=_amount(claim.approved_amount, currency),
        deny_reason=claim.deny_reason,
        review_reason=claim.review_reason,
        reasons=[{"code": str(r.get("code")), "message": str(r.get("message"))} for r in claim.reasons or []],
        signals=[{"code": str(s.get("code")), "detail": str(s.get("detail"))} for s in claim.signals or []],
        replacement_order_id=claim.replacement_order_id,
        reship_cost=_amount(claim.reship_cost_amount, currency),
        refund=refund,
        paid_at=claim.paid_at,
        paid_method=claim.paid_method,
        paid_reference=claim.paid_reference,
        recovery=recovery,
    )


@dataclass(frozen=True)
class Gathered:
    """The facts and the evidence rows whose bytes go into the ZIP."""

    dossier: Dossier
    files: dict[str, Evidence]  # by evidence id


def gather(shop_id: str, claim_id: str, now: datetime) -> Gathered:
    """Read every fact of one claim of this shop (another shop's claim is a 404, as a missing one)."""
    claim = get_claim(shop_id, claim_id)
    shop = db.session.get(Shop, claim.shop_id)
    shipment = claim.shipment
    rows = _evidence_rows(claim)
    dossier = Dossier(
        shop_id=claim.shop_id,
        shop_name=shop.name if shop is not None else claim.shop_id,
        order_id=claim.order_id,
        generated_at=now,
        claim=ClaimFacts(
            id=claim.id,
            type=claim.type,
            source=claim.source,
            email=claim.email,
            description=claim.description,
            items=[dict(item) for item in claim.items or []],
            amount=Amount(claim.amount, claim.currency),
            covered_amount=Amount(claim.covered_amount, claim.currency),
            filed_at=claim.created_at,
        ),
        decision=_decision(claim),
        payment=_payment(claim),
        protection=_protection(claim),
        parcel=_parcel(shipment),
        policy=_policy(claim),
        tracking=_tracking(shipment.id),
        evidence=_evidence(rows),
        messages=_messages(claim),
    )
    return Gathered(dossier, {row.id: row for _, row in rows})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        if set(value) == {"minor_units", "currency"}:  # an Amount: also written as people read it
            return {**value, "formatted": money(Amount(value["minor_units"], value["currency"]))}
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def dossier_json(dossier: Dossier) -> dict[str, Any]:
    """The facts as JSON: times in RFC 3339 UTC, money in minor units with the currency and as written."""
    return {"object": "claim_dossier", **_jsonable(asdict(dossier))}


def _zip_info(name: str, moment: datetime, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=moment.utctimetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16  # a plain readable file when unpacked
    return info


def build_zip(gathered: Gathered, font_path: str | None = None) -> IO[bytes]:
    """The dossier ZIP, rewound: summary.pdf, summary.txt, dossier.json and the evidence files."""
    dossier = gathered.dossier
    moment = dossier.generated_at
    spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (returned open)
    try:
        with zipfile.ZipFile(spool, "w") as archive:
            archive.writestr(_zip_info("summary.pdf", moment, True), render_pdf(dossier, font_path))
            archive.writestr(_zip_info("summary.txt", moment, True), render_text(dossier).encode())
            document = json.dumps(dossier_json(dossier), ensure_ascii=False, indent=2)
            archive.writestr(_zip_info("dossier.json", moment, True), document.encode())
            for fact in dossier.evidence:
                if fact.entry is None:
                    continue
                # Photos and PDFs are compressed already: stored as they are, byte for byte.
                archive.writestr(_zip_info(fact.entry, moment, False), read_evidence(gathered.files[fact.id]))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    left_out = sum(1 for fact in dossier.evidence if fact.entry is None)
    log.info("claim dossier built", extra={"claim": dossier.claim.id, "files_left_out": left_out})
    return spool
