"""The default terms page a quote's offer links to, written from the shop's own settings in English or Chinese.

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

from plugin.iso_codes import currency_exponent
from plugin.services.settings import effective_settings
from plugin.services.shops import get_shop

bp = Blueprint("terms", __name__)

LANGUAGES = ("en", "zh")
LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LIST_SEPARATOR = {"en": ", ", "zh": "、"}
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "page_title": "Shipping protection terms · {shop}",
        "heading": "Shipping protection at {shop}",
        "intro": "Terms version {version}. Shipping protection is optional: it is added to an order only when you "
        "choose it, after seeing its price.",
        "covered": "What is covered",
        "lost": "Lost parcels: claim from {after} days after shipping when tracking has not moved for {quiet} days, "
        "until {until} days after shipping.",
        "stolen": "Stolen parcels: claim within {days} days of delivery.",
        "damaged": "Damaged items: claim within {days} days of delivery.",
        "damaged_photo": "Damaged items: claim within {days} days of delivery, with at least one photo.",
        "late": "Late parcels: {amount} when the parcel has not arrived {days} days after shipping.",
        "not_covered": "What is not covered",
        "categories": "Items in these categories: {list}.",
        "countries": "Parcels sent to: {list}.",
        "costs": "The protection's price and the shipping costs are not part of a claim's amount.",
        "claiming": "How a claim is settled",
        "settled": "An approved claim is refunded to your original payment method or the items are sent again.",
        "limit": "At most {count} claims per customer in {days} days.",
    },
    "zh": {
        "page_title": "运输保障条款 · {shop}",
        "heading": "{shop} 的运输保障",
        "intro": "条款版本 {version}。运输保障为自选服务：只有在您看到价格并主动选择后，才会加入订单。",
        "covered": "保障范围",
        "lost": "包裹丢失：发货 {after} 天后，如物流信息已 {quiet} 天未更新，可在发货后 {until} 天内提出索赔。",
        "stolen": "包裹被盗：签收后 {days} 天内提出索赔。",
        "damaged": "物品损坏：签收后 {days} 天内提出索赔。",
        "damaged_photo": "物品损坏：签收后 {days} 天内提出索赔，需附至少一张照片。",
        "late": "包裹延误：发货 {days} 天后仍未送达，可获 {amount} 补偿。",
        "not_covered": "不在保障范围内",
        "categories": "以下类别的商品：{list}。",
        "countries": "寄往以下国家或地区的包裹：{list}。",
        "costs": "运输保障费用和运费不计入索赔金额。",
        "claiming": "索赔处理",
        "settled": "索赔获批后，款项将退回您的原支付方式，或为您补发商品。",
        "limit": "每位顾客在 {days} 天内最多可提出 {count} 次索赔。",
    },
}
# Names for the default excluded categories; a merchant's own categories are shown as they wrote them.
CATEGORY_NAMES = {
    "en": {"virtual": "virtual goods", "custom": "custom-made items", "second_hand": "second-hand items"},
    "zh": {"virtual": "虚拟商品", "custom": "定制商品", "second_hand": "二手商品"},
}


def page_language() -> str:
    """`?lang=` if it names a language we speak, else the browser's Accept-Language, else English."""
    asked = (request.args.get("lang") or "").replace("_", "-").split("-")[0].lower()
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default="en") or "en"


def money(amount: int, currency: str, language: str) -> str:
    """Minor units shown as the language writes money."""
    value = Decimal(amount).scaleb(-currency_exponent(currency))
    return format_currency(value, currency, locale=LOCALES[language])


def promises(settings: dict[str, Any], currency: str, language: str) -> dict[str, Any]:
    """The sentences this shop's settings allow the page to say."""
    t = TEXTS[language]
    claims, eligibility = settings["claims"], settings["eligibility"]
    covered = [
        t["lost"].format(
            after=claims["lost_after_days"], quiet=claims["lost_no_update_days"], until=claims["lost_until_days"]
        ),
        t["stolen"].format(days=claims["stolen_within_days"]),
        t["damaged_photo" if claims["damaged_requires_photo"] else "damaged"].format(
            days=claims["damaged_within_days"]
        ),
    ]
    if claims["delay_compensation"] > 0:  # late parcels are covered only when the shop pays something for them
        amount = money(claims["delay_compensation"], currency, language)
        covered.append(t["late"].format(amount=amount, days=claims["delayed_after_days"]))
    not_covered = []
    if eligibility["excluded_categories"]:
        names = [CATEGORY_NAMES[language].get(c, c) for c in eligibility["excluded_categories"]]
        not_covered.append(t["categories"].format(list=LIST_SEPARATOR[language].join(names)))
    if eligibility["excluded_countries"]:
        territories = Locale.parse(LOCALES[language]).territories
        names = [territories.get(code, code) for code in eligibility["excluded_countries"]]
        not_covered.append(t["countries"].format(list=LIST_SEPARATOR[language].join(names)))
    not_covered.append(t["costs"])
    settled = [t["settled"]]
    if claims["max_claims_per_customer"] > 0:
        settled.append(t["limit"].format(count=claims["max_claims_per_customer"], days=claims["customer_limit_days"]))
    return {"covered": covered, "not_covered": not_covered, "settled": settled}


@bp.get("/terms/<shop_id>")
def page(shop_id: str) -> ResponseReturnValue:
    """What the shipping protection covers at this shop, and how a claim is settled."""
    shop = get_shop(shop_id)
    if shop is None:
        abort(404)
    settings = effective_settings(shop)
    language = page_language()
    texts = dict(TEXTS[language])
    for key in ("page_title", "heading", "intro"):
        texts[key] = texts[key].format(shop=shop.name, version=settings["offer"]["terms_version"])
    response = make_response(
        render_template(
            "terms.html",
            lang=HTML_LANG[language],
            t=texts,
            **promises(settings, shop.currency, language),
        )
    )
    response.headers["Content-Language"] = HTML_LANG[language]
    response.vary.add("Accept-Language")
    return response
