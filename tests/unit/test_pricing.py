"""Pricing rules: the contract's examples and the properties every premium must have."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.domain.pricing import (
    Band,
    Cart,
    CartItem,
    Destination,
    ExclusionReason,
    IneligibleReason,
    PricingMode,
    PricingRules,
    merchant_contribution,
    percent_premium,
    price_cart,
)
from plugin.domain.settings import DEFAULT_SETTINGS, pricing_rules

US = Destination("US", "US-CA", "94107")


def cart(*items: CartItem, destination: Destination = US) -> Cart:
    return Cart("USD", destination, tuple(items))


def item(unit_price: int, quantity: int = 1, category: str | None = "jewelry", sku: str = "JB-1") -> CartItem:
    return CartItem(sku, unit_price, quantity, category)


def test_contract_example_two_percent_of_declared_value():
    price = price_cart(cart(item(50_000)), pricing_rules(DEFAULT_SETTINGS))
    assert price.eligible and price.reasons == ()
    assert (price.declared_value, price.premium, price.customer_price, price.merchant_contribution) == (
        50_000,
        1_000,
        1_000,
        0,
    )


def test_category_rate_replaces_the_default_rate_for_its_items_only():
    rules = PricingRules(rate=Decimal("0.02"), category_rates={"jewelry": Decimal("0.015")})
    price = price_cart(cart(item(10_000, 2, "Jewelry"), item(5_000, 1, "electronics", "E-1")), rules)
    assert price.premium == 300 + 100


def test_exact_sum_is_rounded_up_once_then_clamped():
    rules = PricingRules(rate=Decimal("0.0125"), round_up_to=50, minimum=98, maximum=2_000)
    assert price_cart(cart(item(999)), rules).premium == 98  # 12.4875 -> 50 -> raised to the minimum
    assert price_cart(cart(item(9_999)), rules).premium == 150  # 124.98... -> 150
    assert price_cart(cart(item(1_000_000)), rules).premium == 2_000  # 12,500 -> cut to the maximum


def test_items_are_summed_exactly_before_rounding():
    # 3 x 0.5 cents = 1.5 cents: one round-up of the sum (2), not three of each item (3).
    rules = PricingRules(rate=Decimal("0.005"))
    assert price_cart(cart(item(100, 1, sku="a"), item(100, 1, sku="b"), item(100, 1, sku="c")), rules).premium == 2


def test_bands_pick_the_first_band_that_covers_the_value():
    rules = PricingRules(mode=PricingMode.BANDS, bands=(Band(7_995, 145), Band(20_000, 295), Band(None, 995)))
    assert price_cart(cart(item(7_995)), rules).premium == 145
    assert price_cart(cart(item(7_996)), rules).premium == 295
    assert price_cart(cart(item(10**9)), rules).premium == 995


def test_remote_surcharge_is_added_after_pricing_for_listed_regions():
    rules = PricingRules(maximum=500, surcharge_regions=frozenset({"CN-XJ"}), surcharge_amount=300)
    xinjiang = Destination("CN", "CN-XJ")
    assert price_cart(cart(item(100_000), destination=xinjiang), rules).premium == 800
    assert price_cart(cart(item(100_000), destination=Destination("CN", "CN-BJ")), rules).premium == 500


def test_merchant_share_is_rounded_half_up_and_the_split_adds_up():
    rules = PricingRules(rate=Decimal("0.01"), merchant_share=Decimal("0.7"))
    price = price_cart(cart(item(1_050)), rules)  # premium 11 (10.5 rounded up); 7.7 -> 8
    assert (price.premium, price.merchant_contribution, price.customer_price) == (11, 8, 3)
    assert merchant_contribution(5, Decimal("0.5")) == 3


def test_excluded_items_are_listed_and_left_out():
    rules = PricingRules(excluded_skus=frozenset({"GIFT-CARD"}))
    price = price_cart(
        cart(item(50_000), item(9_999, 1, "Virtual", "E-BOOK"), item(5_000, 1, None, "GIFT-CARD")), rules
    )
    assert price.declared_value == 50_000 and price.premium == 1_000
    assert [(excluded.sku, excluded.reason) for excluded in price.excluded_items] == [
        ("E-BOOK", ExclusionReason.CATEGORY_EXCLUDED),
        ("GIFT-CARD", ExclusionReason.SKU_EXCLUDED),
    ]


@pytest.mark.parametrize(
    ("rules", "the_cart", "reasons"),
    [
        (
            PricingRules(excluded_countries=frozenset({"HK"})),
            cart(item(100), destination=Destination("HK")),
            (IneligibleReason.DESTINATION_EXCLUDED,),
        ),
        (PricingRules(), cart(item(100, 1, "virtual")), (IneligibleReason.NO_ELIGIBLE_ITEMS,)),
        (PricingRules(), cart(), (IneligibleReason.NO_ELIGIBLE_ITEMS,)),
        (
            PricingRules(max_declared_value=500_000),
            cart(item(500_001)),
            (IneligibleReason.VALUE_ABOVE_LIMIT,),
        ),
        (
            PricingRules(max_declared_value=10, excluded_countries=frozenset({"US"})),
            cart(item(11)),
            (IneligibleReason.DESTINATION_EXCLUDED, IneligibleReason.VALUE_ABOVE_LIMIT),
        ),
    ],
)
def test_ineligible_carts_cost_nothing_and_say_why(rules, the_cart, reasons):
    price = price_cart(the_cart, rules)
    assert not price.eligible
    assert price.reasons == reasons
    assert (price.premium, price.customer_price, price.merchant_contribution) == (0, 0, 0)


def test_value_at_the_ceiling_is_still_eligible():
    assert price_cart(cart(item(500_000)), PricingRules(max_declared_value=500_000)).eligible


# ---- properties -----------------------------------------------------------------------------------------

rates = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
amounts = st.integers(min_value=0, max_value=10**11)
items_strategy = st.lists(
    st.builds(
        CartItem,
        sku=st.sampled_from(["A", "B", "C", "D"]),
        unit_price=amounts,
        quantity=st.integers(min_value=1, max_value=10_000),
        category=st.sampled_from([None, "jewelry", "electronics", "virtual"]),
    ),
    min_size=1,
    max_size=20,
)


@st.composite
def percent_rules(draw) -> PricingRules:
    minimum = draw(st.integers(min_value=0, max_value=10_000))
    maximum = draw(st.one_of(st.none(), st.integers(min_value=minimum, max_value=10**9)))
    return PricingRules(
        rate=draw(rates),
        category_rates=draw(st.dictionaries(st.sampled_from(["jewelry", "electronics"]), rates, max_size=2)),
        minimum=minimum,
        maximum=maximum,
        round_up_to=draw(st.sampled_from([1, 5, 25, 50, 100])),
        merchant_share=draw(rates),
    )


@settings(max_examples=300, deadline=None)
@given(rules=percent_rules(), items=items_strategy)
def test_premium_is_an_integer_within_the_clamps(rules, items):
    premium = percent_premium(tuple(items), rules)
    assert isinstance(premium, int)
    assert premium >= rules.minimum
    if rules.maximum is not None:
        assert premium <= rules.maximum


@settings(max_examples=300, deadline=None)
@given(rules=percent_rules(), items=items_strategy)
def test_premium_before_the_clamps_is_a_multiple_of_the_increment(rules, items):
    unclamped = replace(rules, minimum=0, maximum=None)
    assert percent_premium(tuple(items), unclamped) % rules.round_up_to == 0


@settings(max_examples=300, deadline=None)
@given(rules=percent_rules(), items=items_strategy, extra=st.integers(min_value=0, max_value=10**9))
def test_premium_is_monotone_in_declared_value(rules, items, extra):
    bigger = [replace(items[0], unit_price=items[0].unit_price + extra), *items[1:]]
    assert percent_premium(tuple(bigger), rules) >= percent_premium(tuple(items), rules)


@settings(max_examples=300, deadline=None)
@given(rules=percent_rules(), items=items_strategy)
def test_customer_price_and_merchant_contribution_add_up_to_the_premium(rules, items):
    price = price_cart(cart(*items), rules)
    assert price.customer_price + price.merchant_contribution == price.premium
    assert 0 <= price.merchant_contribution <= price.premium


@settings(max_examples=300, deadline=None)
@given(rules=percent_rules(), items=items_strategy, junk=items_strategy)
def test_excluded_items_never_change_the_premium(rules, items, junk):
    rules = replace(rules, excluded_skus=frozenset({"EXCLUDED"}))
    eligible = [replace(it, sku="OK", category=None if it.category == "virtual" else it.category) for it in items]
    excluded = [replace(it, sku="EXCLUDED") for it in junk]
    assert price_cart(cart(*eligible, *excluded), rules).premium == price_cart(cart(*eligible), rules).premium


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.lists(st.integers(min_value=1, max_value=10**9), min_size=0, max_size=5, unique=True),
    prices=st.lists(st.integers(min_value=0, max_value=10**6), min_size=6, max_size=6),
    value=st.integers(min_value=1, max_value=10**10),
)
def test_band_premium_is_a_band_price(bounds, prices, value):
    bands = (*(Band(up_to, prices[i]) for i, up_to in enumerate(sorted(bounds))), Band(None, prices[-1]))
    premium = price_cart(cart(item(value, 1, None)), PricingRules(mode=PricingMode.BANDS, bands=bands)).premium
    assert premium in {band.price for band in bands}
