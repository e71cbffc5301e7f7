from decimal import ROUND_HALF_UP, Decimal

import pytest

from plugin.domain.money import (
    CurrencyMismatchError,
    Money,
    parse_major_units,
    round_up_to_multiple,
    scale,
    to_minor_units,
)


def test_money_refuses_floats_bools_and_lowercase_codes():
    with pytest.raises(TypeError):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(10, "usd")


def test_money_adds_within_one_currency_only():
    assert Money(150, "USD") + Money(50, "USD") == Money(200, "USD")
    assert Money(150, "USD") - Money(50, "USD") == Money(100, "USD")
    with pytest.raises(CurrencyMismatchError):
        Money(1, "USD") + Money(1, "EUR")


@pytest.mark.parametrize(
    ("value", "increment", "expected"),
    [
        (Decimal("1000"), 1, 1000),
        (Decimal("1000.0001"), 1, 1001),
        (Decimal("101"), 50, 150),
        (Decimal(0), 50, 0),
    ],
)
def test_round_up_to_multiple(value, increment, expected):
    assert round_up_to_multiple(value, increment) == expected


def test_round_up_needs_a_positive_increment():
    with pytest.raises(ValueError):
        round_up_to_multiple(Decimal(1), 0)


def test_scale_is_exact_for_large_amounts():
    assert scale(5 * 10**17, Decimal("0.00000001")) == Decimal(5 * 10**9)
    assert to_minor_units(Decimal("2.5"), ROUND_HALF_UP) == 3


@pytest.mark.parametrize(
    ("text", "exponent", "minor"),
    [("199.00", 2, 19900), ("414.95", 2, 41495), ("1990", 0, 1990), ("1.234", 3, 1234), ("0", 2, 0)],
)
def test_parse_major_units(text, exponent, minor):
    assert parse_major_units(text, exponent) == minor


@pytest.mark.parametrize(
    ("text", "exponent"),
    [("1.5", 0), ("1.001", 2), ("abc", 2), ("NaN", 2), ("Infinity", 2), ("1e999999999", 2), ("1e-999999999", 2)],
)
def test_parse_major_units_refuses_what_is_not_an_amount(text, exponent):
    with pytest.raises(ValueError):
        parse_major_units(text, exponent)


def test_shopify_sample_prices_sum_exactly():
    # As floats these sum to 414.95000000000005.
    prices = ["199.00", "199.00", "5.00", "6.95", "5.00"]
    assert sum(parse_major_units(price, 2) for price in prices) == 41495
