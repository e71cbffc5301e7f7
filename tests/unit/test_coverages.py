"""Pricing each enabled coverage (the parcel, the return's freight) as one bundle, with performance tiers."""

import copy
from decimal import Decimal

import pytest

from plugin.domain.coverages import CoverageType, price_bundle
from plugin.domain.performance import PerformanceFigures
from plugin.domain.pricing import Cart, CartItem, Destination, IneligibleReason
from plugin.domain.reports import ReturnsFigures, Tally, coverage_tallies
from plugin.domain.settings import DEFAULT_SETTINGS, compose, coverage_plan, returns_are_free

US = Destination("US", "US-CA", "94107")
GOOD = PerformanceFigures(delivered=200, on_time_rate=Decimal("0.97"), loss_ratio=Decimal("0.1"), return_rate=None)


def settings(**patch) -> dict:
    document = compose(copy.deepcopy(patch))
    return document


def cart(*items: CartItem, destination: Destination = US) -> Cart:
    return Cart("USD", destination, tuple(items))


def item(unit_price: int, category: str | None = "jewelry", sku: str = "JB-1", quantity: int = 1) -> CartItem:
    return CartItem(sku, unit_price, quantity, category)


BOTH = {"coverage": {"returns": {"enabled": True, "pricing": {"rate": "0.01", "merchant_share": "0.5"}}}}


def test_shipping_only_is_priced_as_before():
    price = price_bundle(cart(item(50_000)), coverage_plan(settings()))
    assert price.eligible
    assert [part.type for part in price.coverages] == [CoverageType.SHIPPING]
    shipping = price.coverages[0]
    assert (shipping.premium, shipping.customer_price, shipping.merchant_contribution) == (1_000, 1_000, 0)
    assert (shipping.rate, shipping.rate_tier) == (Decimal("0.02"), None)
    assert (price.premium, price.customer_price, price.merchant_contribution) == (1_000, 1_000, 0)


def test_both_coverages_are_priced_each_by_its_own_rule_and_summed():
    document = settings(
        pricing={"merchant_share": "0.25", "remote_surcharge": {"regions": ["US-CA"], "amount": 300}}, **BOTH
    )
    price = price_bundle(cart(item(50_000), item(10_000, "virtual", "GC-1")), coverage_plan(document))
    shipping, returns = price.coverages
    assert shipping.type is CoverageType.SHIPPING and returns.type is CoverageType.RETURNS
    # Shipping: 2 % of 50,000 plus the remote surcharge; the merchant pays a quarter of it.
    assert (shipping.premium, shipping.merchant_contribution, shipping.customer_price) == (1_300, 325, 975)
    # Returns: 1 % of the same declared value, no surcharge, half paid by the merchant.
    assert (returns.premium, returns.merchant_contribution, returns.customer_price) == (500, 250, 250)
    assert (price.premium, price.merchant_contribution, price.customer_price) == (1_800, 575, 1_225)
    assert price.declared_value == 50_000
    assert [excluded.sku for excluded in price.excluded_items] == ["GC-1"]


def test_returns_only():
    document = settings(coverage={"shipping": {"enabled": False}, "returns": {"enabled": True}})
    price = price_bundle(cart(item(50_000)), coverage_plan(document))
    assert [part.type for part in price.coverages] == [CoverageType.RETURNS]
    assert price.customer_price == 500  # the returns default rate, 0.01
    assert price.rate_tier is None


def test_both_off_is_not_eligible_for_coverage_disabled():
    document = settings(coverage={"shipping": {"enabled": False}})
    price = price_bundle(cart(item(50_000)), coverage_plan(document))
    assert not price.eligible
    assert price.reasons == (IneligibleReason.COVERAGE_DISABLED,)
    assert (price.coverages, price.customer_price) == ((), 0)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"eligibility": {"excluded_countries": ["US"]}}, IneligibleReason.DESTINATION_EXCLUDED),
        ({"pricing": {"max_declared_value": 10_000}}, IneligibleReason.VALUE_ABOVE_LIMIT),
        ({"eligibility": {"excluded_skus": ["JB-1"]}}, IneligibleReason.NO_ELIGIBLE_ITEMS),
    ],
)
def test_eligibility_is_common_an_ineligible_cart_gets_no_coverage(patch, reason):
    document = settings(**patch, **BOTH)
    price = price_bundle(cart(item(50_000)), coverage_plan(document))
    assert not price.eligible and reason in price.reasons
    assert (price.coverages, price.premium) == ((), 0)


