"""Payments and their protections, recorded from payment facts exactly once, whatever order they arrive in."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.exc import DataError, IntegrityError

from plugin import metrics
from plugin.domain import quote_token
from plugin.domain.ids import new_id
from plugin.domain.policies import CancelReason
from plugin.domain.protections import ProtectionStatus, protection_transition
from plugin.domain.purchases import (
    AMOUNT_KEY,
    CONSENT_KEY,
    ORDER_KEY,
    QUOTE_KEY,
    DisputeOpened,
    PaymentFact,
    PaymentFailed,
    PaymentSucceeded,
    RefundsChanged,
    ReviewReason,
    check_purchase,
    is_protection_line,
    parse_minor_units,
)
from plugin.domain.untrusted_text import digest_id, fit_id, fit_text
from plugin.extensions import db, insert_with_conflicts
from plugin.logs import current_request_id
from plugin.models import Payment, Protection, StripeRefund, WebhookDelivery
from plugin.services import claim_payouts, jobs
from plugin.services.policies import order_policies, request_cancellation

log = logging.getLogger(__name__)

ACTIVE, VOIDED, NEEDS_REVIEW = ProtectionStatus.ACTIVE, ProtectionStatus.VOIDED, ProtectionStatus.NEEDS_REVIEW
CONFIRM_LINE_ITEMS = "confirm_line_items"
_COUNTED_REFUND_STATES = {"succeeded", "pending", "requires_action"}
_WRITE_ATTEMPTS = 3


class ShopRef(Protocol):
    """A shop as recording needs it: its id (a Shop row, or the webhook endpoint's kept stand-in)."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Recorded:
    """What a delivery did: its outcome, whether it was a repeat, and the protection it touched."""

    outcome: str
    duplicate: bool = False
    protection_id: str | None = None


def find_payment(shop_id: str, *references: str | None) -> Payment | None:
    """The payment any of these PaymentIntent, Checkout Session or Charge ids names (one indexed query)."""
    ids = [reference for reference in references if reference]
    if not ids:
        return None
    return db.session.scalars(
        select(Payment)
        .where(Payment.shop_id == shop_id)
        .where(or_(Payment.payment_key.in_(ids), Payment.charge_id.in_(ids), Payment.checkout_session.in_(ids)))
        .limit(1)
    ).first()


def _payment(shop_id: str, key: str, *other_references: str | None) -> tuple[Payment, bool]:
    """The payment, found or new (a new one is written at commit, where its unique key is enforced)."""
    payment = find_payment(shop_id, key, *other_references)
    if payment is not None:
        return payment, False
    payment = Payment(shop_id=shop_id, payment_key=key, status="unknown", amount_refunded=0, disputed=False)
    db.session.add(payment)
    return payment, True


def _protection_of(payment: Payment, new: bool) -> Protection | None:
    if new:
        return None  # a payment first seen now has no protection yet: no query needed
    return db.session.scalars(select(Protection).where(Protection.payment_id == payment.id)).first()


def order_id_of(metadata: Mapping[str, str]) -> str | None:
    """The order id as stored: fitted so that a long or unreadable one never matches another order's id."""
    sent = metadata.get(ORDER_KEY)
    return fit_id(sent) if sent else None


def _verified_claims(reference: str, secrets: Sequence[str]) -> quote_token.QuoteClaims | None:
    try:
        return quote_token.verify(reference, secrets)
    except quote_token.InvalidQuoteTokenError:
        return None


def protection_values(shop_id: str, fact: PaymentSucceeded, quote_secrets: Sequence[str]) -> dict[str, Any]:
    """The columns of the protection a succeeded payment with sp_quote buys, but those of its payment (its id,
    payment_intent, checkout_session and disputed): checked against the signed quote it names."""
    metadata = fact.metadata
    reference = metadata[QUOTE_KEY][:500]
    claims = _verified_claims(reference, quote_secrets)
    charged = parse_minor_units(metadata.get(AMOUNT_KEY))
    sent_order_id = metadata.get(ORDER_KEY) or None
    check = check_purchase(
        claims,
        shop_id=shop_id,
        currency=fact.currency,
        charged=charged,
        paid_at=fact.occurred_at,
        order_id=sent_order_id,
    )
    values: dict[str, Any] = {
        "id": new_id("prot"),
        "shop_id": shop_id,
        "order_id": order_id_of(metadata),
        "status": str(ACTIVE if check.trusted else NEEDS_REVIEW),
        "review_reason": None if check.trusted else str(check.reasons[0]),
        "charged_amount": charged,
        "quote_reference": reference,
        "consent_id": fit_id(metadata[CONSENT_KEY]) if metadata.get(CONSENT_KEY) else None,
        "customer_email": fact.customer_email,
        "line_item_check": "not_applicable",
    }
    if claims is None:  # a forged or unreadable quote: kept for review with what was charged, nothing else trusted
        values.update(
            currency=fact.currency,
            declared_value_amount=0,
            premium_amount=0,
            customer_price_amount=charged or 0,
            merchant_contribution_amount=0,
            quote_expires_at=None,
            destination_country=None,
            destination_region=None,
            destination_postal_code=None,
            covers_shipping=True,
            covers_returns=False,
            returns_premium_amount=0,
            returns_customer_price_amount=0,
            returns_merchant_contribution_amount=0,
            rate_tier=None,
            returns_rate_tier=None,
            shipping_carrier=None,
        )
        return values
    destination = claims.destination
    values.update(  # what the bundle covers, from the signed reference (v1/v2: the parcel only)
        currency=claims.currency,
        declared_value_amount=claims.declared_value,
        premium_amount=claims.premium,
        customer_price_amount=claims.customer_price,
        merchant_contribution_amount=claims.merchant_contribution,
        quote_expires_at=claims.expires_at,
        destination_country=destination.country if destination else None,
        destination_region=destination.region if destination else None,
        destination_postal_code=destination.postal_code if destination else None,
        covers_shipping=claims.covers_shipping,
        covers_returns=claims.covers_returns,
        returns_premium_amount=claims.returns_premium,
        returns_customer_price_amount=claims.returns_customer_price,
        returns_merchant_contribution_amount=claims.returns_merchant_contribution,
        rate_tier=claims.rate_tier,
        returns_rate_tier=claims.returns_rate_tier,
        shipping_carrier=claims.shipping_carrier,
    )
    return values


def _new_protection(
    shop: ShopRef,
    payment: Payment,
    fact: PaymentSucceeded,
    quote_secrets: Sequence[str],
) -> Protection:
    protection = Protection(
        payment=payment,
        disputed=payment.disputed,
        payment_intent=payment.payment_intent,
        checkout_session=payment.checkout_session,
        **protection_values(shop.id, fact, quote_secrets),
    )
    db.session.add(protection)  # one per payment: the unique constraint is enforced at commit
    return protection


def _check_line_items(protection: Protection, now: datetime) -> None:
    """Mark the protection's Checkout line as to be confirmed, and queue the job that asks Stripe."""
    protection.line_item_check = "pending"
    jobs.enqueue(
        shop_id=protection.shop_id,
        kind=CONFIRM_LINE_ITEMS,
        subject=protection.id,
        idempotency_key=f"line_items-{protection.id}",
        now=now,
    )


def _settle_money(payment: Payment, protection: Protection | None, now: datetime) -> None:
    """Carry the payment's refunds and disputes over to its protection."""
    if protection is None:
        return
    protection.disputed = protection.disputed or payment.disputed
    fully_refunded = payment.amount is not None and payment.amount_refunded >= payment.amount > 0
    # A claim's payout is the cover doing its job, not the order being refunded: money refunded for claims
    # does not void the protection, and only an order refund beyond it does.
    order_refunded = payment.amount_refunded - claim_payouts.refunded_for_claims(payment.id) if fully_refunded else 0
    if fully_refunded and order_refunded > 0 and protection.status != VOIDED:
        # The money went back: no cover. Parcels already shipped have their policies cancelled where the
        # insurer allows it (bought ones by a job, pending ones at once), except those with a claim on
        # them: cancelling would forfeit what the insurer owes for the loss.
        protection.status = protection_transition(protection.status, VOIDED)
        protection.voided_at = now
        if protection.order_id:
            policies = order_policies(protection.shop_id, protection.order_id)
            claimed = claim_payouts.claimed_policy_ids([policy.id for policy in policies])
            request_cancellation([p for p in policies if p.id not in claimed], CancelReason.REFUNDED, now)


def _on_succeeded(shop: ShopRef, fact: PaymentSucceeded, ctx: PurchaseContext) -> Recorded:
    payment, new = _payment(shop.id, fact.payment_key, fact.checkout_session, fact.charge)
    payment.payment_intent = payment.payment_intent or fact.payment_intent
    payment.checkout_session = payment.checkout_session or fact.checkout_session
    payment.charge_id = payment.charge_id or fact.charge
    if payment.status != "succeeded":
        payment.status = "succeeded"
        payment.succeeded_at = fact.occurred_at
    payment.amount = fact.amount if fact.amount is not None else payment.amount
    payment.currency = fact.currency or payment.currency
    payment.order_id = payment.order_id or order_id_of(fact.metadata)
    payment.customer_email = payment.customer_email or fact.customer_email
    protection = _protection_of(payment, new)
    outcome = "order_recorded"
    if QUOTE_KEY in fact.metadata:
        payment.protected = True
        if protection is None:
            protection = _new_protection(shop, payment, fact, ctx.quote_secrets)
            outcome = "protection_created"
        else:
            outcome = "protection_confirmed"
    if protection is not None:
        protection.customer_email = protection.customer_email or fact.customer_email
        protection.checkout_session = protection.checkout_session or fact.checkout_session
        protection.payment_intent = protection.payment_intent or fact.payment_intent
        if protection.line_item_check == "not_applicable" and fact.checkout_session and ctx.line_items_checkable:
            _check_line_items(protection, ctx.now)
    _settle_money(payment, protection, ctx.now)
    return Recorded(outcome, protection_id=protection.id if protection else None)


def _on_failed(shop: ShopRef, fact: PaymentFailed) -> Recorded:
    payment, _ = _payment(shop.id, fact.payment_key, fact.checkout_session)
    if payment.status != "succeeded":
        payment.status = "failed"
    return Recorded("payment_failed")


def _on_refunds(shop: ShopRef, fact: RefundsChanged, ctx: PurchaseContext) -> Recorded:
    payment, new = _payment(shop.id, fact.payment_key)
    db.session.flush()  # refund rows point at the payment's id
    if payment.amount is None and fact.charge_amount is not None:
        payment.amount = fact.charge_amount
        payment.currency = payment.currency or fact.currency
    refunded = payment.amount_refunded
    if fact.amount_refunded is not None:
        refunded = max(refunded, fact.amount_refunded)
    if fact.refund_id is not None:
        refund = db.session.scalars(
            select(StripeRefund).where(StripeRefund.shop_id == shop.id, StripeRefund.refund_id == fact.refund_id)
        ).first()
        if refund is None:
            refund = StripeRefund(shop_id=shop.id, refund_id=fact.refund_id, payment_id=payment.id, amount=0, status="")
            db.session.add(refund)
        refund.amount, refund.status = fact.refund_amount, fact.refund_status or "pending"
        db.session.flush()
        counted = db.session.scalars(
            select(StripeRefund).where(
                StripeRefund.payment_id == payment.id, StripeRefund.status.in_(_COUNTED_REFUND_STATES)
            )
        )
        refunded = max(refunded, sum(row.amount for row in counted))
        claim_payouts.refund_event(
            shop.id, payment, fact.refund_id, fact.refund_claim, refund.status, fact.failure_reason, ctx.now
        )
    payment.amount_refunded = refunded
    protection = _protection_of(payment, new)
    _settle_money(payment, protection, ctx.now)
    return Recorded("refund_recorded", protection_id=protection.id if protection else None)


def _on_dispute(shop: ShopRef, fact: DisputeOpened, ctx: PurchaseContext) -> Recorded:
    payment, new = _payment(shop.id, fact.payment_key)
    payment.disputed = True
    protection = _protection_of(payment, new)
    _settle_money(payment, protection, ctx.now)
    return Recorded("dispute_recorded", protection_id=protection.id if protection else None)


@dataclass(frozen=True)
class PurchaseContext:
    """What recording needs from outside: quote-signing keys, the time, whether Stripe can be asked."""

    quote_secrets: Sequence[str]
    now: datetime
    line_items_checkable: bool = False


def apply_fact(shop: ShopRef, fact: PaymentFact, ctx: PurchaseContext) -> Recorded:
    """The effect of one fact on the shop's payments and protections (flushed, not committed)."""
    if isinstance(fact, PaymentSucceeded):
        return _on_succeeded(shop, fact, ctx)
    if isinstance(fact, PaymentFailed):
        return _on_failed(shop, fact)
    if isinstance(fact, RefundsChanged):
        return _on_refunds(shop, fact, ctx)
    return _on_dispute(shop, fact, ctx)


DELIVERY_ID_LIMIT, TOPIC_LIMIT = 255, 100
UNSTORABLE, UNREADABLE = "unstorable", "unreadable"


def _store_delivery(shop_id: str, source: str, delivery_id: str, topic: str, outcome: str) -> bool:
    """Insert the delivery unless it is stored already (one statement, the effect not yet flushed); whether it
    was new. A concurrent repeat waits here on the unique key until the first one's transaction ends."""
    table = cast(Table, WebhookDelivery.__table__)
    insert = insert_with_conflicts(db.engine.dialect.name)
    statement = (
        insert(table)
        .values(
            shop_id=shop_id,
            source=source,
            delivery_id=delivery_id,
            topic=topic,
            outcome=outcome,
            request_id=current_request_id(),
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "source", "delivery_id"])
        .returning(table.c.id)
    )
    with db.session.no_autoflush:
        return db.session.execute(statement).first() is not None


