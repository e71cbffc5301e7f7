"""Stripe webhooks: verify the raw bytes, then translate events into PaymentFact values."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from plugin.domain.purchases import (
    EMAIL_KEY,
    METADATA_VALUE_LIMIT,
    DisputeOpened,
    PaymentFact,
    PaymentFailed,
    PaymentSucceeded,
    RefundsChanged,
)
from plugin.domain.untrusted_text import fit_id, fit_text, scrub

SIGNATURE_TOLERANCE_SECONDS = 300
CLAIM_REFUND_KEY = "claim_refund_key"  # metadata on the refunds the plugin makes for claims (plugin.jobs.claims)

# The event types this plugin acts on; anything else is answered 200 and ignored.
HANDLED_TYPES = (
    "payment_intent.succeeded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.refund.updated",
    "charge.dispute.created",
)


class InvalidSignatureError(ValueError):
    """The delivery is not signed by any of the shop's webhook secrets, or is too old."""


def _signature_parts(header: str) -> tuple[int | None, list[str]]:
    """`t=<unix time>,v1=<hex>,v1=<hex>,v0=…` as (t, the v1 signatures); other schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify_signature(raw: bytes, header: str | None, secrets: Iterable[str], now: float | None = None) -> None:
    """Accept the delivery if ANY active secret verifies it within the tolerance (secrets are rolled).

    Computed here over the raw bytes, as Stripe signs them: the SDK's helper decodes the body as UTF-8 first,
    which a signed body that is not UTF-8 would turn into an exception instead of an answer.
    """
    if not header:
        raise InvalidSignatureError("missing Stripe-Signature header")
    timestamp, signatures = _signature_parts(header)
    if timestamp is None or not signatures:
        raise InvalidSignatureError("the Stripe-Signature header has no timestamp or no v1 signature")
    if abs((time.time() if now is None else now) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidSignatureError("the signature is older than the tolerance")
    signed = str(timestamp).encode() + b"." + raw
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in signatures):
            return
    raise InvalidSignatureError("no webhook secret of this shop verifies the signature")


ID_LIMIT = 255  # Stripe's ids are short; a longer one is fitted (prefix + digest), never cut into another's
STATUS_LIMIT = 30
EMAIL_LIMIT = 320
# The earliest and latest plausible event times: Stripe's launch, and a day ahead of our clock.
_EARLIEST_EVENT = datetime(2011, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(days=1)


def _text(value: Any) -> str | None:
    """A non-empty string as storable text (NUL and lone surrogates replaced), else None."""
    return scrub(value) if isinstance(value, str) and value else None


def _id(value: Any) -> str | None:
    """A Stripe id, fitted to the id columns: the same id always fits the same way, two ids never become one."""
    return fit_id(value, ID_LIMIT) if isinstance(value, str) and value else None


def _email(*candidates: Any) -> str | None:
    """The first usable email, as storable text within an email column (RFC 5321 allows 320 characters)."""
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return fit_text(value.strip(), EMAIL_LIMIT)
    return None


def _status(value: Any) -> str | None:
    return fit_text(value, STATUS_LIMIT) if isinstance(value, str) and value else None


MAX_AMOUNT = 10**15  # beyond any real payment; larger numbers would not fit the database's BIGINT sums


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT:
        return value
    return None


def _id_of(value: Any) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if isinstance(value, Mapping):
        return _id(value.get("id"))
    return _id(value)


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}
    # Stripe caps metadata values at 500 characters; anything longer is cut there (and then fails its checks).
    return {
        scrub(str(key)): scrub(str(value))[:METADATA_VALUE_LIMIT]
        for key, value in metadata.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }


def _currency(obj: Mapping[str, Any]) -> str:
    """The ISO 4217 code in upper case; anything that is not three ASCII letters is "" (it then mismatches)."""
    value = obj.get("currency")
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return value.upper()
    return ""


def _when(event: Mapping[str, Any]) -> datetime:
    """The event's time; one outside any plausible range (a signed but broken `created`) is read as now."""
    now = datetime.now(UTC)
    created = _int(event.get("created"))
    if created is None:
        return now
    try:
        when = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return when if _EARLIEST_EVENT <= when <= now + _CLOCK_SKEW else now


