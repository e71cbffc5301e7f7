"""What the protections, shipments, jobs and deliveries pages share: the shop's zone, money and times as the
page's language writes them, links that exist only when their page does, and the pager's links."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from flask import current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from plugin.admin.access import safe_next
from plugin.admin.listing import (
    Page,
    Segment,
    chained_page,
    csv_response,
    cursor_arg,
    format_arg,
    limit_arg,
    shop_zone,
)
from plugin.iso_codes import currency_exponent
from plugin.models import Shop
from plugin.services.settings import effective_settings


def zone_of(shop: Shop) -> ZoneInfo:
    """The shop's time zone (settings `shop.timezone`), UTC when it has none."""
    section = effective_settings(shop).get("shop")
    name = section.get("timezone") if isinstance(section, Mapping) else None
    return shop_zone(name if isinstance(name, str) else None)


def major(amount: int | None, currency: str) -> Decimal | None:
    """Minor units as a plain decimal amount in the currency's own digits (50000 USD → 500.00; for CSV)."""
    if amount is None:
        return None
    try:
        exponent = currency_exponent(currency)
    except ValueError:
        return Decimal(amount)
    return Decimal(amount).scaleb(-exponent)


@dataclass(frozen=True)
class Formats:
    """Money and times as the page shows them: the page's language, the shop's zone."""

    zone: ZoneInfo

    def money(self, amount: int | None, currency: str | None) -> str:
        """An amount of minor units, written as the page's language writes money ("" when unknown)."""
        if amount is None or not currency:
            return ""
        return format_currency(major(amount, currency) or 0, currency, locale=str(get_locale() or "en"))

    def time(self, moment: datetime | None) -> str:
        """A moment in the shop's zone, short, as the page's language writes it ("" when unset)."""
        if moment is None:
            return ""
        # The same digits in every language (a page of 200 rows formats 600 times: strftime, not Babel).
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def iso(self, moment: datetime | None) -> str:
        """A moment as RFC 3339 in UTC (for the `datetime` attribute of <time>)."""
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def optional_url(endpoint: str, **values: Any) -> str | None:
    """The URL of an admin page, or None when that page is not part of this build."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def web_link(url: str | None) -> str | None:
    """A URL stored from outside (a carrier's tracking page, the terms) as a link only when it is http(s)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


@dataclass(frozen=True)
class PagerLinks:
    """The links around a list: its first page, the next one, and the same rows as CSV."""

    first_url: str | None
    next_url: str | None
    csv_url: str


def pager_links(endpoint: str, filters: Mapping[str, str], page: Page) -> PagerLinks:
    """Links that keep the list's filters (and its page size) while moving through it."""
    kept: dict[str, Any] = {name: value for name, value in filters.items() if value}
    sized: dict[str, Any] = {"limit": request.args["limit"]} if request.args.get("limit") else {}
    first = url_for(endpoint, **kept, **sized) if request.args.get("after") else None
    following = url_for(endpoint, **kept, **sized, after=page.next_cursor) if page.next_cursor else None
    return PagerLinks(first, following, url_for(endpoint, **kept, format="csv"))


def segmented_list(
    *,
    endpoint: str,
    template: str,
    segments: list[Segment],
    filter_names: Iterable[str],
    csv_name: str,
    csv_header: Sequence[str],
    csv_rows: Callable[[list[Segment]], Iterable[Sequence[Any]]],
    **context: Any,
) -> ResponseReturnValue:
    """A list page's answer: the CSV of every row the filters keep (`?format=csv`), else one page of them with
    links that keep the filters; `context` goes to the template beside `rows`, `links` and `filters`."""
    if format_arg() == "csv":
        return csv_response(csv_name, csv_header, csv_rows(segments))
    page = chained_page(segments, cursor_arg(), limit_arg())
    raw = {name: request.args.get(name, "") for name in filter_names}
    return render_template(
        template, rows=page.rows, links=pager_links(endpoint, raw, page), filters=raw, here=here(), **context
    )


def problem(status: int, title: str, message: str, shop: Shop | None = None) -> tuple[str, int]:
    """The admin's problem page with this status."""
    return render_template("admin/problem.html", title=title, message=message, shop=shop), status


def here() -> str:
    """This page's path and query string, to come back to after an action."""
    return request.full_path.rstrip("?")


def back_to(default: str) -> str:
    """Where to go after an action: the form's `next` when it is a page of the admin, else `default`."""
    target = request.form.get("next", "")
    return target if target and safe_next(target) == target else default
