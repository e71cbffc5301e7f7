"""Premium pricing and eligibility of a cart under a shop's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol

from plugin.domain.money import round_up_to_multiple, scale, sum_of_products, to_minor_units


class PricingMode(StrEnum):
    """How the premium is derived from the declared value."""

    PERCENT = "percent"
    BANDS = "bands"


class IneligibleReason(StrEnum):
    """Why a cart gets no offer."""

    DESTINATION_EXCLUDED = "destination_excluded"
    NO_ELIGIBLE_ITEMS = "no_eligible_items"
    VALUE_ABOVE_LIMIT = "value_above_limit"
    COVERAGE_DISABLED = "coverage_disabled"  # neither the shipping nor the returns coverage is on


class ExclusionReason(StrEnum):
    """Why one item is left out of the declared value."""

    CATEGORY_EXCLUDED = "category_excluded"
    SKU_EXCLUDED = "sku_excluded"


class CartLine(Protocol):
    """What pricing reads of a cart line; any object with these attributes will do."""

    @property
    def sku(self) -> str: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def quantity(self) -> int: ...
    @property
    def category(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class CartItem:
    """One cart line: a unit price in minor units times a quantity."""

    sku: str
    unit_price: int
    quantity: int
    category: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the parcel goes: ISO 3166-1 country, optional ISO 3166-2 region."""

    country: str
    region: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class Cart:
    """What the shopper is about to buy, in the shop's currency."""

    currency: str
    destination: Destination
    items: Sequence[CartLine]
    shipping_amount: int | None = None


@dataclass(frozen=True, slots=True)
class Band:
    """A flat price for declared values up to `up_to` (None: no bound)."""

    up_to: int | None
    price: int


@dataclass(frozen=True, slots=True)
class PricingRules:
    """A shop's pricing and eligibility settings, already validated."""

    mode: PricingMode = PricingMode.PERCENT
    rate: Decimal = Decimal("0.02")
    category_rates: Mapping[str, Decimal] = field(default_factory=dict)
    minimum: int = 0
    maximum: int | None = None
    bands: tuple[Band, ...] = ()
    round_up_to: int = 1
    merchant_share: Decimal = Decimal("0")
    max_declared_value: int | None = None
    surcharge_regions: frozenset[str] = frozenset()
    surcharge_amount: int = 0
    excluded_countries: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset({"virtual", "custom", "second_hand"})
    excluded_skus: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ExcludedItem:
    """An item left out of the declared value, and why."""

    sku: str
    reason: ExclusionReason


@dataclass(frozen=True, slots=True)
class Price:
    """The outcome of pricing a cart: eligibility and the split of the premium."""

    eligible: bool
    reasons: tuple[IneligibleReason, ...]
    currency: str
    declared_value: int
    premium: int
    customer_price: int
    merchant_contribution: int
    excluded_items: tuple[ExcludedItem, ...]


def normalise_category(category: str | None) -> str | None:
    """Categories compare case-insensitively, with surrounding blanks ignored."""
    return category.strip().lower() if category else None


def percent_premium(items: Sequence[CartLine], rules: PricingRules) -> int:
    """Sum of item value x rate, exact, rounded up to the increment, then held within [minimum, maximum]."""
    # Values are summed per rate in integers first, so the exact sum takes one product per distinct rate.
    category_rates, rate = rules.category_rates, rules.rate
    value_by_rate: dict[Decimal, int]
    if category_rates:
        value_by_rate = {}
        for item in items:
            category = item.category  # compared as normalise_category() has it, inlined on the quote path
            item_rate = category_rates.get(category.strip().lower(), rate) if category else rate
            value_by_rate[item_rate] = value_by_rate.get(item_rate, 0) + item.unit_price * item.quantity
    else:
        value_by_rate = {rate: sum([item.unit_price * item.quantity for item in items])}
    exact = sum_of_products((value, rate) for rate, value in value_by_rate.items())
    premium = round_up_to_multiple(exact, rules.round_up_to)
    premium = max(premium, rules.minimum)
    if rules.maximum is not None:
        premium = min(premium, rules.maximum)
    return premium


def band_premium(declared_value: int, bands: tuple[Band, ...]) -> int:
    """The price of the first band whose bound covers the declared value."""
    for band in bands:
        if band.up_to is None or declared_value <= band.up_to:
            return band.price
    raise ValueError("bands must end with an unbounded band")


def merchant_contribution(premium: int, merchant_share: Decimal) -> int:
    """The merchant's part of the premium, rounded half up."""
    if not merchant_share:
        return 0  # the default: the shopper pays it all
    return to_minor_units(scale(premium, merchant_share), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Which items of a cart count, their declared value, and why the cart gets no offer (empty: it may)."""

    items: tuple[CartLine, ...]
    declared_value: int
    reasons: tuple[IneligibleReason, ...]
    excluded_items: tuple[ExcludedItem, ...]


def check_eligibility(cart: Cart, rules: PricingRules) -> Eligibility:
    """The cart's eligible items and value under the rules' exclusions and declared-value limit."""
    eligible_items: list[CartLine] = []
    excluded: list[ExcludedItem] = []
    excluded_categories, excluded_skus = rules.excluded_categories, rules.excluded_skus
    for item in cart.items:
        category = item.category  # compared as normalise_category() has it, inlined on the quote path
        if category and category.strip().lower() in excluded_categories:
            excluded.append(ExcludedItem(item.sku, ExclusionReason.CATEGORY_EXCLUDED))
        elif item.sku in excluded_skus:
            excluded.append(ExcludedItem(item.sku, ExclusionReason.SKU_EXCLUDED))
        else:
            eligible_items.append(item)
    declared_value = sum([item.unit_price * item.quantity for item in eligible_items])

    reasons: list[IneligibleReason] = []
    if cart.destination.country in rules.excluded_countries:
        reasons.append(IneligibleReason.DESTINATION_EXCLUDED)
    if not eligible_items:
        reasons.append(IneligibleReason.NO_ELIGIBLE_ITEMS)
    if rules.max_declared_value is not None and declared_value > rules.max_declared_value:
        reasons.append(IneligibleReason.VALUE_ABOVE_LIMIT)
    return Eligibility(tuple(eligible_items), declared_value, tuple(reasons), tuple(excluded))


def premium_for(eligibility: Eligibility, destination: Destination, rules: PricingRules) -> int:
    """The premium of an eligible cart under one premium rule (bands or percent, plus any remote surcharge)."""
    if rules.mode is PricingMode.BANDS:
        premium = band_premium(eligibility.declared_value, rules.bands)
    else:
        premium = percent_premium(eligibility.items, rules)
    if destination.region is not None and destination.region in rules.surcharge_regions:
        premium += rules.surcharge_amount
    return premium


def price_cart(cart: Cart, rules: PricingRules) -> Price:
    """Price the cart: which items count, whether it is eligible, and who pays what."""
    eligibility = check_eligibility(cart, rules)
    declared_value, excluded = eligibility.declared_value, eligibility.excluded_items
    if eligibility.reasons:
        return Price(False, eligibility.reasons, cart.currency, declared_value, 0, 0, 0, excluded)
    premium = premium_for(eligibility, cart.destination, rules)
    contribution = merchant_contribution(premium, rules.merchant_share)
    return Price(
        eligible=True,
        reasons=(),
        currency=cart.currency,
        declared_value=declared_value,
        premium=premium,
        customer_price=premium - contribution,
        merchant_contribution=contribution,
        excluded_items=excluded,
    )
