"""The claim page's forms: approve, deny, mark paid, retry the refund, record the insurer's outcome, write a
message. Each is a CSRF-protected POST that reads its fields, calls the same service the API calls, and logs the
decision in the audit log in the service's own transaction (a refused decision leaves no entry).

A refusal is said on the claim's page in the reader's language with a 4xx status, and nothing is changed.
Staff and owners alike may work the queue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from plugin.admin import access
from plugin.admin import claim_words as words
from plugin.admin.blueprint import bp
from plugin.admin.claim_detail import not_found, render_claim
from plugin.domain.claims import Resolution
from plugin.domain.untrusted_text import is_clean
from plugin.errors import ApiError, NotFoundError
from plugin.extensions import db
from plugin.iso_codes import currency_exponent
from plugin.models import Claim, utcnow
from plugin.schemas import MAX_AMOUNT
from plugin.services import audit, claim_payouts
from plugin.services import claims as service

MAX_REASON = 1000  # the shopper reads it; the API's limit
MAX_MESSAGE = 5000
MAX_REFERENCE = 255
_DIGITS = re.compile(r"[0-9]{1,15}(?:\.([0-9]+))?")  # ASCII digits only, matched whole


class FormError(Exception):
    """A field the form cannot take; the message names it."""


def _text(name: str, label: str, *, limit: int, required: bool = False) -> str | None:
    value = request.form.get(name, "").strip()
    if not is_clean(value):
        raise FormError(gettext("%(field)s holds characters that cannot be stored.", field=label))
    if not value:
        if required:
            raise FormError(gettext("%(field)s is required.", field=label))
        return None
    if len(value) > limit:
        raise FormError(gettext("%(field)s is longer than %(limit)s characters.", field=label, limit=limit))
    return value


def _choice(name: str, label: str, choices: tuple[str, ...] | list[str]) -> str:
    value = request.form.get(name, "")
    if value not in choices:
        raise FormError(gettext("Choose one of the offered values for %(field)s.", field=label))
    return value


def parse_amount(text: str, currency: str) -> int:
    """An amount typed in the currency's unit (`12.50`, `5000` for yen) as minor units; ValueError otherwise."""
    found = _DIGITS.fullmatch(text)
    if found is None:
        raise ValueError(text)
    exponent = currency_exponent(currency)
    if found.group(1) is not None and len(found.group(1)) > exponent:
        raise ValueError(text)
    minor_units = Decimal(text).scaleb(exponent)
    if minor_units > MAX_AMOUNT:
        raise ValueError(text)
    return int(minor_units)


def _amount(name: str, label: str, currency: str) -> int | None:
    value = request.form.get(name, "").strip().replace(",", "")
    if not value:
        return None
    try:
        return parse_amount(value, currency)
    except ValueError:
        example = words.plain_amount(1250 if currency_exponent(currency) else 5000, currency)
        raise FormError(
            gettext(
                "%(field)s must be an amount in %(currency)s such as %(example)s, not negative, with at most "
                "%(digits)s decimals.",
                field=label,
                currency=currency,
                example=example,
                digits=currency_exponent(currency),
            )
        ) from None


def _explain(error: ApiError, claim_id: str) -> str:
    """A service's refusal in the reader's words."""
    code = error.code
    if code == "claim_already_decided":
        current = db.session.get(Claim, claim_id)
        status = words.word(words.STATUSES, current.status if current else None)
        return gettext(
            "This claim has already been decided (it is now %(status)s). Nothing was changed.", status=status
        )
    if code == "payment_disputed":
        return gettext(
            "The payment is disputed: the claim cannot be approved or paid until the dispute is settled. "
            "Nothing was changed."
        )
    if code == "refund_unavailable":
        return gettext(
            "This payment cannot be refunded through Stripe: there is no Stripe API key in the settings, or no "
            "PaymentIntent on record. Pay another way and record it, or reship. Nothing was changed."
        )
    if code == "refund_in_progress":
        return gettext("A Stripe refund was already sent for this claim, so it cannot be recorded as paid another way.")
    if code == "refund_not_failed":
        return gettext("Only an approved claim whose Stripe refund failed can be refunded again.")
    if code == "no_recovery":
        return gettext("This claim has nothing to recover from an insurer (it is self-insured, or has no policy).")
    if code == "validation_error" and "amount" in error.fields:
        current = db.session.get(Claim, claim_id)
        if current is not None:
            covered = words.money(current.covered_amount, current.currency)
            return gettext("The amount cannot be more than the parcel is covered for (%(covered)s).", covered=covered)
    return error.message


def _act(
    claim_id: str,
    action: str,
    read: Callable[[Claim], dict[str, Any]],
    run: Callable[[Claim, dict[str, Any]], str],
) -> ResponseReturnValue:
    """Read the form, log the action, run the service; on success back to the claim with `run`'s words."""
    shop = access.current_shop()
    try:
        claim = service.get_claim(shop.id, claim_id)
    except NotFoundError:
        return not_found()
    try:
        asked = read(claim)
    except FormError as refusal:
        return render_claim(claim_id, error=str(refusal), status=422, form=request.form)
    before = {"status": claim.status, "refund_status": claim.refund_status, "recovery_status": claim.recovery_status}
    # Added before the service runs, so that its commit carries the entry and its rollback takes it away.
    logged = {name: value for name, value in asked.items() if name != "body"}  # a message stays in its own row
    audit.record(shop.id, access.actor(), action, utcnow(), target=claim.id, before=before, after=logged)
    try:
        said = run(claim, asked)
    except ApiError as error:
        db.session.rollback()
        return render_claim(claim_id, error=_explain(error, claim_id), status=error.status, form=request.form)
    flash(said)
    return redirect(url_for("admin.claim", claim_id=claim_id), code=303)


