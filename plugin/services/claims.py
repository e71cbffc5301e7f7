"""Claims: find the order, judge the claim by the shop's rules, record it with its evidence, decide, settle.

The rules are pure (plugin.domain.claims); this module gathers their facts, owns the transaction, and queues
what happens next (the Stripe refund, the insurer claim, the notices) as jobs committed with the claim.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from plugin.domain import claims as rules_
from plugin.domain.claims import (
    AffectedItem,
    ClaimRefused,
    ClaimRules,
    ClaimStatus,
    ClaimType,
    DecidedBy,
    FraudFacts,
    ParcelFacts,
    ParcelLine,
    Resolution,
    claim_transition,
)
from plugin.domain.ids import new_id
from plugin.domain.policies import PolicyStatus
from plugin.errors import ApiError, ConflictError, NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import Claim, ClaimMessage, Evidence, Payment, Policy, Protection, Shipment, Shop, utcnow
from plugin.services import claim_events, claim_payouts
from plugin.services.evidence import InspectedFile, earlier_matches, store_evidence
from plugin.services.paging import fetch_page, page_window
from plugin.services.protections import latest_payment, latest_protection
from plugin.services.settings import effective_settings
from plugin.services.shipments import policy_of

log = logging.getLogger(__name__)

ORDER_NOT_FOUND_MESSAGE = "No order matches this order number and email. Check both and try again."
RECENT_ORDERS_FOR_MEDIAN = 200
OPEN_CLAIM_STATUSES = rules_.OPEN_STATUSES


class ClaimError(ApiError):
    """A refusal of the claim rules, in the contract's error shape."""

    def __init__(self, refusal: ClaimRefused) -> None:
        fields = refusal.extra.get("fields")
        super().__init__(refusal.message, code=refusal.code, fields=fields)
        self.status = refusal.status
        self.extra = {key: value for key, value in refusal.extra.items() if key == "suggested_type"}


class OrderNotFoundError(NotFoundError):
    """An unknown order and a wrong email answer alike, so that neither can be told from the other."""

    code = "order_not_found"
    message = ORDER_NOT_FOUND_MESSAGE


class ClaimExistsError(ConflictError):
    """One claim per parcel: the second names the first."""

    code = "claim_exists"

    def __init__(self, claim_id: str) -> None:
        super().__init__(f"This parcel already has a claim, {claim_id}; add to it instead of filing another.")
        self.extra = {"claim": claim_id}


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A claim as the shopper (portal) or the merchant's support tools (API) filed it."""

    order_id: str
    email: str
    type: ClaimType
    description: str | None = None
    shipment_ref: str | None = None
    items: tuple[AffectedItem, ...] = ()
    source: str = "api"
    locale: str = "en"


@dataclass(frozen=True)
class FoundOrder:
    """An order the shopper proved they know (number and email): its payment, protection and parcels."""

    order_id: str
    payment: Payment | None
    protection: Protection | None
    shipments: list[Shipment] = field(default_factory=list)


