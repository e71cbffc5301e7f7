"""Returns and the return cover (运费险): open a return, pay its label back once received, flag abuse.

A return opens from the API or a platform returns webhook. When the order's protection is active, was bought
with the return cover (`covers_returns`), the shop's `coverage.returns.enabled` is on and the shopper is not
blocked, the return opens a `return_shipping` claim on the order's parcel for the payout
(plugin.domain.returns). Receiving the return approves the claim and queues its Stripe refund (the claims'
refund job, plugin.jobs.claims); flagging it (swapped, empty) denies the claim and blocks the shopper's return
cover until the merchant lifts it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError

from plugin.domain.claims import ClaimStatus, ClaimType, DecidedBy, Resolution, claim_transition
from plugin.domain.ids import new_id
from plugin.domain.returns import (
    FREQUENT_WINDOW,
    FlagReason,
    ReturnRules,
    ReturnStatus,
    UncoveredReason,
    is_frequent,
    payout_ratio,
    return_payout,
)
from plugin.errors import ApiError, ConflictError, NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import BlockedShopper, Claim, Payment, Protection, Return, Shipment, Shop
from plugin.services import audit, claim_events, claim_payouts
from plugin.services.claims import normalise_email, normalise_order_number
from plugin.services.paging import fetch_page, page_window
from plugin.services.protections import latest_payment, latest_protection
from plugin.services.settings import effective_settings

log = logging.getLogger(__name__)

# Refund states in which the return's money has gone (or may be going) out through Stripe: a flag is too late.
_MONEY_GONE = ("sending", "requires_action", "succeeded")


class ReturnOrderNotFoundError(NotFoundError):
    code = "order_not_found"
    message = "No order of this shop has this order_id."


class OrderNotShippedError(ApiError):
    status, code = 422, "order_not_shipped"
    message = "This order has no parcel yet: a return needs an order that was shipped."


class ReturnIdReusedError(ConflictError):
    code = "return_id_reused"


class ReturnFlaggedError(ConflictError):
    code = "return_flagged"


class ReturnAlreadyPaidError(ConflictError):
    code = "return_already_paid"


@dataclass(frozen=True, slots=True)
class ReturnItem:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    """A return as the store (API) or the platform (webhook) told it."""

    return_ref: str
    order_id: str
    carrier: str | None
    tracking_number: str | None
    label_cost: int
    currency: str | None = None
    items: tuple[ReturnItem, ...] = ()
    source: str = "api"


@dataclass(frozen=True, slots=True)
class OpenedReturn:
    ret: Return
    created: bool


def _outbound_parcel(shop_id: str, order_id: str, items: Sequence[ReturnItem]) -> Shipment | None:
    """The parcel the returned items came in: the first that held one of their SKUs, else the order's first."""
    shipments = list(
        db.session.scalars(
            select(Shipment)
            .where(Shipment.shop_id == shop_id, Shipment.order_id == order_id)
            .order_by(Shipment.created_at, Shipment.id)
        )
    )
    skus = {item.sku for item in items}
    for shipment in shipments:
        if skus & {str(line.get("sku")) for line in shipment.items or ()}:
            return shipment
    return shipments[0] if shipments else None


def _same_request(ret: Return, request: ReturnRequest, currency: str) -> bool:
    return (
        ret.order_id == normalise_order_number(request.order_id)
        and ret.carrier == request.carrier
        and ret.tracking_number == request.tracking_number
        and ret.label_cost_amount == request.label_cost
        and ret.currency == currency
        and list(ret.items or []) == [{"sku": i.sku, "quantity": i.quantity} for i in request.items]
    )


def existing_return(shop_id: str, return_ref: str) -> Return | None:
    """The shop's return the store knows by this id, if any."""
    return db.session.scalars(select(Return).where(Return.shop_id == shop_id, Return.return_ref == return_ref)).first()


def _repeat(shop_id: str, request: ReturnRequest, currency: str | None) -> OpenedReturn | None:
    ret = existing_return(shop_id, request.return_ref)
    if ret is None:
        return None
    if request.source == "api" and not _same_request(ret, request, currency or ret.currency):
        raise ReturnIdReusedError(
            f"Return {request.return_ref} was already opened with other details; a return_id names one return."
        )
    return OpenedReturn(ret, created=False)


