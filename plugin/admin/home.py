"""The dashboard (/admin/): the shop's figures for a chosen period, its alerts, charts of the daily series, and
what waits for a person. The figures come from services.reports.summary, as GET /api/v1/reports/summary's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_currency as babel_format_currency
from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import (
    format_date,
    format_decimal,
    format_percent,
    format_timedelta,
    get_locale,
    gettext,
    lazy_gettext,
)
from markupsafe import Markup

from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.admin.charts import line_chart
from plugin.admin.shipments_pages import carrier_excluded_in_transit
from plugin.domain.reports import BIND_SUCCESS_ALERT, COST_SHARE_ALERT, Alert
from plugin.errors import ValidationFailedError
from plugin.iso_codes import currency_exponent
from plugin.models import Shop, utcnow
from plugin.services import reports
from plugin.services.returns import overdue_return_claims
from plugin.services.settings import effective_settings

# The period chooser's presets: (value, label, days back including today); "month" is this calendar month.
PRESETS = [
    ("7d", lazy_gettext("Last 7 days"), 7),
    ("30d", lazy_gettext("Last 30 days"), 30),
    ("90d", lazy_gettext("Last 90 days"), 90),
    ("month", lazy_gettext("This month"), 0),
]
DEFAULT_PRESET = "30d"
CUSTOM = "custom"


class PeriodChoiceError(ValueError):
    """The period asked for in the query string cannot be shown."""


@dataclass(frozen=True)
class Choice:
    """The period asked for: a preset or custom dates (the last day included), as days in the shop's zone."""

    preset: str
    first: date
    last: date


def _choice(zone: ZoneInfo, today: date) -> Choice:
    preset = request.args.get("period", "").strip()
    typed_from, typed_to = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    if not preset:
        preset = CUSTOM if typed_from or typed_to else DEFAULT_PRESET
    for value, _label, days in PRESETS:
        if preset == value:
            return Choice(value, today.replace(day=1) if days == 0 else today - timedelta(days=days - 1), today)
    if preset != CUSTOM:
        raise PeriodChoiceError(gettext("Choose one of the periods offered."))
    try:
        first = date.fromisoformat(typed_from) if typed_from else today - timedelta(days=29)
        last = date.fromisoformat(typed_to) if typed_to else today
    except ValueError:
        raise PeriodChoiceError(gettext("Dates must look like 2026-11-23.")) from None
    if first > last:
        raise PeriodChoiceError(gettext("The first day must not be after the last day."))
    return Choice(CUSTOM, first, last)


# ---- how figures read ----------------------------------------------------------------------------------------

NO_DATA = "—"


def money(amount: int | None, currency: str) -> str:
    """Minor units in the page's language (babel)."""
    if amount is None:
        return NO_DATA
    return _money_text(amount, currency, str(get_locale()))


@lru_cache(maxsize=8192)
def _money_text(amount: int, currency: str, locale: str) -> str:
    # babel's pattern formatting costs ~0.06 ms; the daily table writes hundreds of amounts, mostly repeated.
    return babel_format_currency(Decimal(amount).scaleb(-currency_exponent(currency)), currency, locale=locale)


def percent(value: Decimal | None) -> str:
    """A ratio as a percentage with two decimals, in the page's language."""
    return NO_DATA if value is None else format_percent(value, "#,##0.00%")


def count(value: int) -> str:
    return format_decimal(value)


def duration(seconds: int | None) -> str:
    """A median time, roughly ("3 hours"), in the page's language."""
    if seconds is None:
        return NO_DATA
    return format_timedelta(timedelta(seconds=seconds))


@dataclass(frozen=True)
class Card:
    """One figure on the page."""

    figure: str  # the API's field name, so a reader (or a test) can match the two
    label: str
    value: str
    hint: str = ""
    alert: bool = False