def normalise_order_number(number: str) -> str:
    """What shoppers type: `#1001 ` is order 1001."""
    return number.strip().removeprefix("#").strip()


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively (as every mail provider treats them in practice)."""
    return email.strip().casefold()


def find_order(shop_id: str, order_number: str, email: str) -> FoundOrder:
    """The order with this number whose customer has this email; else OrderNotFoundError, the same either way."""
    order_id = normalise_order_number(order_number)
    wanted = normalise_email(email)
    if not order_id or not wanted:
        raise OrderNotFoundError()
    protection = latest_protection(shop_id, order_id)
    payment = latest_payment(shop_id, order_id)
    if protection is not None and payment is None:
        payment = protection.payment
    known = {
        normalise_email(candidate)
        for candidate in (
            protection.customer_email if protection else None,
            payment.customer_email if payment else None,
        )
        if candidate
    }
    if wanted not in known:
        raise OrderNotFoundError()
    shipments = list(
        db.session.scalars(
            select(Shipment)
            .where(Shipment.shop_id == shop_id, Shipment.order_id == order_id)
            .order_by(Shipment.created_at, Shipment.id)
        )
    )
    return FoundOrder(order_id, payment, protection, shipments)


def pick_shipment(order: FoundOrder, shipment_ref: str | None) -> Shipment:
    """The parcel claimed for: named by the store's id, or the order's only one."""
    if not order.shipments:
        raise ClaimError(
            ClaimRefused(
                "not_shipped", "This order has not shipped yet; a claim can be filed once a parcel is on its way."
            )
        )
    if shipment_ref is None:
        if len(order.shipments) > 1:
            listed = ", ".join(shipment.shipment_ref for shipment in order.shipments)
            raise ValidationFailedError(
                "This order was sent in several parcels; say which one with `shipment_id`.",
                fields={"shipment_id": [f"Required: this order has several parcels: {listed}."]},
            )
        return order.shipments[0]
    for shipment in order.shipments:
        if shipment.shipment_ref == shipment_ref:
            return shipment
    listed = ", ".join(shipment.shipment_ref for shipment in order.shipments)
    raise ValidationFailedError(fields={"shipment_id": [f"Not a parcel of this order; its parcels: {listed}."]})


def _covered_value(shipment: Shipment, policy: Policy | None, order: FoundOrder) -> int:
    """What the parcel is covered for: its policy's sum insured; else its items' value; else the order's value."""
    if policy is not None and policy.status != PolicyStatus.CANCELLED:
        return policy.sum_insured_amount
    if shipment.items_value_amount is not None:
        return shipment.items_value_amount
    if order.protection is not None:
        return order.protection.declared_value_amount
    return order.payment.amount if order.payment is not None and order.payment.amount else 0


def parcel_facts(shipment: Shipment, covered_value: int) -> ParcelFacts:
    """The parcel as the rules see it."""
    lines = tuple(
        ParcelLine(str(item.get("sku")), int(item.get("quantity") or 0), item.get("unit_price"))
        for item in shipment.items or ()
    )
    return ParcelFacts(
        shipped_at=shipment.shipped_at,
        last_tracking_at=max(shipment.last_tracking_at, shipment.shipped_at),
        delivered_at=shipment.delivered_at,
        covered_value=covered_value,
        lines=lines,
    )


def _check_covered(order: FoundOrder, shipment: Shipment, scope: str) -> None:
    if shipment.cancelled_at is not None:
        raise ClaimError(ClaimRefused("not_protected", "This parcel's shipment was cancelled; nothing is covered."))
    protection = order.protection
    protected = protection is not None and protection.status == "active" and shipment.protection_id == protection.id
    if protected:
        return
    if scope == "all_orders" and order.payment is not None:
        return
    raise ClaimError(ClaimRefused("not_protected", "This order was not bought with shipping protection."))


def _existing_claim(shipment: Shipment) -> str | None:
    # One claim per parcel; a return's claim (return_shipping) stands beside it and is not counted.
    return db.session.scalar(select(Claim.id).where(Claim.shipment_id == shipment.id, Claim.return_id.is_(None)))


def _serialise_customer(shop_id: str, email: str) -> None:
    """Hold the customer's claims until commit: two claims filed at once cannot both slip under the limit."""
    if db.session.get_bind().dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.sha256(f"claims:{shop_id}:{email}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": digest})
    else:  # SQLite: take the database's write lock now, for the rest of the transaction
        db.session.execute(text("UPDATE shops SET updated_at = updated_at WHERE id = :id"), {"id": shop_id})


def _recent_claims(shop_id: str, email: str, since: datetime) -> list[str]:
    return list(
        db.session.scalars(
            select(Claim.id)
            .where(
                Claim.shop_id == shop_id,
                Claim.email == email,
                Claim.created_at >= since,
                Claim.return_id.is_(None),  # return claims do not count toward max_claims_per_customer
            )
            .order_by(Claim.created_at)
        )
    )