def _from_payment_intent(event: Mapping[str, Any], intent: Mapping[str, Any]) -> PaymentSucceeded | None:
    intent_id = _id(intent.get("id"))
    if intent_id is None:
        return None
    metadata = _metadata(intent)
    return PaymentSucceeded(
        payment_intent=intent_id,
        checkout_session=None,
        amount=_int(intent.get("amount_received")) or _int(intent.get("amount")),
        currency=_currency(intent),
        metadata=metadata,
        customer_email=_email(intent.get("receipt_email"), metadata.get(EMAIL_KEY)),
        occurred_at=_when(event),
        charge=_id_of(intent.get("latest_charge")),
    )


def _from_session(event: Mapping[str, Any], session: Mapping[str, Any]) -> PaymentSucceeded | None:
    session_id = _id(session.get("id"))
    if session_id is None:
        return None
    metadata = _metadata(session)
    details = session.get("customer_details")
    email = details.get("email") if isinstance(details, Mapping) else None
    return PaymentSucceeded(
        payment_intent=_id_of(session.get("payment_intent")),
        checkout_session=session_id,
        amount=_int(session.get("amount_total")),
        currency=_currency(session),
        metadata=metadata,
        customer_email=_email(email, session.get("customer_email"), metadata.get(EMAIL_KEY)),
        occurred_at=_when(event),
    )


def _payment_key_of_charge_like(obj: Mapping[str, Any]) -> str | None:
    return _id_of(obj.get("payment_intent")) or _id_of(obj.get("charge")) or None


def translate(event: Mapping[str, Any]) -> PaymentFact | None:
    """The fact an event states, or None for events this plugin does not act on."""
    event_type = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if event_type not in HANDLED_TYPES or not isinstance(obj, Mapping):
        return None
    if event_type == "payment_intent.succeeded":
        return _from_payment_intent(event, obj)
    if event_type in {"checkout.session.completed", "checkout.session.async_payment_succeeded"}:
        # A completed session is paid only when payment_status says so; delayed methods report later.
        if obj.get("payment_status") not in {"paid", "no_payment_required"} or obj.get("mode") != "payment":
            return None
        return _from_session(event, obj)
    if event_type == "checkout.session.async_payment_failed":
        session_id = _id(obj.get("id"))
        return PaymentFailed(_id_of(obj.get("payment_intent")), session_id) if session_id else None
    if event_type == "charge.refunded":
        key = _id_of(obj.get("payment_intent")) or _id(obj.get("id"))
        if key is None:
            return None
        return RefundsChanged(
            payment_key=key,
            currency=_currency(obj),
            charge_amount=_int(obj.get("amount")),
            amount_refunded=_int(obj.get("amount_refunded")),
        )
    if event_type in {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}:
        key = _payment_key_of_charge_like(obj)
        refund_id = _id(obj.get("id"))
        if key is None or refund_id is None:
            return None
        return RefundsChanged(
            payment_key=key,
            currency=_currency(obj),
            refund_id=refund_id,
            refund_amount=_int(obj.get("amount")) or 0,
            refund_status=_status(obj.get("status")) or "pending",
            refund_claim=_id(_metadata(obj).get(CLAIM_REFUND_KEY)),
            failure_reason=_status(obj.get("failure_reason")),
        )
    if event_type == "charge.dispute.created":
        key = _payment_key_of_charge_like(obj)
        dispute_id = _id(obj.get("id"))
        if key is None or dispute_id is None:
            return None
        return DisputeOpened(key, dispute_id, _currency(obj), _int(obj.get("amount")))
    return None
