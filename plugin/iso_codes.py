"""ISO 4217 currencies (CLDR, through babel) and ISO 3166 countries and regions (through pycountry)."""

from __future__ import annotations

from datetime import date
from functools import cache

import pycountry
from babel.numbers import get_currency_precision, get_territory_currencies


@cache
def _currencies() -> frozenset[str]:
    # Legal tender somewhere today: retired codes (DEM, HRK), metals and fund codes are not money to price in.
    today = date.today()
    return frozenset(
        code
        for country in pycountry.countries
        for code in get_territory_currencies(country.alpha_2, today, tender=True)
    )


def is_currency(code: str) -> bool:
    """Whether `code` is an upper-case ISO 4217 currency code in use."""
    return code in _currencies()


@cache
def currency_exponent(code: str) -> int:
    """Minor-unit digits of a currency: USD 2, JPY 0, KWD 3."""
    if not is_currency(code):
        raise ValueError(f"unknown currency {code!r}")
    return get_currency_precision(code)


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _regions() -> frozenset[str]:
    return frozenset(region.code for region in pycountry.subdivisions)


def is_country(code: str) -> bool:
    """Whether `code` is an upper-case ISO 3166-1 alpha-2 country code."""
    return code in _countries()


def is_region(code: str) -> bool:
    """Whether `code` is an ISO 3166-2 subdivision code such as CN-XJ or US-CA."""
    return code in _regions()


def warm_up() -> None:
    """Load the code tables once, at start-up, rather than on some shopper's first request."""
    _currencies()
    _countries()
    _regions()