def _claims_at_address(shop_id: str, address_key: str | None, email: str) -> list[str]:
    if not address_key:
        return []
    return list(
        db.session.scalars(
            select(Claim.id)
            .where(
                Claim.shop_id == shop_id,
                Claim.address_key == address_key,
                Claim.email != email,
                Claim.return_id.is_(None),
            )
            .order_by(Claim.created_at)
            .limit(5)
        )
    )


def _recent_order_values(shop_id: str) -> list[int]:
    return [
        amount
        for amount in db.session.scalars(
            select(Payment.amount)
            .where(Payment.shop_id == shop_id, Payment.status == "succeeded", Payment.amount.is_not(None))
            .order_by(Payment.id.desc())
            .limit(RECENT_ORDERS_FOR_MEDIAN)
        )
        if amount is not None
    ]


def file_claim(shop: Shop, request: ClaimRequest, files: Sequence[InspectedFile], now: datetime) -> Claim:
    """Judge and record a claim with its evidence, decide it, queue what follows; commit. Refusals record nothing."""
    try:
        claim = _file_claim(shop, request, files, now)
        db.session.commit()
    except IntegrityError:
        # Another request recorded a claim on this parcel at the same moment: answer as a repeat would.
        db.session.rollback()
        order = find_order(shop.id, request.order_id, request.email)
        existing = _existing_claim(pick_shipment(order, request.shipment_ref))
        if existing is None:
            raise
        raise ClaimExistsError(existing) from None
    except Exception:
        db.session.rollback()
        raise
    log.info("claim filed", extra={"claim": claim.id, "status": claim.status, "source": request.source})
    return claim


def _file_claim(shop: Shop, request: ClaimRequest, files: Sequence[InspectedFile], now: datetime) -> Claim:
    settings = effective_settings(shop)
    rules = ClaimRules.of(settings["claims"])
    email = normalise_email(request.email)
    order = find_order(shop.id, request.order_id, email)
    shipment = pick_shipment(order, request.shipment_ref)
    existing = _existing_claim(shipment)
    if existing is not None:
        raise ClaimExistsError(existing)
    _check_covered(order, shipment, settings["insurer"]["scope"])
    if request.type is ClaimType.DELAYED and rules.delay_compensation <= 0:
        raise ClaimError(ClaimRefused("delay_cover_off", "This shop does not offer compensation for late parcels."))
    policy = policy_of(shipment)
    covered = _covered_value(shipment, policy, order)
    parcel = parcel_facts(shipment, covered)
    try:
        rules_.check_window(request.type, parcel, rules, now)
        rules_.check_evidence(request.type, sum(1 for f in files if f.kind == "image"), rules)
    except ClaimRefused as refusal:
        raise ClaimError(refusal) from None
    amount, item_errors = rules_.claim_amount(request.type, parcel, request.items, rules)
    if item_errors:
        raise ValidationFailedError(fields=item_errors)
    _serialise_customer(shop.id, email)
    recent = _recent_claims(shop.id, email, now - timedelta(days=rules.customer_limit_days))
    try:
        rules_.check_customer_limit(len(recent), rules)
    except ClaimRefused as refusal:
        raise ClaimError(refusal) from None

    matches = earlier_matches(shop.id, files)
    facts = FraudFacts(
        earlier_claims_by_email=recent,
        earlier_claims_at_address=_claims_at_address(shop.id, shipment.address_key, email),
        reused_evidence=matches.reused,
        similar_evidence=matches.similar,
        recent_order_values=_recent_order_values(shop.id),
    )
    findings = rules_.fraud_signals(request.type, amount, parcel, facts, now)
    payment = order.payment
    disputed = bool(payment and payment.disputed) or bool(order.protection and order.protection.disputed)
    decision = rules_.decide(
        amount,
        findings,
        disputed=disputed,
        refundable=claim_payouts.can_refund(shop, payment),
        rules=rules,
    )
    claim = Claim(
        id=new_id("clm"),
        shop_id=shop.id,
        order_id=order.order_id,
        shipment_id=shipment.id,
        protection_id=order.protection.id if order.protection else None,
        payment_id=payment.id if payment else None,
        policy_id=policy.id if policy else None,
        type=request.type.value,
        status=ClaimStatus.SUBMITTED.value,
        source=request.source,
        email=email,
        address_key=shipment.address_key,
        locale=request.locale,
        description=request.description,
        items=[{"sku": item.sku, "quantity": item.quantity} for item in request.items],
        currency=shipment.currency,
        amount=amount,
        covered_amount=covered,
        signals=[{"code": f.signal.value, "detail": f.detail} for f in findings],
        reasons=[{"code": r.code, "message": r.message} for r in decision.reasons],
        review_reason="payment_disputed" if disputed else ("fraud_signals" if findings else None),
        refund_generation=0,
    )
    db.session.add(claim)
    db.session.flush()  # the unique parcel constraint speaks now, before files are stored
    uploader = "shopper" if request.source == "portal" else "merchant"
    store_evidence(shop.id, files, uploaded_by=uploader, claim_id=claim.id)
    claim_events.claim_changed(claim, "claim.created", now)
    if decision.status is ClaimStatus.NEEDS_REVIEW:
        claim.status = claim_transition(claim.status, ClaimStatus.NEEDS_REVIEW)
    elif decision.approved:
        _approve(claim, Resolution.REFUND, amount, DecidedBy.AUTO, now)
    return claim


