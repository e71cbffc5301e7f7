"""Emails: which ones a change calls for (queued as `send_email` jobs in the caller's transaction), and how a job
turns its reference into a message when it runs (the address is read then, never stored in the job)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from sqlalchemy import select

from plugin.claim_links import status_path
from plugin.config import quote_signing_keys
from plugin.domain.claims import ClaimStatus
from plugin.domain.notices import Notice, format_amount, locale_of, render
from plugin.extensions import db
from plugin.iso_codes import currency_exponent
from plugin.models import Claim, ClaimMessage, Consent, Payment, Protection, Shipment, Shop, User
from plugin.services import jobs
from plugin.services.settings import effective_settings

log = logging.getLogger(__name__)

SEND_EMAIL = "send_email"
EMAIL_MAX_ATTEMPTS = 8
MERCHANT_NOTICES = frozenset({Notice.MERCHANT_CLAIM_REVIEW, Notice.MERCHANT_TRACKING_STALLED})
_INVITES = frozenset({Notice.PARCEL_STALLED, Notice.PARCEL_DELAYED})


# ---- queueing (in the caller's transaction) -----------------------------------------------------------------


def enqueue_email(shop_id: str, notice: Notice, key: str, now: datetime, **refs: str) -> None:
    """Queue one email, once per key; `refs` name the rows it is about (claim, shipment, message)."""
    subject = refs.get("claim") or refs.get("shipment") or shop_id
    jobs.enqueue(
        shop_id=shop_id,
        kind=SEND_EMAIL,
        subject=subject,
        idempotency_key=f"email:{key}",
        now=now,
        max_attempts=EMAIL_MAX_ATTEMPTS,
        payload={"notice": notice.value, **refs},
    )


def merchant_email(shop: Shop) -> str | None:
    """Where the shop's alerts go (notifications.merchant_email), if anywhere."""
    value = effective_settings(shop)["notifications"]["merchant_email"]
    return value if isinstance(value, str) and value else None


def claim_notices(claim: Claim, created: bool) -> list[Notice]:
    """The emails a claim's state calls for after a change (each sent once per claim and status)."""
    status = ClaimStatus(claim.status)
    notices: list[Notice] = [Notice.CLAIM_RECEIVED] if created else []
    if status in (ClaimStatus.APPROVED, ClaimStatus.RESHIPPED):
        reship = claim.resolution == "reship"
        notices.append(Notice.CLAIM_APPROVED_RESHIP if reship else Notice.CLAIM_APPROVED_REFUND)
    elif status is ClaimStatus.DENIED:
        notices.append(Notice.CLAIM_DENIED)
    elif status is ClaimStatus.PAID:
        notices.append(Notice.CLAIM_PAID)
    elif status in (ClaimStatus.SUBMITTED, ClaimStatus.NEEDS_REVIEW):
        notices.append(Notice.MERCHANT_CLAIM_REVIEW)  # a decision is the merchant's to make
    return notices


def queue_claim_emails(shop: Shop, claim: Claim, created: bool, now: datetime) -> list[Notice]:
    """Queue the emails `claim_notices` names; merchant alerts only when the shop has an address for them."""
    queued = []
    has_merchant_address = merchant_email(shop) is not None
    for notice in claim_notices(claim, created):
        if notice in MERCHANT_NOTICES and not has_merchant_address:
            continue
        # The merchant hears of a claim once; the shopper once per status (approved again after a failed refund: not
        # told again).
        key = (
            f"{claim.id}:{notice.value}" if notice in MERCHANT_NOTICES else f"{claim.id}:{notice.value}:{claim.status}"
        )
        enqueue_email(shop.id, notice, key, now, claim=claim.id)
        queued.append(notice)
    return queued


def queue_message_email(claim: Claim, message: ClaimMessage, now: datetime) -> None:
    """The merchant wrote to the shopper."""
    enqueue_email(claim.shop_id, Notice.CLAIM_MESSAGE, f"{message.id}", now, claim=claim.id, message=message.id)


def queue_parcel_email(shop: Shop, shipment: Shipment, notice: Notice, now: datetime) -> bool:
    """A tracking-scan email about a parcel (to the merchant or the shopper); whether one was queued."""
    if notice in MERCHANT_NOTICES and merchant_email(shop) is None:
        return False
    enqueue_email(shop.id, notice, f"{shipment.id}:{notice.value}", now, shipment=shipment.id)
    return True


# ---- composing (when the job runs) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    """An email ready to send, and what may be logged about it (never the address or the body)."""

    message: EmailMessage
    notice: Notice
    claim_id: str | None


def _amount(amount: int | None, currency: str) -> str:
    return format_amount(amount or 0, currency, currency_exponent(currency))


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "—"


def shopper_contact(shipment: Shipment) -> tuple[str | None, str]:
    """The email and language of the parcel's buyer: the protection's, else the order's payment's."""
    protection = db.session.get(Protection, shipment.protection_id) if shipment.protection_id else None
    email = protection.customer_email if protection is not None else None
    locale = "en"
    if protection is not None and protection.consent_id:
        consent = db.session.get(Consent, protection.consent_id)
        locale = locale_of(consent.locale if consent is not None else None)
    if not email:
        email = db.session.scalars(
            select(Payment.customer_email)
            .where(
                Payment.shop_id == shipment.shop_id,
                Payment.order_id == shipment.order_id,
                Payment.status == "succeeded",
                Payment.customer_email.is_not(None),
            )
            .order_by(Payment.id.desc())
            .limit(1)
        ).first()
    return email, locale


