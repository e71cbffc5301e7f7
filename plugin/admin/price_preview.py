"""What a settings draft charges, before it is saved: a price table over a ladder of order values and the offer on
an example cart as a shopper sees it. Computed by the pricing code quotes use (`price_cart`, `offer_for`), on the
draft document, never saved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from plugin import terms
from plugin.admin.settings_fields import Kind
from plugin.admin.settings_form import read
from plugin.admin.settings_words import explain, plain_amount
from plugin.domain.coverages import BundlePrice, price_bundle
from plugin.domain.performance import PerformanceFigures
from plugin.domain.pricing import Cart, CartItem, Destination, IneligibleReason
from plugin.domain.settings import coverage_plan
from plugin.iso_codes import currency_exponent, is_country, is_region
from plugin.offer_texts import offer_kind, offer_texts
from plugin.schemas import MAX_AMOUNT
from plugin.services.quotes import offer_for

# The table's order values, in major units, for a currency whose unit is worth about a dollar…
LADDER = (10, 25, 50, 100, 200, 500, 1000, 2000)
# …and by how much to scale them where the unit is worth much less (¥100 is not an order, ¥10,000 is).
LADDER_SCALE = {
    "JPY": 100, "KRW": 1000, "CNY": 10, "HKD": 10, "TWD": 10, "INR": 100, "IDR": 10000, "VND": 10000,
    "THB": 10, "PHP": 10, "MXN": 10, "SEK": 10, "NOK": 10, "DKK": 10, "CZK": 10, "HUF": 100, "ZAR": 10,
    "TRY": 10, "RUB": 100, "BRL": 5, "PLN": 5, "MYR": 5, "AED": 5, "SAR": 5, "ILS": 5,
}  # fmt: skip
MAX_BOUNDS = 8  # band bounds added to the ladder, at most
EXAMPLE_SKU = "example"
SHOPPER_LANGUAGES = ("en", "zh")


def unit(currency: str) -> int:
    """Minor units of one ladder step's unit."""
    return 10 ** currency_exponent(currency) * LADDER_SCALE.get(currency, 1)


def sample_values(document: Mapping[str, Any], currency: str) -> list[int]:
    """The order values the table prices: the ladder, each band's bound, and the largest value protected."""
    step = unit(currency)
    values = {rung * step for rung in LADDER}
    pricing = document["pricing"]
    if pricing["mode"] == "bands":
        bounds = sorted(band["up_to"] for band in pricing["bands"] if band["up_to"] is not None)
        values.update(bounds[:MAX_BOUNDS])
    if pricing["max_declared_value"] is not None:
        values.update({pricing["max_declared_value"], pricing["max_declared_value"] + step})
    return sorted(value for value in values if 0 < value <= MAX_AMOUNT)


def price_of(
    document: Mapping[str, Any],
    currency: str,
    value: int,
    performance: PerformanceFigures | None = None,
    **cart: Any,
) -> BundlePrice:
    """The price of a one-line cart under the draft's rules, every enabled coverage and the shop's stored figures
    (its performance tiers) included, as a quote computes it."""
    item = CartItem(sku=EXAMPLE_SKU, unit_price=value, quantity=1, category=cart.get("category"))
    destination = Destination(country=cart.get("country") or "", region=cart.get("region"))
    return price_bundle(Cart(currency, destination, [item]), coverage_plan(dict(document)), performance)


@dataclass(frozen=True)
class Example:
    """The example cart of the preview: one item, a category, a destination."""

    value: int
    category: str | None = None
    country: str | None = None
    region: str | None = None


def default_example(currency: str) -> Example:
    """A 100-unit item going nowhere in particular."""
    return Example(value=100 * unit(currency))