@bp.post("/claims/<claim_id>/approve")
def claim_approve(claim_id: str) -> ResponseReturnValue:
    """Approve: a refund (queued for Stripe) of up to the covered amount, or a reship with its order and cost."""

    def read(claim: Claim) -> dict[str, Any]:
        resolution = _choice("resolution", gettext("How to settle"), [r.value for r in Resolution])
        note = _text("note", gettext("Note"), limit=MAX_MESSAGE)
        if resolution == Resolution.RESHIP:
            order = _text("replacement_order_id", gettext("Replacement order"), limit=MAX_REFERENCE, required=True)
            cost = _amount("cost", gettext("Reship cost"), claim.currency)
            return {"status": "reshipped", "resolution": resolution, "replacement_order_id": order, "cost": cost,
                    "note": note}  # fmt: skip
        amount = _amount("amount", gettext("Amount"), claim.currency)
        return {"status": "approved", "resolution": resolution, "amount": amount, "note": note}

    def run(claim: Claim, asked: dict[str, Any]) -> str:
        approval = service.Approval(
            Resolution(asked["resolution"]),
            asked.get("amount"),
            asked.get("replacement_order_id"),
            asked.get("cost"),
            asked["note"],
        )
        done = service.approve_claim(claim.shop_id, claim.id, approval, utcnow())
        if done.resolution == Resolution.RESHIP:
            return gettext("Approved: the replacement order %(order)s is recorded.", order=done.replacement_order_id)
        if done.refund_status == "pending":
            amount = words.money(done.approved_amount, done.currency)
            return gettext(
                "Approved: the refund of %(amount)s is queued and Stripe is asked in a moment.", amount=amount
            )
        return gettext("Approved.")

    return _act(claim_id, "claim.approved", read, run)


@bp.post("/claims/<claim_id>/deny")
def claim_deny(claim_id: str) -> ResponseReturnValue:
    """Deny, with the reason the shopper is told."""

    def read(_claim: Claim) -> dict[str, Any]:
        reason = _text("reason", gettext("Reason"), limit=MAX_REASON, required=True)
        return {"status": "denied", "reason": reason}

    def run(claim: Claim, asked: dict[str, Any]) -> str:
        service.deny_claim(claim.shop_id, claim.id, asked["reason"], utcnow())
        return gettext("Denied. The customer is emailed the reason.")

    return _act(claim_id, "claim.denied", read, run)


@bp.post("/claims/<claim_id>/mark-paid")
def claim_mark_paid(claim_id: str) -> ResponseReturnValue:
    """Record money paid outside Stripe (a queued Stripe refund is called off)."""

    def read(claim: Claim) -> dict[str, Any]:
        method = _choice("method", gettext("Paid by"), words.MARK_PAID_METHODS)
        reference = _text("reference", gettext("Reference"), limit=MAX_REFERENCE)
        amount = _amount("amount", gettext("Amount"), claim.currency)
        return {"status": "paid", "method": method, "reference": reference, "amount": amount}

    def run(claim: Claim, asked: dict[str, Any]) -> str:
        service.mark_paid(claim.shop_id, claim.id, asked["method"], asked["reference"], asked["amount"], utcnow())
        return gettext("Recorded as paid (%(method)s).", method=words.word(words.PAID_METHODS, asked["method"]))

    return _act(claim_id, "claim.marked_paid", read, run)


@bp.post("/claims/<claim_id>/retry-refund")
def claim_retry_refund(claim_id: str) -> ResponseReturnValue:
    """Ask Stripe again for a refund that failed."""

    def run(claim: Claim, _asked: dict[str, Any]) -> str:
        claim_payouts.retry_refund(claim.shop_id, claim.id, utcnow())
        return gettext("Stripe is asked to refund again in a moment.")

    return _act(claim_id, "claim.refund_retried", lambda _claim: {"refund_status": "pending"}, run)


@bp.post("/claims/<claim_id>/recovery")
def claim_recovery(claim_id: str) -> ResponseReturnValue:
    """Record what the insurer did with the claim (an insurer without a claims API, or news learnt elsewhere)."""

    def read(claim: Claim) -> dict[str, Any]:
        status = _choice("status", gettext("Insurer's outcome"), claim_payouts.RECOVERY_STATUSES)
        amount = _amount("amount", gettext("Amount"), claim.currency)
        reference = _text("reference", gettext("Insurer's reference"), limit=MAX_REFERENCE)
        return {"recovery_status": status, "amount": amount, "reference": reference}

    def run(claim: Claim, asked: dict[str, Any]) -> str:
        claim_payouts.record_recovery(
            claim.shop_id, claim.id, asked["recovery_status"], asked["amount"], asked["reference"], utcnow()
        )
        return gettext("The insurer's outcome is recorded.")

    return _act(claim_id, "claim.recovery_recorded", read, run)


@bp.post("/claims/<claim_id>/messages")
def claim_message(claim_id: str) -> ResponseReturnValue:
    """A message to the shopper (shown on their status page and emailed) or an internal note."""

    def read(_claim: Claim) -> dict[str, Any]:
        visibility = _choice("visibility", gettext("Who sees it"), ("shopper", "internal"))
        body = _text("body", gettext("Message"), limit=MAX_MESSAGE, required=True)
        return {"visibility": visibility, "body": body}

    def run(claim: Claim, asked: dict[str, Any]) -> str:
        service.add_message(claim, asked["body"], asked["visibility"], "merchant", utcnow())
        if asked["visibility"] == "shopper":
            return gettext("Message sent to the customer.")
        return gettext("Internal note added.")

    return _act(claim_id, "claim.message_sent", read, run)
