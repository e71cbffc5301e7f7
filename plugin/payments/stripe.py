"""Stripe webhooks: verify the raw bytes, then translate events into PaymentFact values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import stripe

from plugin.domain.purchases import (
    EMAIL_KEY,
    DisputeOpened,
    PaymentFact,
    PaymentFailed,
    PaymentSucceeded,
    RefundsChanged,
)

SIGNATURE_TOLERANCE_SECONDS = 300

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


def verify_signature(raw: bytes, header: str | None, secrets: Iterable[str]) -> None:
    """Accept the delivery if ANY active secret verifies it within the tolerance (secrets are rolled)."""
    if not header:
        raise InvalidSignatureError("missing Stripe-Signature header")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(raw, header, secret, SIGNATURE_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return
    raise InvalidSignatureError("no webhook secret of this shop verifies the signature, or it is stale")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


MAX_AMOUNT = 10**15  # beyond any real payment; larger numbers would not fit the database's BIGINT sums


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT:
        return value
    return None


def _id_of(value: Any) -> str | None:
    """A Stripe reference that may be an id or an expanded object."""
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}
    return {str(key): str(value) for key, value in metadata.items() if isinstance(value, str | int)}


def _currency(obj: Mapping[str, Any]) -> str:
    return str(obj.get("currency") or "").upper()


def _when(event: Mapping[str, Any]) -> datetime:
    created = _int(event.get("created"))
    return datetime.fromtimestamp(created, UTC) if created is not None else datetime.now(UTC)


def _from_payment_intent(event: Mapping[str, Any], intent: Mapping[str, Any]) -> PaymentSucceeded | None:
    intent_id = _text(intent.get("id"))
    if intent_id is None:
        return None
    metadata = _metadata(intent)
    return PaymentSucceeded(
        payment_intent=intent_id,
        checkout_session=None,
        amount=_int(intent.get("amount_received")) or _int(intent.get("amount")),
        currency=_currency(intent),
        metadata=metadata,
        customer_email=_text(intent.get("receipt_email")) or _text(metadata.get(EMAIL_KEY)),
        occurred_at=_when(event),
        charge=_id_of(intent.get("latest_charge")),
    )


def _from_session(event: Mapping[str, Any], session: Mapping[str, Any]) -> PaymentSucceeded | None:
    session_id = _text(session.get("id"))
    if session_id is None:
        return None
    metadata = _metadata(session)
    details = session.get("customer_details")
    email = _text(details.get("email")) if isinstance(details, Mapping) else None
    return PaymentSucceeded(
        payment_intent=_id_of(session.get("payment_intent")),
        checkout_session=session_id,
        amount=_int(session.get("amount_total")),
        currency=_currency(session),
        metadata=metadata,
        customer_email=email or _text(session.get("customer_email")) or _text(metadata.get(EMAIL_KEY)),
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
        session_id = _text(obj.get("id"))
        return PaymentFailed(_id_of(obj.get("payment_intent")), session_id) if session_id else None
    if event_type == "charge.refunded":
        key = _id_of(obj.get("payment_intent")) or _text(obj.get("id"))
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
        refund_id = _text(obj.get("id"))
        if key is None or refund_id is None:
            return None
        return RefundsChanged(
            payment_key=key,
            currency=_currency(obj),
            refund_id=refund_id,
            refund_amount=_int(obj.get("amount")) or 0,
            refund_status=_text(obj.get("status")) or "pending",
        )
    if event_type == "charge.dispute.created":
        key = _payment_key_of_charge_like(obj)
        dispute_id = _text(obj.get("id"))
        if key is None or dispute_id is None:
            return None
        return DisputeOpened(key, dispute_id, _currency(obj), _int(obj.get("amount")))
    return None