def _locked_claim(shop_id: str, claim_id: str) -> Claim:
    claim = claim_payouts.locked_claim(claim_id, shop_id)
    if claim is None:
        raise NotFoundError("No such claim.")
    return claim


def get_claim(shop_id: str, claim_id: str) -> Claim:
    """One claim of this shop; another shop's is as unknown as a missing one."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.shop_id != shop_id:
        raise NotFoundError("No such claim.")
    return claim


def _is_disputed(claim: Claim) -> bool:
    payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
    protection = db.session.get(Protection, claim.protection_id) if claim.protection_id else None
    return bool(payment and payment.disputed) or bool(protection and protection.disputed)


def is_disputed(claim: Claim) -> bool:
    """Whether the claim's payment (or protection) is disputed: then it can be neither approved nor paid."""
    return _is_disputed(claim)


def _approve(claim: Claim, resolution: Resolution, amount: int, by: DecidedBy, now: datetime) -> None:
    claim.status = claim_transition(claim.status, ClaimStatus.APPROVED)
    claim.resolution = resolution.value
    claim.approved_amount = amount
    claim.decided_by = by.value
    claim.decided_at = now
    if resolution is Resolution.REFUND and amount > 0:
        claim_payouts.enqueue_refund(claim, now)
    claim_payouts.start_recovery(claim, now)
    claim_events.claim_changed(claim, "claim.updated", now)


@dataclass(frozen=True, slots=True)
class Approval:
    """A merchant's approval."""

    resolution: Resolution
    amount: int | None = None
    replacement_order_id: str | None = None
    cost: int | None = None
    note: str | None = None


