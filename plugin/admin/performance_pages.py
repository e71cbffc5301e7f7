"""/admin/performance: the shop's last-30-day figures (measured now, as GET /api/v1/reports/performance answers
them), each coverage's rates by record with the one in force, and when the stored tier changed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, gettext, lazy_gettext

from plugin.admin.access import current_shop, is_owner
from plugin.admin.blueprint import bp
from plugin.admin.list_support import Formats, optional_url, zone_of
from plugin.domain.performance import MIN_DELIVERED, WINDOW_DAYS, Metric, PerformanceFigures, PerformanceTier
from plugin.models import utcnow
from plugin.services import performance
from plugin.services.settings import effective_settings

COVERAGE_NAMES = {
    performance.SHIPPING: lazy_gettext("Shipping protection"),
    performance.RETURNS: lazy_gettext("Return shipping cover"),
}
METRIC_NAMES = {
    Metric.ON_TIME_RATE: lazy_gettext("On-time deliveries"),
    Metric.LOSS_RATIO: lazy_gettext("Claims paid ÷ premiums"),
    Metric.RETURN_RATE: lazy_gettext("Returns ÷ deliveries"),
}
SETTINGS_PAGES = {performance.SHIPPING: "pricing", performance.RETURNS: "coverage"}


def percent(value: Decimal | None) -> str:
    """A ratio as a percentage in the page's language ("98 %"); "—" when there is none."""
    if value is None:
        return "—"
    return gettext("%(number)s %%", number=format_decimal(value * 100, format="#,##0.##"))


def percent_text(text: str | None) -> str:
    """A stored ratio (a decimal string) as a percentage."""
    return percent(Decimal(text) if text is not None else None)


def tier_name(index: int | None) -> str:
    """A tier as the page names it: its row number, or the coverage's own rate."""
    return gettext("your own rate") if index is None else gettext("row %(number)d", number=index + 1)


def applies_when(tier: PerformanceTier) -> str:
    """In words, which figure the tier applies at."""
    metric, low, high = METRIC_NAMES[tier.metric], tier.at_least, tier.below
    if low is not None and high is not None:
        return gettext("%(metric)s from %(low)s to below %(high)s", metric=metric, low=percent(low), high=percent(high))
    if low is not None:
        return gettext("%(metric)s at least %(low)s", metric=metric, low=percent(low))
    return gettext("%(metric)s below %(high)s", metric=metric, high=percent(high))


@dataclass(frozen=True)
class TierRow:
    number: int
    when: str
    rate: str
    in_force: bool


@dataclass(frozen=True)
class CoverageView:
    key: str
    name: str
    rate: str
    in_force: str
    rows: list[TierRow]
    settings_url: str | None


@bp.route("/performance", endpoint="performance")
def performance_page() -> ResponseReturnValue:
    shop = current_shop()
    settings = effective_settings(shop)
    now = utcnow()
    figures: PerformanceFigures = performance.measure(shop, now)
    standings = performance.standings(settings, figures)
    row = performance.stored(shop.id)
    coverages = [
        CoverageView(
            key=key,
            name=str(COVERAGE_NAMES[key]),
            rate=percent(standing.rate),
            in_force=tier_name(standing.index),
            rows=[
                TierRow(index + 1, applies_when(tier), percent(tier.rate), index == standing.index)
                for index, tier in enumerate(standing.tiers)
            ],
            settings_url=optional_url("admin.settings", slug=SETTINGS_PAGES[key]) if is_owner() else None,
        )
        for key, standing in standings.items()
    ]
    return render_template(
        "admin/performance.html",
        figures=figures,
        enough=figures.delivered >= MIN_DELIVERED,
        minimum=MIN_DELIVERED,
        window=WINDOW_DAYS,
        cards=[
            ("delivered", gettext("Delivered parcels"), format_decimal(figures.delivered)),
            ("on_time_rate", gettext("On time"), percent(figures.on_time_rate)),
            ("loss_ratio", gettext("Claims paid ÷ premiums"), percent(figures.loss_ratio)),
            ("return_rate", gettext("Returns ÷ deliveries"), percent(figures.return_rate)),
        ],
        coverages=coverages,
        stored=row,
        history=performance.history(shop.id),
        coverage_names=COVERAGE_NAMES,
        percent_text=percent_text,
        tier_name=tier_name,
        formats=Formats(zone_of(shop)),
        delayed_after_days=settings["claims"]["delayed_after_days"],
    )