def read_example(form: Mapping[str, str], currency: str) -> tuple[Example, dict[str, str], dict[str, str]]:
    """The example cart from the form's `example.*` inputs: the cart, the inputs' texts, and problems by input."""
    texts = {name: form.get(f"example.{name}", "")[:200].strip() for name in ("value", "category", "country", "region")}
    problems: dict[str, str] = {}
    example = default_example(currency)
    value = read(Kind.MONEY, texts["value"], currency) if texts["value"] else example.value
    if not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        problems["example.value"] = explain(
            f"Must be an integer of minor units (cents) from 1 to {MAX_AMOUNT}.", Kind.MONEY, currency
        )
        value = example.value
    texts["value"] = texts["value"] or plain_amount(value, currency)
    country = texts["country"].upper() or None
    if country is not None and not is_country(country):
        problems["example.country"] = gettext("Not a country code: use two capital letters, such as US or HK.")
        country = None
    region = texts["region"].upper() or None
    if region is not None and not is_region(region):
        problems["example.region"] = gettext(
            "Not a region code: use the country, a hyphen and the region, such as CN-XJ."
        )
        region = None
    return Example(value, texts["category"][:64] or None, country, region), texts, problems


def _money(amount: int, currency: str, language: str) -> str:
    return terms.money(amount, currency, language)


REASONS = {
    IneligibleReason.DESTINATION_EXCLUDED: lambda: gettext("no protection to this destination"),
    IneligibleReason.NO_ELIGIBLE_ITEMS: lambda: gettext("no item of the order can be protected"),
    IneligibleReason.VALUE_ABOVE_LIMIT: lambda: gettext("above the largest order value you protect"),
}


def _reasons(price: BundlePrice) -> str:
    return "; ".join(REASONS[reason]() for reason in price.reasons)


def _row(value: int, price: BundlePrice, currency: str, language: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "declared_value": value,
        "eligible": price.eligible,
        "premium": price.premium,
        "customer_price": price.customer_price,
        "merchant_contribution": price.merchant_contribution,
        "shown": {
            "declared_value": _money(value, currency, language),
            "premium": _money(price.premium, currency, language),
            "customer_price": _money(price.customer_price, currency, language),
            "merchant_contribution": _money(price.merchant_contribution, currency, language),
        },
    }
    if not price.eligible:
        row["shown"]["note"] = gettext("Not offered: %(reasons)s", reasons=_reasons(price))
    return row


def shopper_view(document: Mapping[str, Any], price: BundlePrice, language: str, terms_url: str) -> dict[str, Any]:
    """The offer as the widget shows it to a shopper reading `language`, from the quote's own offer and words: a
    merchant's title and description are written in one language, so other languages get the built-in ones."""
    texts = offer_texts(language, offer_kind(document))
    offer = offer_for(document, texts, terms_url)
    own_words = texts.language == "en"
    view: dict[str, Any] = {
        "language": language,
        "shown": price.eligible,
        "title": offer.title if own_words else texts.title,
        "description": offer.description if own_words else texts.description,
        "price": _money(price.customer_price, price.currency, language),
        "terms_label": texts.widget["terms"],
        "terms_url": offer.terms_url,
    }
    if not price.eligible:
        view["note"] = gettext("The offer is not shown for this cart: %(reasons)s.", reasons=_reasons(price))
    return view


def preview(
    document: Mapping[str, Any],
    currency: str,
    example: Example,
    terms_url: str,
    language: str,
    performance: PerformanceFigures | None = None,
) -> dict[str, Any]:
    """The price table and the example cart's offer under a (valid) settings document and the shop's stored
    figures (the tier a quote would use)."""
    rows = [
        _row(value, price_of(document, currency, value, performance), currency, language)
        for value in sample_values(document, currency)
    ]
    price = price_of(
        document,
        currency,
        example.value,
        performance,
        category=example.category,
        country=example.country,
        region=example.region,
    )
    return {
        "currency": currency,
        "rows": rows,
        "example": _row(example.value, price, currency, language),
        "widgets": [shopper_view(document, price, shopper, terms_url) for shopper in SHOPPER_LANGUAGES],
    }