def approve_claim(shop_id: str, claim_id: str, approval: Approval, now: datetime) -> Claim:
    """Approve once: a refund is queued for the worker (Stripe), a reship is recorded as sent; commit."""
    claim = _locked_claim(shop_id, claim_id)
    try:
        rules_.check_approvable(claim.status, _is_disputed(claim))
        amount = rules_.check_approved_amount(approval.amount, claim.amount, claim.covered_amount)
    except ClaimRefused as refusal:
        db.session.rollback()
        raise ClaimError(refusal) from None
    if approval.resolution is Resolution.REFUND and amount > 0:
        shop = db.session.get(Shop, shop_id)
        payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
        if shop is None or not claim_payouts.can_refund(shop, payment):
            db.session.rollback()
            raise ClaimError(
                ClaimRefused(
                    "refund_unavailable",
                    "This payment cannot be refunded through Stripe (no Stripe API key in settings, or no "
                    "PaymentIntent on record); pay another way and record it with mark-paid, or reship.",
                )
            )
    _approve(claim, approval.resolution, amount, DecidedBy.MERCHANT, now)
    claim.reasons = [*claim.reasons, {"code": "approved", "message": approval.note or "Approved by the merchant."}]
    if approval.resolution is Resolution.RESHIP:
        claim.replacement_order_id = approval.replacement_order_id
        claim.reship_cost_amount = approval.cost
        claim.status = claim_transition(claim.status, ClaimStatus.RESHIPPED)
    db.session.commit()
    return claim


def deny_claim(shop_id: str, claim_id: str, reason: str, now: datetime) -> Claim:
    """Deny once, with the reason the shopper is told; commit."""
    claim = _locked_claim(shop_id, claim_id)
    if ClaimStatus(claim.status) in rules_.DECIDED_STATUSES:
        db.session.rollback()
        raise ClaimError(ClaimRefused("claim_already_decided", f"This claim is already {claim.status}.", status=409))
    claim.status = claim_transition(claim.status, ClaimStatus.DENIED)
    claim.deny_reason = reason
    claim.decided_by = DecidedBy.MERCHANT.value
    claim.decided_at = now
    claim.reasons = [*claim.reasons, {"code": "denied", "message": reason}]
    claim_events.claim_changed(claim, "claim.updated", now)
    db.session.commit()
    return claim


@dataclass(frozen=True)
class ClaimFilter:
    """What a list request asks for."""

    status: str | None = None
    type: str | None = None
    order_id: str | None = None
    email: str | None = None
    created_gte: datetime | None = None
    created_lte: datetime | None = None
    limit: int = 10
    starting_after: str | None = None


def list_claims(shop_id: str, query: ClaimFilter) -> tuple[list[Claim], bool]:
    """A page of claims, newest first, and whether more follow."""
    statement = select(Claim).where(Claim.shop_id == shop_id)
    if query.status is not None:
        statement = statement.where(Claim.status == query.status)
    if query.type is not None:
        statement = statement.where(Claim.type == query.type)
    if query.order_id is not None:
        statement = statement.where(Claim.order_id == normalise_order_number(query.order_id))
    if query.email is not None:
        statement = statement.where(Claim.email == normalise_email(query.email))
    statement = page_window(
        statement,
        Claim,
        shop_id=shop_id,
        created_gte=query.created_gte,
        created_lte=query.created_lte,
        starting_after=query.starting_after,
        noun="claim",
    )
    return fetch_page(statement, query.limit)


def add_claim_evidence(shop_id: str, claim_id: str, files: Sequence[InspectedFile], by: str) -> list[Evidence]:
    """More files for a claim (the merchant's, or the shopper's from the portal); reused ones raise a signal."""
    claim = _locked_claim(shop_id, claim_id)
    current = db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.claim_id == claim.id)) or 0
    if current + len(files) > 10:
        db.session.rollback()
        raise ValidationFailedError(fields={"evidence": [f"A claim holds at most 10 files; it has {current}."]})
    matches = earlier_matches(shop_id, files, exclude_claim=claim.id)
    rows = store_evidence(shop_id, files, uploaded_by=by, claim_id=claim.id)
    if by == "shopper" and (matches.reused or matches.similar):
        reused = matches.reused.items()
        similar = matches.similar.items()
        found = [
            *({"code": "evidence_reused", "detail": f"{n} is the same file as evidence of {c}."} for n, c in reused),
            *({"code": "evidence_similar", "detail": f"{n} looks like a photo sent with {c}."} for n, c in similar),
        ]
        claim.signals = [*claim.signals, *found]
        if claim.status == ClaimStatus.SUBMITTED:
            claim.status = claim_transition(claim.status, ClaimStatus.NEEDS_REVIEW)
            claim.review_reason = "fraud_signals"
        claim_events.claim_changed(claim, "claim.updated", utcnow())
    db.session.commit()
    return rows