def _claim_params(shop: Shop, claim: Claim, message: ClaimMessage | None) -> dict[str, str]:
    return {
        "shop": shop.name,
        "claim": claim.id,
        "order": claim.order_id,
        "type": claim.type,
        "amount": _amount(claim.approved_amount if claim.approved_amount is not None else claim.amount, claim.currency),
        "reason": claim.deny_reason or claim.review_reason or "—",
        "replacement": claim.replacement_order_id or "—",
        "message": message.body if message is not None else "",
        "flags": "".join(f"\n- {signal['code']}: {signal['detail']}" for signal in claim.signals or [])
        + (f"\n- {claim.review_reason}" if claim.review_reason else ""),
    }


def _parcel_params(shop: Shop, shipment: Shipment, settings: Mapping[str, Any]) -> dict[str, str]:
    claims = settings["claims"]
    return {
        "shop": shop.name,
        "order": shipment.order_id,
        "shipment": shipment.shipment_ref,
        "carrier": shipment.carrier or "—",
        "tracking": shipment.tracking_number or "—",
        "since": _day(max(shipment.last_tracking_at, shipment.shipped_at)),
        "shipped": _day(shipment.shipped_at),
        "grace": str(claims["merchant_grace_days"]),
        "amount": _amount(claims["delay_compensation"], shipment.currency),
    }


def _message_id(key: str, sender: str) -> str:
    """The same Message-ID for every attempt of one email, so a mail system can drop a repeat."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _envelope(
    recipient: str, subject: str, body: str, locale: str, key: str, config: Mapping[str, Any]
) -> EmailMessage:
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = recipient
    email["Subject"] = subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = _message_id(key, config["MAIL_FROM"])
    email["Auto-Submitted"] = "auto-generated"
    email["Content-Language"] = locale_of(locale)
    email.set_content(body)
    return email


def _password_reset_email(
    shop: Shop, payload: Mapping[str, Any], key: str, config: Mapping[str, Any], notice: Notice
) -> Composed | None:
    """A staff user's reset (or invitation) link, signed now (the job holds no token), to PUBLIC_BASE_URL only."""
    from plugin.services.users import reset_token

    user = db.session.get(User, payload.get("user"))
    base = config.get("PUBLIC_BASE_URL")
    if user is None or user.shop_id != shop.id or not base:
        return None
    link = f"{base}/admin/reset/{reset_token(user, quote_signing_keys(config))}"
    locale = user.locale or str(payload.get("locale") or "en")
    subject, body = render(notice, locale, {"shop": shop.name, "email": user.email, "link": link})
    return Composed(_envelope(user.email, subject, body, locale, key, config), notice, None)


def compose_email(payload: Mapping[str, Any], shop_id: str, key: str, config: Mapping[str, Any]) -> Composed | None:
    """The email a job asks for, from the rows as they are now; None when there is nobody to send it to (an
    erased shopper, no merchant address) or its subject is gone."""
    notice = Notice(payload["notice"])
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return None
    if notice in (Notice.ADMIN_PASSWORD_RESET, Notice.ADMIN_INVITATION):
        return _password_reset_email(shop, payload, key, config, notice)
    settings = effective_settings(shop)
    claim = db.session.get(Claim, payload["claim"]) if payload.get("claim") else None
    shipment = db.session.get(Shipment, payload["shipment"]) if payload.get("shipment") else None
    message = db.session.get(ClaimMessage, payload["message"]) if payload.get("message") else None
    if claim is not None:
        params = _claim_params(shop, claim, message)
        if notice is Notice.CLAIM_MESSAGE and message is None:
            return None
    elif shipment is not None:
        params = _parcel_params(shop, shipment, settings)
    else:
        return None
    if notice in MERCHANT_NOTICES:
        recipient = settings["notifications"]["merchant_email"]
        locale = settings["notifications"]["merchant_locale"]
    elif claim is not None:
        recipient, locale = claim.email, claim.locale
    else:
        assert shipment is not None
        recipient, locale = shopper_contact(shipment)
    if not recipient:
        return None
    link = None
    base = config.get("PUBLIC_BASE_URL")
    if base and notice not in MERCHANT_NOTICES:
        if notice in _INVITES:
            link = f"{base}/claims/{shop.id}"
        elif claim is not None:
            link = base + status_path(claim.id, shop.id, quote_signing_keys(config))
    subject, body = render(notice, locale, params, link)
    email = _envelope(recipient, subject, body, locale, key, config)
    reply_to = settings["notifications"]["merchant_email"]
    if reply_to and notice not in MERCHANT_NOTICES:
        email["Reply-To"] = reply_to  # the shopper's answer reaches the shop, not a no-reply box
    return Composed(email, notice, claim.id if claim is not None else None)