def _stored_outcome(shop_id: str, source: str, delivery_id: str) -> str | None:
    return db.session.scalar(
        select(WebhookDelivery.outcome).where(
            WebhookDelivery.shop_id == shop_id,
            WebhookDelivery.source == source,
            WebhookDelivery.delivery_id == delivery_id,
        )
    )


def _repeat(shop_id: str, source: str, delivery_id: str) -> Recorded | None:
    """The stored delivery's outcome as a repeat's answer (the transaction is rolled back), if it is stored."""
    seen = _stored_outcome(shop_id, source, delivery_id)
    db.session.rollback()
    if seen is None:
        return None
    metrics.webhook_recorded(source, "duplicate")
    return Recorded(seen, duplicate=True)


def record_delivery(
    shop: ShopRef, source: str, delivery_id: str, topic: str, apply: Callable[[], Recorded | None]
) -> Recorded:
    """Store the delivery and its effect in one transaction; a repeat (even a concurrent one) does nothing.

    The effect is worked out first, in the session; then the delivery row is inserted with ON CONFLICT DO
    NOTHING before anything else is written: a repeat inserts nothing, and its transaction is rolled back
    with the effect it had worked out. Two different deliveries about the same payment may race to create
    it: the loser's transaction hits a unique constraint, rolls back, and runs again against what the winner
    committed. A signed delivery whose values the database still refuses is stored as `unstorable` (and
    logged), never answered with a 5xx that the sender would retry for days.
    """
    shop_id = shop.id
    delivery_id = fit_id(delivery_id, DELIVERY_ID_LIMIT)
    topic = fit_text(topic, TOPIC_LIMIT)
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            recorded = apply() or Recorded("ignored")
            if not _store_delivery(shop_id, source, delivery_id, topic, recorded.outcome):
                repeat = _repeat(shop_id, source, delivery_id)
                if repeat is not None:
                    return repeat
                continue  # stored and gone again (the shop's deliveries purged): record it afresh
            db.session.commit()  # the effect's rows are flushed here, with the delivery
            metrics.webhook_recorded(source, recorded.outcome)
            return recorded
        except IntegrityError:
            db.session.rollback()
            log.info("delivery write conflicted; retrying", extra={"delivery_id": delivery_id, "attempt": attempt})
        except DataError as exc:
            db.session.rollback()
            log.error(
                "signed delivery not storable; kept without its effect",
                extra={"delivery_id": delivery_id, "source": source, "topic": topic, "error": str(exc.orig)[:300]},
            )
            if not _store_delivery(shop_id, source, delivery_id, topic, UNSTORABLE):
                repeat = _repeat(shop_id, source, delivery_id)
                if repeat is not None:
                    return repeat
            db.session.commit()
            metrics.webhook_recorded(source, UNSTORABLE)
            return Recorded(UNSTORABLE)
    raise RuntimeError(f"delivery {delivery_id} conflicted {_WRITE_ATTEMPTS} times")


