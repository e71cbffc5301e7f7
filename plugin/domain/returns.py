"""The return cover (运费险), in pure terms: what a return's label is paid back, and when a shopper is frequent.

A covered return opens a `return_shipping` claim for `min(label_cost * ratio, max_payout)`, rounded half-up to
the minor unit. The ratio is `coverage.returns.payout_ratio`, or `frequent_payout_ratio` for a shopper who
already opened `frequent_after` or more returns in the `FREQUENT_WINDOW` before this one (with the default 5,
the sixth return within 30 days is paid at the lower ratio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

FREQUENT_WINDOW = timedelta(days=30)


class ReturnStatus(StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    FLAGGED = "flagged"


class UncoveredReason(StrEnum):
    NOT_COVERED = "not_covered"  # no active protection with the return cover, or the cover is switched off
    SHOPPER_BLOCKED = "shopper_blocked"  # the merchant blocked this shopper's return cover


class FlagReason(StrEnum):
    SWAPPED = "swapped"  # other goods came back than were sent
    EMPTY = "empty"  # the parcel came back empty


@dataclass(frozen=True, slots=True)
class ReturnRules:
    """`coverage.returns.*` of a shop's settings, as far as paying returns goes."""

    enabled: bool = False
    payout_ratio: Decimal = Decimal(1)
    max_payout: int | None = None
    frequent_after: int = 5
    frequent_payout_ratio: Decimal = Decimal("0.5")
    pay_within_hours: int = 48

    @classmethod
    def of(cls, returns: Mapping[str, Any]) -> ReturnRules:
        max_payout = returns.get("max_payout")
        return cls(
            enabled=bool(returns.get("enabled")),
            payout_ratio=Decimal(str(returns.get("payout_ratio", "1"))),
            max_payout=int(max_payout) if max_payout is not None else None,
            frequent_after=int(returns.get("frequent_after", 5)),
            frequent_payout_ratio=Decimal(str(returns.get("frequent_payout_ratio", "0.5"))),
            pay_within_hours=int(returns.get("pay_within_hours", 48)),
        )


def is_frequent(earlier_returns: int, rules: ReturnRules) -> bool:
    """Whether a shopper with this many returns in the window before this one is a frequent returner."""
    return earlier_returns >= rules.frequent_after


def payout_ratio(earlier_returns: int, rules: ReturnRules) -> Decimal:
    """The share of the label cost paid back for this return."""
    return rules.frequent_payout_ratio if is_frequent(earlier_returns, rules) else rules.payout_ratio


def return_payout(label_cost: int, ratio: Decimal, max_payout: int | None) -> int:
    """`min(label_cost * ratio, max_payout)` in minor units, half-up; never below zero."""
    if label_cost <= 0 or ratio <= 0:
        return 0
    amount = int((Decimal(label_cost) * ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if max_payout is not None:
        amount = min(amount, max_payout)
    return max(amount, 0)