def _cards(report: reports.Report) -> list[tuple[str, list[Card]]]:
    totals, outcomes, currency = report.totals, report.outcomes, report.currency
    alerted = {alert.metric for alert in report.alerts}
    return [
        (
            gettext("Orders"),
            [
                Card("orders", gettext("Orders"), count(totals.orders), gettext("Succeeded payments.")),
                Card("protected_orders", gettext("Protected orders"), count(totals.protected_orders)),
                Card(
                    "attach_rate",
                    gettext("Attach rate"),
                    percent(totals.attach_rate),
                    gettext("Protected orders ÷ orders."),
                ),
                Card("average_order_value", gettext("Average order"), money(totals.average_order_value, currency)),
            ],
        ),
        (
            gettext("Money"),
            [
                Card(
                    "premium_collected",
                    gettext("Premium collected"),
                    money(totals.premium_collected, currency),
                    gettext("What shoppers paid for protection (voided protections left out)."),
                ),
                Card(
                    "merchant_contribution",
                    gettext("Merchant contribution"),
                    money(totals.merchant_contribution, currency),
                    gettext("Your part of the premiums: money you never receive."),
                ),
                Card(
                    "insurance_cost",
                    gettext("Insurance cost"),
                    money(totals.insurance_cost, currency),
                    gettext("Policies bought, insurer and platform fees included."),
                ),
                Card(
                    "claims_paid_amount",
                    gettext("Claims paid"),
                    money(totals.claims_paid_amount, currency),
                    gettext("Refunds and reship costs of settled claims."),
                ),
                Card("recovered_amount", gettext("Recovered from insurers"), money(totals.recovered_amount, currency)),
                Card(
                    "margin",
                    gettext("Margin"),
                    money(totals.margin, currency),
                    gettext("Premium collected − insurance cost − claims paid + recovered."),
                    alert=totals.margin < 0,
                ),
            ],
        ),
        (
            gettext("Rates"),
            [
                Card(
                    "loss_ratio",
                    gettext("Loss ratio"),
                    percent(totals.loss_ratio),
                    gettext("Claims paid ÷ premium collected."),
                ),
                Card(
                    "policy_bind_success_rate",
                    gettext("Policy purchase success"),
                    percent(outcomes.policy_bind_success_rate),
                    gettext("Target: at least 95%."),
                    alert="policy_bind_success_rate" in alerted,
                ),
                Card(
                    "claim_rejection_rate",
                    gettext("Claim rejection rate"),
                    percent(outcomes.claim_rejection_rate),
                    gettext("Denied ÷ decided."),
                ),
                Card(
                    "protection_cost_share",
                    gettext("Protection cost share"),
                    percent(totals.protection_cost_share),
                    gettext("Average premium ÷ average order. Target: at most 3%."),
                    alert="protection_cost_share" in alerted,
                ),
            ],
        ),
        (
            gettext("Claims"),
            [
                Card("claims_filed", gettext("Claims filed"), count(totals.claims_filed)),
                Card(
                    "claims_paid", gettext("Claims settled"), count(totals.claims_paid), gettext("Paid or reshipped.")
                ),
                Card(
                    "median_seconds_to_decide",
                    gettext("Median time to decide"),
                    duration(outcomes.median_seconds_to_decide),
                ),
                Card("median_seconds_to_pay", gettext("Median time to pay"), duration(outcomes.median_seconds_to_pay)),
            ],
        ),
    ]


def _coverage_cards(report: reports.Report, returns_enabled: bool) -> list[tuple[str, list[Card]]]:
    """Each coverage's figures, when the return cover is on or was bought in the period (else the totals are the
    shipping cover's, and one group says it all)."""
    returns = report.coverages.get("returns")
    if returns is None or not (returns_enabled or returns.protected_orders or returns.claims_filed):
        return []
    currency = report.currency
    headings = {"shipping": gettext("Shipping cover"), "returns": gettext("Return shipping cover")}
    groups: list[tuple[str, list[Card]]] = []
    for name, heading in headings.items():
        tally = report.coverages[name]
        prefix = f"coverages.{name}."
        groups.append(
            (
                heading,
                [
                    Card(prefix + "protected_orders", gettext("Protected orders"), count(tally.protected_orders)),
                    Card(
                        prefix + "premium_collected",
                        gettext("Premium collected"),
                        money(tally.premium_collected, currency),
                    ),
                    Card(
                        prefix + "merchant_contribution",
                        gettext("Merchant contribution"),
                        money(tally.merchant_contribution, currency),
                    ),
                    Card(prefix + "claims_paid", gettext("Claims settled"), count(tally.claims_paid)),
                    Card(
                        prefix + "claims_paid_amount",
                        gettext("Claims paid"),
                        money(tally.claims_paid_amount, currency),
                    ),
                    Card(prefix + "loss_ratio", gettext("Loss ratio"), percent(tally.loss_ratio)),
                ],
            )
        )
    return groups


def _alert_text(alert: Alert) -> str:
    if alert.code == BIND_SUCCESS_ALERT:
        return gettext(
            "Policy purchase success is %(value)s, below the 95%% target: check the failed policies.",
            value=percent(alert.value),
        )
    if alert.code == COST_SHARE_ALERT:
        return gettext(
            "Protection costs %(value)s of the average order, above the 3%% target: shoppers may find it too dear.",
            value=percent(alert.value),
        )
    return alert.message


def _link(endpoint: str) -> str | None:
    """The URL of an admin page, if that page exists in this build."""
    return url_for(endpoint) if endpoint in current_app.view_functions else None