def record_unreadable(shop: ShopRef, source: str, raw: bytes, delivery_id: str | None, topic: str) -> Recorded:
    """Store a signed delivery that cannot be interpreted at all (not JSON, not an event): answered, not retried."""
    log.warning(
        "signed delivery unreadable; stored without effect",
        extra={"shop_id": shop.id, "source": source, "delivery_id": delivery_id, "size": len(raw)},
    )
    return record_delivery(shop, source, delivery_id or digest_id(raw, "sha256:"), topic, lambda: Recorded(UNREADABLE))


def apply_line_items(protection_id: str, lines: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """Check a Checkout Session's protection line against sp_amount; a disagreement needs review (the
    caller commits)."""
    protection = db.session.get(Protection, protection_id)
    if protection is None or protection.line_item_check != "pending":
        return protection.line_item_check if protection else "missing_protection"
    matching = [line for line in lines if is_protection_line(line)]
    if not matching:
        result, reason = "missing", ReviewReason.LINE_ITEM_MISSING
    elif sum(int(line.get("amount_total") or 0) for line in matching) != protection.charged_amount:
        result, reason = "mismatch", ReviewReason.LINE_ITEM_MISMATCH
    else:
        result, reason = "confirmed", None
    protection.line_item_check = result
    if reason is not None and protection.status == ACTIVE:
        protection.status = protection_transition(protection.status, NEEDS_REVIEW)
        protection.review_reason = str(reason)
    return result


def confirm_line_items(
    protection_id: str, list_line_items: Callable[[str], Sequence[Mapping[str, Any]]], now: datetime
) -> str:
    """Ask for the session's line items now and record the check (for `flask stripe reconcile`)."""
    protection = db.session.get(Protection, protection_id)
    if protection is None or protection.line_item_check != "pending" or not protection.checkout_session:
        return protection.line_item_check if protection else "missing_protection"
    session_id = protection.checkout_session
    db.session.commit()  # no transaction stays open while Stripe is asked
    result = apply_line_items(protection_id, list_line_items(session_id), now)
    db.session.commit()
    return result
