"""Claims, in pure terms: their states, the windows and evidence rules, the amount, fraud signals, the decision.

Every refusal is a typed ClaimRefused naming its contract code; every decision carries its reasons. The service
gathers the facts (the parcel, the customer's history, the evidence) and these functions judge them.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from plugin.domain.transitions import move


class ClaimType(StrEnum):
    """What happened to the parcel."""

    LOST = "lost"
    STOLEN = "stolen"
    DAMAGED = "damaged"
    DELAYED = "delayed"
    MISSING_ITEMS = "missing_items"
    RETURN_SHIPPING = "return_shipping"  # the return cover pays a return's label; opened only by a return


# The types a shopper (portal) or the claims API may file; a return_shipping claim comes only from a return.
FILED_TYPES = tuple(kind for kind in ClaimType if kind is not ClaimType.RETURN_SHIPPING)


class ClaimStatus(StrEnum):
    """Where a claim stands."""

    SUBMITTED = "submitted"  # waits for the merchant's decision
    NEEDS_REVIEW = "needs_review"  # a signal or a disputed payment: a person must look
    APPROVED = "approved"  # decided; a refund is on its way (or failed, with the reason shown)
    DENIED = "denied"
    PAID = "paid"  # the money reached the shopper (Stripe refund, or paid outside and recorded)
    RESHIPPED = "reshipped"  # a replacement order was sent


class Resolution(StrEnum):
    """How an approved claim is settled: real money back, or the items sent again."""

    REFUND = "refund"
    RESHIP = "reship"


class DecidedBy(StrEnum):
    AUTO = "auto"
    MERCHANT = "merchant"


OPEN_STATUSES = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.NEEDS_REVIEW})
DECIDED_STATUSES = frozenset({ClaimStatus.APPROVED, ClaimStatus.DENIED, ClaimStatus.PAID, ClaimStatus.RESHIPPED})

_ALLOWED: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.SUBMITTED: frozenset(
        {ClaimStatus.NEEDS_REVIEW, ClaimStatus.APPROVED, ClaimStatus.DENIED, ClaimStatus.PAID, ClaimStatus.RESHIPPED}
    ),
    ClaimStatus.NEEDS_REVIEW: frozenset(
        {ClaimStatus.APPROVED, ClaimStatus.DENIED, ClaimStatus.PAID, ClaimStatus.RESHIPPED}
    ),
    # paid: the refund succeeded or money went out another way; reshipped: the merchant recorded the
    # replacement (an approved refund that failed may be settled by reshipping instead).
    # denied: a return flagged (swapped, empty) while its refund was still only queued.
    ClaimStatus.APPROVED: frozenset({ClaimStatus.PAID, ClaimStatus.RESHIPPED, ClaimStatus.DENIED}),
    ClaimStatus.PAID: frozenset({ClaimStatus.APPROVED}),  # Stripe's refund.failed after it looked paid
    ClaimStatus.DENIED: frozenset(),
    ClaimStatus.RESHIPPED: frozenset(),
}


def claim_transition(current: str, target: ClaimStatus) -> ClaimStatus:
    """The new status, or ForbiddenTransitionError."""
    return move("claim", _ALLOWED, current, target)


class Signal(StrEnum):
    """A fraud signal: it sends a claim to a person, and never denies it alone."""

    REPEAT_CLAIMANT = "repeat_claimant"  # the same email claimed before, within the limit's window
    REPEAT_ADDRESS = "repeat_address"  # another customer's claim went to the same shipping address
    EVIDENCE_REUSED = "evidence_reused"  # a file already sent with an earlier claim (same bytes)
    EVIDENCE_SIMILAR = "evidence_similar"  # a photo that looks like an earlier claim's (resized, re-encoded)
    FILED_RIGHT_AFTER_DELIVERY = "filed_right_after_delivery"  # stolen within minutes of the delivered scan
    HIGH_VALUE = "high_value"  # far above the shop's usual order


def address_key(country: str | None, postal_code: str | None, line1: str | None) -> str | None:
    """A digest standing for a street address (the repeat-address signal compares these, never the address);
    None without a street line, since a country and postal code alone are shared by thousands."""
    if not line1 or not line1.strip():
        return None
    parts = (country or "", postal_code or "", line1)
    normalised = "|".join(" ".join(part.casefold().replace(",", " ").split()) for part in parts)
    return hashlib.sha256(normalised.encode()).hexdigest()


STOLEN_SOON_AFTER_DELIVERY = timedelta(minutes=30)
HIGH_VALUE_MULTIPLE = 5  # a claim above 5x the median order is "far above"
HIGH_VALUE_MIN_ORDERS = 5  # a median of fewer orders says nothing yet


class ClaimRefused(Exception):
    """A claim the rules refuse; nothing is recorded. `code` is the contract's error code."""

    def __init__(self, code: str, message: str, *, status: int = 422, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = dict(extra or {})


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """`claims.*` of a shop's settings."""

    max_claims_per_customer: int = 3  # 0: no limit
    customer_limit_days: int = 30
    lost_after_days: int = 7
    lost_no_update_days: int = 5
    lost_until_days: int = 60
    stolen_within_days: int = 15
    damaged_within_days: int = 15
    damaged_requires_photo: bool = True
    delayed_after_days: int = 10
    delay_compensation: int = 0
    auto_approve_up_to: int = 0

    @classmethod
    def of(cls, claims_settings: Mapping[str, Any]) -> ClaimRules:
        """The rules of a validated `claims` settings object."""
        names = cls.__dataclass_fields__
        return cls(**{name: value for name, value in claims_settings.items() if name in names})


@dataclass(frozen=True, slots=True)
class ParcelLine:
    """A line of the parcel as shipped."""

    sku: str
    quantity: int
    unit_price: int | None


@dataclass(frozen=True, slots=True)
class ParcelFacts:
    """What the tracking and the order say about the parcel claimed for."""

    shipped_at: datetime
    last_tracking_at: datetime  # shipped_at when no tracking event came
    delivered_at: datetime | None
    covered_value: int  # what the parcel is covered for (its policy's sum insured, else its share of the order)
    lines: tuple[ParcelLine, ...] = ()


@dataclass(frozen=True, slots=True)
class AffectedItem:
    """A line the shopper says is affected."""

    sku: str
    quantity: int


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def check_window(kind: ClaimType, parcel: ParcelFacts, rules: ClaimRules, now: datetime) -> None:
    """Refuse a claim filed outside its type's window (the message names the date that matters)."""
    if kind is ClaimType.LOST:
        if parcel.delivered_at is not None:
            raise ClaimRefused(
                "parcel_delivered",
                f"The parcel was marked delivered on {_day(parcel.delivered_at)}; if it was taken after delivery, "
                "file a `stolen` claim instead.",
                extra={"suggested_type": ClaimType.STOLEN.value},
            )
        opens = max(
            parcel.shipped_at + timedelta(days=rules.lost_after_days),
            parcel.last_tracking_at + timedelta(days=rules.lost_no_update_days),
        )
        closes = parcel.shipped_at + timedelta(days=rules.lost_until_days)
        if now < opens:
            raise ClaimRefused(
                "outside_claim_window",
                f"A lost-parcel claim can be filed from {_day(opens)}: {rules.lost_after_days} days after shipping "
                f"with no tracking update for {rules.lost_no_update_days} days.",
                extra={"opens_at": opens},
            )
        if now > closes:
            raise ClaimRefused(
                "outside_claim_window",
                f"Lost-parcel claims for this parcel closed on {_day(closes)} ({rules.lost_until_days} days after "
                "shipping).",
                extra={"closed_at": closes},
            )
        return
    if kind is ClaimType.DELAYED:
        due = parcel.shipped_at + timedelta(days=rules.delayed_after_days)
        if parcel.delivered_at is not None and parcel.delivered_at <= due:
            raise ClaimRefused(
                "outside_claim_window",
                f"The parcel was delivered on {_day(parcel.delivered_at)}, within the {rules.delayed_after_days} "
                "days the delay cover allows.",
            )
        if parcel.delivered_at is None and now < due:
            raise ClaimRefused(
                "outside_claim_window",
                f"A delay claim can be filed from {_day(due)} if the parcel has not arrived by then.",
                extra={"opens_at": due},
            )
        closes = parcel.shipped_at + timedelta(days=rules.lost_until_days)
        if now > closes:
            raise ClaimRefused("outside_claim_window", f"Delay claims for this parcel closed on {_day(closes)}.")
        return
    # stolen: from the delivered scan; damaged and missing items: from delivery (the last tracking update when
    # the carrier never scanned it delivered: the shopper has the parcel, the tracking does not say so).
    if kind is ClaimType.STOLEN:
        if parcel.delivered_at is None:
            raise ClaimRefused(
                "outside_claim_window",
                "A stolen-parcel claim can be filed once the parcel is marked delivered; a parcel that never "
                "arrived is claimed as `lost`.",
            )
        start, days = parcel.delivered_at, rules.stolen_within_days
    else:
        start, days = parcel.delivered_at or parcel.last_tracking_at, rules.damaged_within_days
    closes = start + timedelta(days=days)
    if now > closes:
        raise ClaimRefused(
            "outside_claim_window",
            f"{kind.value.replace('_', ' ').capitalize()} claims must be filed within {days} days of delivery; "
            f"this parcel's window closed on {_day(closes)}.",
            extra={"closed_at": closes},
        )


def check_evidence(kind: ClaimType, photo_count: int, rules: ClaimRules) -> None:
    """A damaged parcel needs at least one photo (when the shop says so)."""
    if kind is ClaimType.DAMAGED and rules.damaged_requires_photo and photo_count < 1:
        raise ClaimRefused(
            "evidence_required", "A damaged-item claim needs at least one photo of the damage (JPEG, PNG or WebP)."
        )


def check_customer_limit(recent_claims: int, rules: ClaimRules) -> None:
    """At most `max_claims_per_customer` claims per customer (by email) in `customer_limit_days` days."""
    if rules.max_claims_per_customer and recent_claims >= rules.max_claims_per_customer:
        raise ClaimRefused(
            "claim_limit_reached",
            f"This email has filed {recent_claims} claims in the last {rules.customer_limit_days} days, the most "
            "this shop accepts; please contact the shop.",
        )


def claim_amount(
    kind: ClaimType, parcel: ParcelFacts, affected: Sequence[AffectedItem], rules: ClaimRules
) -> tuple[int, dict[str, list[str]]]:
    """(amount, field errors): the value of the affected items, capped at what the parcel is covered for.

    No premium and no shipping: lines carry item prices only. A delay pays the flat compensation. Without
    named items (or without prices) the whole parcel's covered value is claimed.
    """
    if kind is ClaimType.DELAYED:
        return min(rules.delay_compensation, parcel.covered_value), {}
    if not affected:
        return parcel.covered_value, {}
    shipped: dict[str, ParcelLine] = {}
    for line in parcel.lines:
        prior = shipped.get(line.sku)
        shipped[line.sku] = (
            line if prior is None else ParcelLine(line.sku, prior.quantity + line.quantity, line.unit_price)
        )
    errors: dict[str, list[str]] = {}
    total = 0
    priced = True
    claimed: dict[str, int] = {}
    for index, item in enumerate(affected):
        held = shipped.get(item.sku)
        if held is None:
            errors[f"items.{index}.sku"] = [f"{item.sku!r} is not in this parcel."]
            continue
        claimed[item.sku] = claimed.get(item.sku, 0) + item.quantity
        if claimed[item.sku] > held.quantity:
            errors[f"items.{index}.quantity"] = [f"The parcel holds {held.quantity} of {item.sku!r}."]
            continue
        if held.unit_price is None:
            priced = False
        else:
            total += held.unit_price * item.quantity
    if errors:
        return 0, errors
    return (min(total, parcel.covered_value) if priced else parcel.covered_value), {}


@dataclass(frozen=True, slots=True)
class FraudFacts:
    """What the service found about the claimant and the evidence."""

    earlier_claims_by_email: Sequence[str] = ()  # claim ids within the limit's window
    earlier_claims_at_address: Sequence[str] = ()  # other customers' claims shipped to the same address
    reused_evidence: Mapping[str, str] = field(default_factory=dict)  # our file name -> earlier claim id
    similar_evidence: Mapping[str, str] = field(default_factory=dict)
    recent_order_values: Sequence[int] = ()  # the shop's recent declared order values


@dataclass(frozen=True, slots=True)
class Finding:
    """One signal and what it rests on."""

    signal: Signal
    detail: str


def fraud_signals(kind: ClaimType, amount: int, parcel: ParcelFacts, facts: FraudFacts, now: datetime) -> list[Finding]:
    """The signals this claim raises, in a stable order."""
    findings: list[Finding] = []
    if facts.earlier_claims_by_email:
        findings.append(
            Finding(Signal.REPEAT_CLAIMANT, f"This email filed {', '.join(facts.earlier_claims_by_email)} recently.")
        )
    if facts.earlier_claims_at_address:
        findings.append(
            Finding(
                Signal.REPEAT_ADDRESS,
                "Another customer claimed for a parcel to the same address: "
                f"{', '.join(facts.earlier_claims_at_address)}.",
            )
        )
    for name, earlier in facts.reused_evidence.items():
        findings.append(Finding(Signal.EVIDENCE_REUSED, f"{name} is the same file as evidence of {earlier}."))
    for name, earlier in facts.similar_evidence.items():
        findings.append(Finding(Signal.EVIDENCE_SIMILAR, f"{name} looks like a photo sent with {earlier}."))
    if (
        kind is ClaimType.STOLEN
        and parcel.delivered_at is not None
        and now - parcel.delivered_at <= STOLEN_SOON_AFTER_DELIVERY
    ):
        minutes = max(0, int((now - parcel.delivered_at).total_seconds() // 60))
        findings.append(
            Finding(Signal.FILED_RIGHT_AFTER_DELIVERY, f"Filed {minutes} minutes after the delivered scan.")
        )
    if len(facts.recent_order_values) >= HIGH_VALUE_MIN_ORDERS:
        median = int(statistics.median(facts.recent_order_values))
        if median > 0 and amount > HIGH_VALUE_MULTIPLE * median:
            findings.append(
                Finding(
                    Signal.HIGH_VALUE,
                    f"{amount} is more than {HIGH_VALUE_MULTIPLE}x the shop's median order ({median}).",
                )
            )
    return findings


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a claim stands where it does, in a code and a sentence."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The status a new claim starts in, who decided, and why."""

    status: ClaimStatus
    decided_by: DecidedBy | None
    reasons: tuple[Reason, ...]

    @property
    def approved(self) -> bool:
        return self.status is ClaimStatus.APPROVED


def decide(
    amount: int,
    findings: Sequence[Finding],
    *,
    disputed: bool,
    refundable: bool,
    rules: ClaimRules,
) -> Decision:
    """Auto-approve a clean claim within the limit; send a flagged or disputed one to review; else wait."""
    if disputed:
        return Decision(
            ClaimStatus.NEEDS_REVIEW,
            None,
            (Reason("payment_disputed", "The payment is disputed: the claim waits until the dispute is settled."),),
        )
    if findings:
        return Decision(
            ClaimStatus.NEEDS_REVIEW,
            None,
            tuple(Reason(finding.signal.value, finding.detail) for finding in findings),
        )
    if amount <= 0:
        return Decision(ClaimStatus.SUBMITTED, None, (Reason("no_amount", "Nothing to pay automatically."),))
    if amount > rules.auto_approve_up_to:
        return Decision(
            ClaimStatus.SUBMITTED,
            None,
            (
                Reason(
                    "above_auto_approval",
                    f"{amount} is above the automatic approval limit ({rules.auto_approve_up_to}): "
                    "the merchant decides.",
                ),
            ),
        )
    if not refundable:
        return Decision(
            ClaimStatus.SUBMITTED,
            None,
            (Reason("no_refund_route", "The payment cannot be refunded through Stripe: the merchant decides."),),
        )
    return Decision(
        ClaimStatus.APPROVED,
        DecidedBy.AUTO,
        (
            Reason(
                "auto_approved",
                f"No fraud signal and {amount} is within the automatic approval limit ({rules.auto_approve_up_to}).",
            ),
        ),
    )


def check_approvable(status: str, disputed: bool) -> None:
    """A claim is decided once; a disputed payment's claim cannot be approved."""
    if ClaimStatus(status) in DECIDED_STATUSES:
        raise ClaimRefused("claim_already_decided", f"This claim is already {status}.", status=409)
    if disputed:
        raise ClaimRefused(
            "payment_disputed",
            "The payment is disputed: the claim cannot be approved until the dispute is settled.",
            status=409,
        )


def check_approved_amount(requested: int | None, claimed: int, covered: int) -> int:
    """The amount to settle: the claim's own by default; never above what the parcel is covered for."""
    if requested is None:
        return claimed
    if requested > covered:
        raise ClaimRefused(
            "validation_error",
            f"The amount cannot exceed what the parcel is covered for ({covered}).",
            extra={"fields": {"amount": [f"Must be at most {covered}."]}},
        )
    return requested
