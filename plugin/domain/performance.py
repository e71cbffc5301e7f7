"""A shop's own record over the last 30 days, and the price tier it earns (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

WINDOW_DAYS = 30
# Below this many delivered parcels in the window the figures say too little: no tier applies.
MIN_DELIVERED = 50


class Metric(StrEnum):
    """The figures a tier may be keyed on."""

    ON_TIME_RATE = "on_time_rate"  # delivered within claims.delayed_after_days of shipping ÷ delivered
    LOSS_RATIO = "loss_ratio"  # claims paid ÷ premium collected
    RETURN_RATE = "return_rate"  # returns opened ÷ delivered parcels


@dataclass(frozen=True, slots=True)
class PerformanceFigures:
    """The shop's last-30-day figures; a ratio is None when its denominator is zero."""

    delivered: int
    on_time_rate: Decimal | None
    loss_ratio: Decimal | None
    return_rate: Decimal | None

    def value(self, metric: Metric) -> Decimal | None:
        """The figure a tier reads."""
        return {
            Metric.ON_TIME_RATE: self.on_time_rate,
            Metric.LOSS_RATIO: self.loss_ratio,
            Metric.RETURN_RATE: self.return_rate,
        }[metric]


@dataclass(frozen=True, slots=True)
class PerformanceTier:
    """`rate` applies while the metric is within [at_least, below) (a missing bound: no bound)."""

    metric: Metric
    rate: Decimal
    at_least: Decimal | None = None
    below: Decimal | None = None

    def matches(self, figures: PerformanceFigures) -> bool:
        """Whether the shop's figure lies within this tier's bounds."""
        value = figures.value(self.metric)
        if value is None:
            return False
        if self.at_least is not None and value < self.at_least:
            return False
        return self.below is None or value < self.below


def tiers_from_settings(tiers: Sequence[dict[str, Any]]) -> tuple[PerformanceTier, ...]:
    """The validated `performance_tiers` setting as tiers."""
    return tuple(
        PerformanceTier(
            metric=Metric(tier["metric"]),
            rate=Decimal(tier["rate"]),
            at_least=Decimal(tier["at_least"]) if tier.get("at_least") is not None else None,
            below=Decimal(tier["below"]) if tier.get("below") is not None else None,
        )
        for tier in tiers
    )


def select_tier(tiers: Sequence[PerformanceTier], figures: PerformanceFigures | None) -> int | None:
    """The index of the first tier the figures match; None without enough deliveries or without a match."""
    if figures is None or figures.delivered < MIN_DELIVERED:
        return None
    return next((index for index, tier in enumerate(tiers) if tier.matches(figures)), None)
