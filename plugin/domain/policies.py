"""Policies: their states, how much a parcel is insured for, which insurer, and when to try again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class PolicyStatus(StrEnum):
    """Where a policy stands; the worker moves it, the merchant can re-queue a failed one."""

    PENDING = "pending"  # due: the worker will buy it
    RETRYING = "retrying"  # a transient failure; due again after a backoff
    BOUND = "bound"  # bought: certificate, sum insured and cost known
    FAILED = "failed"  # refused, or out of attempts: shown to the merchant
    CANCELLED = "cancelled"


OPEN_STATUSES = (PolicyStatus.PENDING, PolicyStatus.RETRYING)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=10)  # 10, 20, 40 … 640 minutes: 8 attempts span about 21 hours
BACKOFF_CAP = timedelta(hours=12)

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


def retry_delay(attempts: int, random: Callable[[], float]) -> timedelta:
    """Exponential backoff with jitter (x0.75 to x1.25) after the n-th failed attempt."""
    exponent = max(0, attempts - 1)
    delay = min(BACKOFF_BASE * (2**exponent), BACKOFF_CAP)
    return delay * (0.75 + 0.5 * random())


def after_failure(attempts: int, retryable: bool, max_attempts: int = MAX_ATTEMPTS) -> PolicyStatus:
    """The status after a failed attempt: retry a transient failure until attempts run out."""
    if retryable and attempts < max_attempts:
        return PolicyStatus.RETRYING
    return PolicyStatus.FAILED


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