def _waiting(shop: Shop) -> list[dict[str, Any]]:
    shop_id = shop.id
    found = reports.waiting(shop_id)
    return [
        {
            "figure": "claims_to_decide",
            "label": gettext("Claims awaiting a decision"),
            "count": found.claims_to_decide,
            "href": _link("admin.claims"),
        },
        {
            "figure": "failed_policies",
            "label": gettext("Failed policies"),
            "count": found.failed_policies,
            "href": _link("admin.shipments"),
        },
        {
            "figure": "failed_jobs",
            "label": gettext("Failed jobs"),
            "count": found.failed_jobs,
            "href": _link("admin.jobs"),
        },
        *_carrier_excluded(shop_id),
        *_overdue_returns(shop),
    ]


def _overdue_returns(shop: Shop) -> list[dict[str, Any]]:
    """A card for return claims unpaid past `coverage.returns.pay_within_hours` after receipt, only when some are."""
    hours = effective_settings(shop)["coverage"]["returns"]["pay_within_hours"]
    count = overdue_return_claims(shop.id, utcnow(), hours)
    if not count:
        return []
    return [
        {
            "figure": "overdue_returns",
            "label": gettext("Return claims unpaid %(hours)s hours after receipt", hours=hours),
            "count": count,
            "href": _link("admin.returns"),
        }
    ]


def _carrier_excluded(shop_id: str) -> list[dict[str, Any]]:
    """A card for parcels in transit at the shop's own risk (carrier excluded), only when there are some."""
    count = carrier_excluded_in_transit(shop_id)
    if not count:
        return []
    href = _link("admin.shipments")
    return [
        {
            "figure": "carrier_excluded",
            "label": gettext("Parcels in transit the shop covers itself (carrier excluded)"),
            "count": count,
            "href": f"{href}?flag=carrier_excluded" if href else None,
        }
    ]


def _charts(report: reports.Report) -> list[Markup]:
    locale = get_locale()
    labels = [format_skeleton("MMMd", day, locale=locale) for day, _ in report.daily]
    exponent = currency_exponent(report.currency)

    def major(amount: int) -> float:
        return float(Decimal(amount).scaleb(-exponent))  # a plotting coordinate only; figures stay integers

    def money_label(value: float) -> str:
        return money(round(value * 10**exponent), report.currency)

    days = [tally for _, tally in report.daily]
    return [
        line_chart(
            gettext("Orders and protected orders"),
            labels,
            [
                (gettext("Orders"), [t.orders for t in days]),
                (gettext("Protected orders"), [t.protected_orders for t in days]),
            ],
            lambda value: format_decimal(value),
            whole_numbers=True,
        ),
        line_chart(
            gettext("Premium, insurance cost and claims paid"),
            labels,
            [
                (gettext("Premium collected"), [major(t.premium_collected) for t in days]),
                (gettext("Insurance cost"), [major(t.insurance_cost) for t in days]),
                (gettext("Claims paid"), [major(t.claims_paid_amount) for t in days]),
            ],
            money_label,
        ),
        line_chart(gettext("Margin"), labels, [(gettext("Margin"), [major(t.margin) for t in days])], money_label),
    ]


def _returns_enabled(shop: Shop) -> bool:
    return bool(effective_settings(shop)["coverage"]["returns"]["enabled"])


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """What protection earns the shop over a period, and what waits for a person."""
    shop = current_shop()
    now = utcnow()
    zone_name, zone = reports.shop_time_zone(shop)
    today = now.astimezone(zone).date()
    page: dict[str, Any] = {
        "shop": shop,
        "presets": PRESETS,
        "custom": CUSTOM,
        "timezone": zone_name,
        "waiting": _waiting(shop),
        "typed_from": request.args.get("from", ""),
        "typed_to": request.args.get("to", ""),
    }
    try:
        choice = _choice(zone, today)
        # The same service as the API: the last day chosen is included, so the exclusive end is the day after.
        report = reports.summary(shop, choice.first, choice.last + timedelta(days=1), now)
    except PeriodChoiceError as error:
        return render_template("admin/dashboard.html", error=str(error), **page), 400
    except ValidationFailedError:
        message = gettext("Choose a period between 1970 and 9998, of at most ten years.")
        return render_template("admin/dashboard.html", error=message, **page), 400
    return render_template(
        "admin/dashboard.html",
        choice=choice,
        period_text=gettext(
            "%(first)s to %(last)s (%(zone)s)",
            first=format_date(choice.first, "medium"),
            last=format_date(choice.last, "medium"),
            zone=zone_name,
        ),
        report=report,
        groups=_cards(report) + _coverage_cards(report, _returns_enabled(shop)),
        alerts=[_alert_text(alert) for alert in report.alerts],
        charts=_charts(report),
        days=[(format_date(day, "medium"), tally) for day, tally in report.daily],
        money=lambda amount: money(amount, report.currency),
        **page,
    )
