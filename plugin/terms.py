"""The default terms page a quote's offer links to, written from the shop's own settings in English or Chinese
(`?lang=`, else Accept-Language; the words are gettext messages, see docs/i18n.md).

It promises only what the shop has switched on: late-parcel cover only with a delay compensation, the shop's own
claim windows and evidence rules, and what its eligibility settings leave out.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from flask import Blueprint, abort, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from plugin.i18n import HTML_LANG, add_language_chooser, language_code, page_language
from plugin.iso_codes import currency_exponent
from plugin.services.settings import effective_settings
from plugin.services.shops import get_shop

bp = Blueprint("terms", __name__)

LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
LIST_SEPARATOR = {"en": ", ", "zh": "、"}
# Names for the default excluded categories; a merchant's own categories are shown as they wrote them.
CATEGORY_NAMES = {
    "virtual": lazy_gettext("virtual goods"),
    "custom": lazy_gettext("custom-made items"),
    "second_hand": lazy_gettext("second-hand items"),
}


@bp.record_once
def _choose_language(state: Any) -> None:
    """`?lang=` comes before Accept-Language on the terms page."""
    add_language_chooser(state.app, asked_language)


def asked_language() -> str | None:
    """The language `?lang=` names on the terms page, if we speak it."""
    if request.blueprint != "terms":
        return None
    return language_code(request.args.get("lang", "")[:35])


def money(amount: int, currency: str, language: str) -> str:
    """Minor units shown as the language writes money."""
    value = Decimal(amount).scaleb(-currency_exponent(currency))
    return format_currency(value, currency, locale=LOCALES[language])


def promises(settings: dict[str, Any], currency: str, language: str) -> dict[str, Any]:
    """The sentences this shop's settings allow the page to say, in the request's language."""
    claims, eligibility = settings["claims"], settings["eligibility"]
    lost = gettext(
        "Lost parcels: claim from %(after)s days after shipping when tracking has not moved for %(quiet)s days, "
        "until %(until)s days after shipping.",
        after=claims["lost_after_days"],
        quiet=claims["lost_no_update_days"],
        until=claims["lost_until_days"],
    )
    stolen = gettext("Stolen parcels: claim within %(days)s days of delivery.", days=claims["stolen_within_days"])
    if claims["damaged_requires_photo"]:
        damaged = gettext(
            "Damaged items: claim within %(days)s days of delivery, with at least one photo.",
            days=claims["damaged_within_days"],
        )
    else:
        damaged = gettext("Damaged items: claim within %(days)s days of delivery.", days=claims["damaged_within_days"])
    covered = [lost, stolen, damaged]
    if claims["delay_compensation"] > 0:  # late parcels are covered only when the shop pays something for them
        covered.append(
            gettext(
                "Late parcels: %(amount)s when the parcel has not arrived %(days)s days after shipping.",
                amount=money(claims["delay_compensation"], currency, language),
                days=claims["delayed_after_days"],
            )
        )
    not_covered = []
    if eligibility["excluded_categories"]:
        names = [str(CATEGORY_NAMES.get(c, c)) for c in eligibility["excluded_categories"]]
        not_covered.append(gettext("Items in these categories: %(list)s.", list=LIST_SEPARATOR[language].join(names)))
    if eligibility["excluded_countries"]:
        territories = Locale.parse(LOCALES[language]).territories
        names = [territories.get(code, code) for code in eligibility["excluded_countries"]]
        not_covered.append(gettext("Parcels sent to: %(list)s.", list=LIST_SEPARATOR[language].join(names)))
    not_covered.append(gettext("The protection's price and the shipping costs are not part of a claim's amount."))
    settled = [gettext("An approved claim is refunded to your original payment method or the items are sent again.")]
    if claims["max_claims_per_customer"] > 0:
        settled.append(
            gettext(
                "At most %(count)s claims per customer in %(days)s days.",
                count=claims["max_claims_per_customer"],
                days=claims["customer_limit_days"],
            )
        )
    return {"covered": covered, "not_covered": not_covered, "settled": settled}


@bp.get("/terms/<shop_id>")
def page(shop_id: str) -> ResponseReturnValue:
    """What the shipping protection covers at this shop, and how a claim is settled."""
    shop = get_shop(shop_id)
    if shop is None:
        abort(404)
    settings = effective_settings(shop)
    language = page_language()
    response = make_response(
        render_template(
            "terms.html",
            shop_name=shop.name,
            terms_version=settings["offer"]["terms_version"],
            **promises(settings, shop.currency, language),
        )
    )
    response.headers["Content-Language"] = HTML_LANG[language]
    response.vary.add("Accept-Language")
    return response