def get_evidence(shop_id: str, claim_id: str, evidence_id: str) -> Evidence:
    """One evidence file of a claim of this shop."""
    claim = get_claim(shop_id, claim_id)
    row = db.session.get(Evidence, evidence_id)
    if row is None or row.claim_id != claim.id:
        raise NotFoundError("No such evidence.")
    return row


def claim_messages(claim: Claim, *, shopper_only: bool = False) -> list[ClaimMessage]:
    """The claim's messages, oldest first."""
    statement = select(ClaimMessage).where(ClaimMessage.claim_id == claim.id)
    if shopper_only:
        statement = statement.where(ClaimMessage.visibility == "shopper")
    return list(db.session.scalars(statement.order_by(ClaimMessage.created_at, ClaimMessage.id)))


def add_message(claim: Claim, body: str, visibility: str, author: str, now: datetime) -> ClaimMessage:
    """A note on the claim; one the shopper can see is also sent to them; commit."""
    message = ClaimMessage(
        id=new_id("msg"),
        shop_id=claim.shop_id,
        claim_id=claim.id,
        author=author,
        visibility=visibility,
        body=body,
        created_at=now,
    )
    db.session.add(message)
    if visibility == "shopper" and author == "merchant":
        claim_events.message_for_shopper(claim, message, now)
    db.session.commit()
    return message


def mark_paid(
    shop_id: str, claim_id: str, method: str, reference: str | None, amount: int | None, now: datetime
) -> Claim:
    """Record money paid outside Stripe (a bank transfer, cash, store credit the shopper chose); commit.

    A Stripe refund still queued for the claim is called off; one already sent makes this a 409."""
    claim = _locked_claim(shop_id, claim_id)
    status = ClaimStatus(claim.status)
    if status in (ClaimStatus.PAID, ClaimStatus.DENIED, ClaimStatus.RESHIPPED):
        db.session.rollback()
        raise ClaimError(ClaimRefused("claim_already_decided", f"This claim is already {claim.status}.", status=409))
    if claim.refund_id is not None or claim.refund_status in ("sending", "succeeded"):
        db.session.rollback()
        raise ClaimError(
            ClaimRefused("refund_in_progress", "A Stripe refund was already sent for this claim.", status=409)
        )
    if status in OPEN_CLAIM_STATUSES:
        if _is_disputed(claim):
            db.session.rollback()
            raise ClaimError(
                ClaimRefused("payment_disputed", "The payment is disputed: the claim cannot be paid.", status=409)
            )
        paid = amount if amount is not None else claim.amount
        try:
            paid = rules_.check_approved_amount(paid, claim.amount, claim.covered_amount)
        except ClaimRefused as refusal:
            db.session.rollback()
            raise ClaimError(refusal) from None
        claim.status = claim_transition(claim.status, ClaimStatus.APPROVED)
        claim.resolution = Resolution.REFUND.value
        claim.approved_amount = paid
        claim.decided_by = DecidedBy.MERCHANT.value
        claim.decided_at = now
        claim_payouts.start_recovery(claim, now)
    claim_payouts.cancel_refund(claim, now)
    claim.status = claim_transition(claim.status, ClaimStatus.PAID)
    claim.paid_at = now
    claim.paid_method = method
    claim.paid_reference = reference
    claim.reasons = [*claim.reasons, {"code": "paid_outside_stripe", "message": f"Paid by {method}."}]
    claim_events.claim_changed(claim, "claim.updated", now)
    db.session.commit()
    return claim