def test_a_matching_tier_replaces_each_coverages_rate_but_category_rates_still_win():
    tiers = [
        {"metric": "on_time_rate", "at_least": "0.99", "rate": "0.005"},
        {"metric": "on_time_rate", "at_least": "0.95", "rate": "0.015"},
    ]
    returns_tiers = [{"metric": "loss_ratio", "below": "0.2", "rate": "0.004"}]
    document = settings(
        pricing={"performance_tiers": tiers, "category_rates": {"electronics": "0.03"}},
        coverage={"returns": {"enabled": True, "pricing": {"performance_tiers": returns_tiers}}},
    )
    plan = coverage_plan(document)
    basket = cart(item(50_000), item(10_000, "electronics", "PH-1"))
    price = price_bundle(basket, plan, GOOD)
    shipping, returns = price.coverages
    assert (shipping.rate, shipping.rate_tier) == (Decimal("0.015"), 1)
    assert shipping.premium == 750 + 300  # the tier's rate for jewelry, the category's for electronics
    assert (returns.rate, returns.rate_tier) == (Decimal("0.004"), 0)
    assert returns.premium == 240
    assert price.rate_tier == 1
    # Without figures, or with too few deliveries, no tier applies.
    for figures in (None, PerformanceFigures(10, Decimal("1"), Decimal("0"), None)):
        plain = price_bundle(basket, plan, figures)
        assert [part.rate_tier for part in plain.coverages] == [None, None]
        assert plain.coverages[0].premium == 1_000 + 300


def test_bands_mode_ignores_tiers_and_has_no_rate():
    document = settings(
        coverage={
            "returns": {
                "enabled": True,
                "pricing": {
                    "mode": "bands",
                    "bands": [{"up_to": 10_000, "price": 100}, {"up_to": None, "price": 250}],
                    "performance_tiers": [{"metric": "on_time_rate", "at_least": "0", "rate": "0.5"}],
                },
            },
        }
    )
    returns = price_bundle(cart(item(50_000)), coverage_plan(document), GOOD).coverages[1]
    assert (returns.premium, returns.rate, returns.rate_tier) == (250, None, None)


def test_returns_only_rate_tier_is_the_returns_one():
    document = settings(
        coverage={
            "shipping": {"enabled": False},
            "returns": {
                "enabled": True,
                "pricing": {"performance_tiers": [{"metric": "on_time_rate", "at_least": "0.9", "rate": "0.02"}]},
            },
        }
    )
    price = price_bundle(cart(item(50_000)), coverage_plan(document), GOOD)
    assert (price.rate_tier, price.premium) == (0, 1_000)


def test_returns_are_free_only_at_the_whole_label_without_cap():
    assert returns_are_free(settings())
    assert not returns_are_free(settings(coverage={"returns": {"payout_ratio": "0.8"}}))
    assert not returns_are_free(settings(coverage={"returns": {"max_payout": 1_000}}))


def test_coverage_tallies_split_the_totals():
    totals = Tally(
        orders=10,
        protected_orders=6,
        protections=5,
        premium=3_000,
        premium_collected=2_500,
        merchant_contribution=500,
        insurance_cost=700,
        claims_filed=3,
        claims_paid=2,
        claims_paid_amount=1_200,
        recovered_amount=100,
    )
    returns = Tally(
        protected_orders=4,
        protections=3,
        premium=600,
        premium_collected=450,
        merchant_contribution=150,
        claims_filed=1,
        claims_paid=1,
        claims_paid_amount=200,
    )
    split = coverage_tallies(totals, ReturnsFigures(returns, returns_only_orders=1, returns_only_protections=1))
    shipping, part = split["shipping"], split["returns"]
    assert (shipping.protected_orders, shipping.protections) == (5, 4)
    assert (shipping.premium_collected, shipping.merchant_contribution) == (2_050, 350)
    assert (shipping.claims_paid, shipping.claims_paid_amount, shipping.insurance_cost) == (1, 1_000, 700)
    assert (part.protected_orders, part.premium_collected, part.claims_paid_amount) == (4, 450, 200)
    assert part.insurance_cost == 0 and part.recovered_amount == 0
    assert part.loss_ratio == Decimal("0.4444")


def test_default_settings_are_shipping_only():
    plan = coverage_plan(compose({}))
    assert [rule.type for rule in plan.coverages] == [CoverageType.SHIPPING]
    assert DEFAULT_SETTINGS["coverage"]["returns"]["enabled"] is False
