"""Policies: their states, how much a parcel is insured for, which insurer, and when to try again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from plugin.domain.transitions import move


class PolicyStatus(StrEnum):
    """Where a policy stands; the worker moves it, the merchant can re-queue a failed one."""

    PENDING = "pending"  # due: the worker will buy it
    RETRYING = "retrying"  # a transient failure; due again after a backoff
    BOUND = "bound"  # bought: certificate, sum insured and cost known
    FAILED = "failed"  # refused, or out of attempts: shown to the merchant
    CANCELLED = "cancelled"


OPEN_STATUSES = (PolicyStatus.PENDING, PolicyStatus.RETRYING)
MAX_ATTEMPTS = 8  # 10, 20, 40 … 640 minutes apart (JOB_RETRY_BASE_SECONDS=600): about 21 hours in all
MAX_CANCEL_ATTEMPTS = 6

_ALLOWED: dict[PolicyStatus, frozenset[PolicyStatus]] = {
    PolicyStatus.PENDING: frozenset(
        {PolicyStatus.RETRYING, PolicyStatus.BOUND, PolicyStatus.FAILED, PolicyStatus.CANCELLED}
    ),
    PolicyStatus.RETRYING: frozenset({PolicyStatus.BOUND, PolicyStatus.FAILED, PolicyStatus.CANCELLED}),
    # The merchant asks again (POST /retry), or the order goes away before anything was bought.
    PolicyStatus.FAILED: frozenset({PolicyStatus.RETRYING, PolicyStatus.CANCELLED}),
    PolicyStatus.BOUND: frozenset({PolicyStatus.CANCELLED}),
    PolicyStatus.CANCELLED: frozenset(),
}


class CancelReason(StrEnum):
    """Why a policy is cancelled, in our words; each insurer adapter translates it into its own codes."""

    REFUNDED = "refunded"  # the payment went back in full
    ITEMS_REFUNDED = "items_refunded"  # every item of the parcel was refunded
    ORDER_CANCELLED = "order_cancelled"
    SHIPMENT_CANCELLED = "shipment_cancelled"
    REQUESTED = "requested"  # any other request of the merchant


class CancelStatus(StrEnum):
    """Where the cancellation of a bought policy stands."""

    REQUESTED = "requested"  # the worker will ask the insurer
    DONE = "done"
    REFUSED = "refused"  # the insurer said no: the policy stays bound
    FAILED = "failed"  # the insurer could not be asked, attempts ran out: a person must look


def policy_transition(current: str, target: PolicyStatus) -> PolicyStatus:
    """The new status, or ForbiddenTransitionError."""
    return move("policy", _ALLOWED, current, target)


def after_failure(attempts: int, retryable: bool, max_attempts: int = MAX_ATTEMPTS) -> PolicyStatus:
    """The status after a failed purchase attempt: retry a transient failure until attempts run out."""
    if retryable and attempts < max_attempts:
        return PolicyStatus.RETRYING
    return PolicyStatus.FAILED


# Carrier progress the plugin understands (Shopify's fulfillment event statuses, and the ones it adds).
TRACKING_STATUSES = frozenset(
    {
        "shipped",
        "label_printed",
        "label_purchased",
        "confirmed",
        "in_transit",
        "out_for_delivery",
        "attempted_delivery",
        "ready_for_pickup",
        "delivered",
        "failure",
        "cancelled",
    }
)


def insured_value(items_value: int | None, declared_value: int | None, already_insured: int) -> int | None:
    """A parcel's sum insured: its items' value, capped at what the order's declared value leaves uninsured;
    without item prices, all that is left. None when nothing says what the parcel is worth."""
    if declared_value is None:
        return items_value
    remaining = max(0, declared_value - already_insured)
    return remaining if items_value is None else min(items_value, remaining)


@dataclass(frozen=True, slots=True)
class ProviderRule:
    """Parcels worth up to `max_value` (None: any) go to `provider`."""

    max_value: int | None
    provider: str


def choose_provider(value: int, rules: Sequence[ProviderRule], default: str) -> str:
    """The first rule that admits the value, else the shop's insurer."""
    for rule in rules:
        if rule.max_value is None or value <= rule.max_value:
            return rule.provider
    return default


def prorated(amount: int, part: int, whole: int) -> int:
    """amount x part / whole in whole minor units, rounded down (integers only, exact)."""
    if whole <= 0:
        return 0
    return amount * part // whole