def open_return(shop: Shop, request: ReturnRequest, now: datetime) -> OpenedReturn:
    """Record the return and, when the return cover pays it, its claim; commit. A repeat answers the first."""
    try:
        opened = record_return(shop, request, now)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same return opened at the same moment: answer as a repeat
        repeat = _repeat(shop.id, request, request.currency)
        if repeat is None:
            raise
        return repeat
    except Exception:
        db.session.rollback()
        raise
    if opened.created:
        log.info("return opened", extra={"return": opened.ret.id, "covered": opened.ret.uncovered_reason is None})
    return opened


def record_return(shop: Shop, request: ReturnRequest, now: datetime) -> OpenedReturn:
    """Record the return and, when the return cover pays it, its claim (the caller commits)."""
    order_id = normalise_order_number(request.order_id)
    protection = latest_protection(shop.id, order_id)
    payment = latest_payment(shop.id, order_id) or (protection.payment if protection else None)
    currency = (request.currency or (protection.currency if protection else None) or shop.currency).upper()
    repeat = _repeat(shop.id, request, currency)
    if repeat is not None:
        return repeat
    if protection is None and payment is None:
        raise ReturnOrderNotFoundError()
    order_currency = protection.currency if protection else (payment.currency if payment else None)
    if order_currency and currency != order_currency.upper():
        raise ValidationFailedError(fields={"currency": [f"Must be the order's currency, {order_currency}."]})
    shipment = _outbound_parcel(shop.id, order_id, request.items)
    if shipment is None:
        raise OrderNotShippedError()
    email_source = (protection.customer_email if protection else None) or (payment.customer_email if payment else None)
    email = normalise_email(email_source) if email_source else None
    rules = ReturnRules.of(effective_settings(shop)["coverage"]["returns"])
    covered = rules.enabled and protection is not None and protection.status == "active" and protection.covers_returns
    blocked = email is not None and db.session.get(BlockedShopper, (shop.id, email)) is not None
    uncovered = None if covered else UncoveredReason.NOT_COVERED
    if uncovered is None and blocked:
        uncovered = UncoveredReason.SHOPPER_BLOCKED
    ret = Return(
        id=new_id("ret"),
        shop_id=shop.id,
        return_ref=request.return_ref,
        order_id=order_id,
        protection_id=protection.id if protection else None,
        source=request.source,
        email=email,
        carrier=request.carrier,
        tracking_number=request.tracking_number,
        currency=currency,
        label_cost_amount=request.label_cost,
        items=[{"sku": item.sku, "quantity": item.quantity} for item in request.items],
        status=ReturnStatus.IN_TRANSIT.value,
        uncovered_reason=uncovered.value if uncovered else None,
        created_at=now,
    )
    db.session.add(ret)
    db.session.flush()  # the store's return id is unique per shop: a racing twin fails here
    if uncovered is None and protection is not None:
        _open_claim(shop, ret, protection, payment, shipment, rules, now)
    return OpenedReturn(ret, created=True)


def earlier_returns(shop_id: str, email: str | None, before: datetime, exclude: str | None = None) -> int:
    """How many returns this shopper opened in the window before `before` (the frequent-returner count)."""
    if email is None:
        return 0
    statement = select(func.count()).where(
        Return.shop_id == shop_id,
        Return.email == email,
        Return.created_at >= before - FREQUENT_WINDOW,
        Return.created_at <= before,
    )
    if exclude is not None:
        statement = statement.where(Return.id != exclude)
    return int(db.session.scalar(statement) or 0)


