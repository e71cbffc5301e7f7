"""Pricing a cart for each enabled coverage (the parcel, and the freight of a return), as one bundle (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from plugin.domain.performance import PerformanceFigures, PerformanceTier, select_tier
from plugin.domain.pricing import (
    Cart,
    Eligibility,
    ExcludedItem,
    IneligibleReason,
    PricingMode,
    PricingRules,
    check_eligibility,
    merchant_contribution,
    premium_for,
)


class CoverageType(StrEnum):
    """What a coverage pays for."""

    SHIPPING = "shipping"  # a lost, stolen, damaged or late parcel
    RETURNS = "returns"  # the return label's cost (运费险)


@dataclass(frozen=True, slots=True)
class CoverageRule:
    """One enabled coverage's premium rule and the performance tiers that may replace its rate."""

    type: CoverageType
    rules: PricingRules
    tiers: tuple[PerformanceTier, ...] = ()


@dataclass(frozen=True, slots=True)
class CoveragePlan:
    """A shop's coverages: the eligibility rules all share, and each enabled coverage's rule (shipping first)."""

    eligibility: PricingRules
    coverages: tuple[CoverageRule, ...]


@dataclass(frozen=True, slots=True)
class CoveragePrice:
    """One coverage's part of a quote. `rate`: the base rate used (None in bands mode); `rate_tier`: the
    performance tier that set it (an index into that coverage's performance_tiers), else None."""

    type: CoverageType
    premium: int
    customer_price: int
    merchant_contribution: int
    rate: Decimal | None
    rate_tier: int | None


@dataclass(frozen=True, slots=True)
class BundlePrice:
    """A priced cart: eligibility, the coverages' parts, and their sums."""

    eligible: bool
    reasons: tuple[IneligibleReason, ...]
    currency: str
    declared_value: int
    excluded_items: tuple[ExcludedItem, ...]
    coverages: tuple[CoveragePrice, ...]

    @property
    def premium(self) -> int:
        """The sum of the coverages' premiums."""
        return sum([part.premium for part in self.coverages])

    @property
    def customer_price(self) -> int:
        """What the shopper pays for the bundle."""
        return sum([part.customer_price for part in self.coverages])

    @property
    def merchant_contribution(self) -> int:
        """What the merchant carries of the bundle."""
        return sum([part.merchant_contribution for part in self.coverages])

    def part(self, coverage: CoverageType) -> CoveragePrice | None:
        """The coverage's part, if the bundle has it."""
        for part in self.coverages:
            if part.type is coverage:
                return part
        return None

    @property
    def rate_tier(self) -> int | None:
        """The shipping coverage's tier when it is in the bundle, else the returns coverage's."""
        shipping = self.part(CoverageType.SHIPPING)
        if shipping is not None:
            return shipping.rate_tier
        returns = self.part(CoverageType.RETURNS)
        return returns.rate_tier if returns is not None else None


def price_coverage(
    coverage: CoverageRule, cart: Cart, eligible: Eligibility, performance: PerformanceFigures | None
) -> CoveragePrice:
    """One coverage's premium for an eligible cart: in percent mode a matching tier's rate replaces `rate`
    (category rates still win for their categories); tiers do not apply to bands."""
    rules = coverage.rules
    rate: Decimal | None = None
    tier: int | None = None
    if rules.mode is PricingMode.PERCENT:
        tier = select_tier(coverage.tiers, performance)
        if tier is not None:
            rules = replace(rules, rate=coverage.tiers[tier].rate)
        rate = rules.rate
    premium = premium_for(eligible, cart.destination, rules)
    contribution = merchant_contribution(premium, rules.merchant_share)
    return CoveragePrice(coverage.type, premium, premium - contribution, contribution, rate, tier)


def price_bundle(cart: Cart, plan: CoveragePlan, performance: PerformanceFigures | None = None) -> BundlePrice:
    """Price the cart for each enabled coverage; an ineligible cart (or a shop with no coverage on) gets none."""
    eligibility = check_eligibility(cart, plan.eligibility)
    reasons = eligibility.reasons if plan.coverages else (IneligibleReason.COVERAGE_DISABLED,)
    if reasons:
        return BundlePrice(
            False, reasons, cart.currency, eligibility.declared_value, eligibility.excluded_items, coverages=()
        )
    parts = tuple(price_coverage(coverage, cart, eligibility, performance) for coverage in plan.coverages)
    return BundlePrice(True, (), cart.currency, eligibility.declared_value, eligibility.excluded_items, parts)