def _open_claim(
    shop: Shop,
    ret: Return,
    protection: Protection,
    payment: Payment | None,
    shipment: Shipment,
    rules: ReturnRules,
    now: datetime,
) -> Claim:
    earlier = earlier_returns(shop.id, ret.email, now, exclude=ret.id)
    ratio = payout_ratio(earlier, rules)
    amount = return_payout(ret.label_cost_amount, ratio, rules.max_payout)
    reason = f"Return {ret.return_ref}: {ratio} of the label's cost of {ret.label_cost_amount}"
    if rules.max_payout is not None:
        reason += f", at most {rules.max_payout}"
    if is_frequent(earlier, rules):
        reason += f" (frequent returner: {earlier} returns in the 30 days before)"
    claim = Claim(
        id=new_id("clm"),
        shop_id=shop.id,
        order_id=ret.order_id,
        shipment_id=shipment.id,
        protection_id=protection.id,
        payment_id=payment.id if payment else protection.payment_id,
        policy_id=None,  # the merchant carries the return cover: no insurer to recover from
        type=ClaimType.RETURN_SHIPPING.value,
        return_id=ret.id,
        status=ClaimStatus.SUBMITTED.value,
        source=ret.source,
        email=ret.email,
        address_key=shipment.address_key,
        locale="en",
        description=f"Return shipping of return {ret.return_ref}",
        items=list(ret.items or []),
        currency=ret.currency,
        amount=amount,
        covered_amount=amount,
        signals=[],
        reasons=[{"code": "return_payout", "message": reason + "."}],
        refund_generation=0,
    )
    db.session.add(claim)
    db.session.flush()
    claim_events.claim_changed(claim, "claim.created", now)
    return claim


def claim_of(ret: Return) -> Claim | None:
    """The return's claim, if the return cover pays it."""
    return db.session.scalars(select(Claim).where(Claim.return_id == ret.id)).first()


def get_return(shop_id: str, ident: str) -> Return:
    """One return of this shop, by its id (ret_…) or the store's return id."""
    ret = db.session.scalars(
        select(Return)
        .where(Return.shop_id == shop_id, or_(Return.id == ident, Return.return_ref == ident))
        .order_by(Return.created_at)
        .limit(1)
    ).first()
    if ret is None:
        raise NotFoundError("No such return.")
    return ret


def _locked_return(shop_id: str, ident: str) -> Return:
    ret = get_return(shop_id, ident)
    statement = select(Return).where(Return.id == ret.id)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    else:
        db.session.execute(text("UPDATE returns SET updated_at = updated_at WHERE id = :id"), {"id": ret.id})
    return db.session.scalars(statement.execution_options(populate_existing=True)).one()


@dataclass(frozen=True)
class ReturnFilter:
    order_id: str | None = None
    status: str | None = None
    search: str | None = None
    created_gte: datetime | None = None
    created_lte: datetime | None = None
    limit: int = 10
    starting_after: str | None = None


def list_returns(shop_id: str, query: ReturnFilter) -> tuple[list[Return], bool]:
    """A page of returns, newest first, and whether more follow."""
    statement = select(Return).where(Return.shop_id == shop_id)
    if query.order_id is not None:
        statement = statement.where(Return.order_id == normalise_order_number(query.order_id))
    if query.status is not None:
        statement = statement.where(Return.status == query.status)
    if query.search:
        term = query.search.strip()
        statement = statement.where(
            or_(
                Return.order_id == normalise_order_number(term),
                Return.tracking_number == term,
                Return.return_ref == term,
                Return.id == term,
            )
        )
    statement = page_window(
        statement,
        Return,
        shop_id=shop_id,
        created_gte=query.created_gte,
        created_lte=query.created_lte,
        starting_after=query.starting_after,
        noun="return",
    )
    return fetch_page(statement, query.limit)


def _approve_return_claim(claim: Claim, ret: Return, now: datetime) -> None:
    shop = db.session.get(Shop, claim.shop_id)
    payment = db.session.get(Payment, claim.payment_id) if claim.payment_id else None
    disputed = bool(payment and payment.disputed)
    if disputed:
        claim.status = claim_transition(claim.status, ClaimStatus.NEEDS_REVIEW)
        claim.review_reason = "payment_disputed"
        claim_events.claim_changed(claim, "claim.updated", now)
        return
    claim.status = claim_transition(claim.status, ClaimStatus.APPROVED)
    claim.resolution = Resolution.REFUND.value
    claim.approved_amount = claim.amount
    claim.decided_by = DecidedBy.AUTO.value
    claim.decided_at = now
    message = f"The return {ret.return_ref} was received: its label is paid back."
    if claim.amount == 0:
        message = f"The return {ret.return_ref} was received; its label cost nothing to pay back."
        claim.status = claim_transition(claim.status, ClaimStatus.PAID)
        claim.paid_at = now
        claim.paid_method = "nothing_due"
    elif shop is not None and claim_payouts.can_refund(shop, payment):
        claim_payouts.enqueue_refund(claim, now)
    else:
        message += " No Stripe refund is possible for this payment: pay another way and record it."
    claim.reasons = [*(claim.reasons or []), {"code": "return_received", "message": message}]
    claim_events.claim_changed(claim, "claim.updated", now)


def receive_return(shop_id: str, ident: str, now: datetime, *, actor: str | None = None) -> Return:
    """The return reached the merchant: its claim is approved and its refund queued; commit. Repeats change
    nothing; a flagged return is a 409."""
    ret = _locked_return(shop_id, ident)
    if ret.status == ReturnStatus.FLAGGED:
        db.session.rollback()
        raise ReturnFlaggedError(f"Return {ret.return_ref} was flagged ({ret.flag_reason}); it is not paid.")
    if ret.status == ReturnStatus.RECEIVED:
        db.session.rollback()
        return ret
    mark_received(ret, now)
    if actor is not None:
        audit.record(shop_id, actor, "return.received", now, target=ret.id)
    db.session.commit()
    log.info("return received", extra={"return": ret.id})
    return ret


def mark_received(ret: Return, now: datetime) -> None:
    """Mark an in-transit return received and approve its claim (the caller commits)."""
    ret.status = ReturnStatus.RECEIVED.value
    ret.received_at = now
    claim = claim_of(ret)
    if claim is not None:
        claim = claim_payouts.locked_claim(claim.id) or claim
        if claim.status == ClaimStatus.SUBMITTED:
            _approve_return_claim(claim, ret, now)


def flag_return(shop_id: str, ident: str, reason: FlagReason, now: datetime, *, actor: str) -> Return:
    """The return came back swapped or empty: its claim is denied and the shopper's return cover blocked;
    commit. Once the refund has gone to Stripe it is too late (409)."""
    ret = _locked_return(shop_id, ident)
    claim = claim_of(ret)
    if claim is not None:
        claim = claim_payouts.locked_claim(claim.id) or claim
        if claim.status == ClaimStatus.PAID or claim.refund_status in _MONEY_GONE:
            db.session.rollback()
            raise ReturnAlreadyPaidError("This return's label was already paid back; the money has gone.")
    if ret.status == ReturnStatus.FLAGGED:
        db.session.rollback()
        return ret
    ret.status = ReturnStatus.FLAGGED.value
    ret.flag_reason = reason.value
    ret.flagged_at = now
    words = {FlagReason.SWAPPED: "other goods came back", FlagReason.EMPTY: "the parcel came back empty"}[reason]
    if claim is not None and claim.status != ClaimStatus.DENIED:
        claim_payouts.cancel_refund(claim, now)
        claim.status = claim_transition(claim.status, ClaimStatus.DENIED)
        claim.deny_reason = f"The return was flagged as {reason.value}: {words}."
        claim.decided_by = DecidedBy.MERCHANT.value
        claim.decided_at = now
        claim.reasons = [*(claim.reasons or []), {"code": "return_flagged", "message": claim.deny_reason}]
        claim_events.claim_changed(claim, "claim.updated", now)
    if ret.email and db.session.get(BlockedShopper, (shop_id, ret.email)) is None:
        db.session.add(BlockedShopper(shop_id=shop_id, email=ret.email, reason=reason.value, return_id=ret.id))
    audit.record(
        shop_id, actor, "return.flagged", now, target=ret.id, after={"reason": reason.value, "email": ret.email}
    )
    db.session.commit()
    return ret


def overdue_return_claims(shop_id: str, now: datetime, pay_within_hours: int) -> int:
    """Return claims approved at receipt and still unpaid `pay_within_hours` after it."""
    due = now - timedelta(hours=pay_within_hours)
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Claim)
            .join(Return, Return.id == Claim.return_id)
            .where(
                Claim.shop_id == shop_id,
                Claim.status == ClaimStatus.APPROVED.value,
                Return.received_at.is_not(None),
                Return.received_at <= due,
            )
        )
        or 0
    )
