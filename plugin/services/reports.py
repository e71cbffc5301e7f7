"""A shop's report for a period: the one code path behind GET /api/v1/reports/summary and the admin's dashboard.

Each figure counts rows by one time of theirs, in [from, to):
- orders, protected_orders, the average order value: the payment's `succeeded_at`;
- premium_collected, merchant_contribution, the average premium: the protection's `created_at` (voided ones out);
- insurance_cost: the policy's `bound_at` (policies bound now: one cancelled at the insurer costs nothing);
- policy_bind_success_rate: the policy's `created_at` (when the parcel was sent to be insured);
- claims_filed: the claim's `created_at`;
- claims_paid, claims_paid_amount, recovered_amount, the time to pay: when the claim was settled, its `paid_at`
  (or `decided_at` for a reship), so that what an insurer paid back lands in the period of the claim it repays;
- claim_rejection_rate, the time to decide: the claim's `decided_at`.
Every query is filtered by the shop and a range of one indexed time column, and aggregated in the database
(GROUP BY the local day); no row is read into Python except the one or two middle values of each median.
On PostgreSQL the additive figures and counts come from the pre-aggregates (services/report_rollup.py: the same
rules, kept by triggers) for the quarter hours inside the period, and from the rows only for its ragged edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, union_all

from plugin.domain.claims import OPEN_STATUSES, ClaimStatus
from plugin.domain.jobs import JobStatus
from plugin.domain.reports import (
    RETURN_SHIPPING_CLAIM,
    Alert,
    Bound,
    OffsetSegment,
    Outcomes,
    Period,
    PeriodError,
    ReturnsFigures,
    Tally,
    alerts,
    coverage_tallies,
    date_of_day_number,
    median_of_window,
    median_window,
    period_of,
    total,
)
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import Claim, Job, Payment, Policy, Protection, Shop
from plugin.services import report_rollup
from plugin.services.report_sql import local_day, seconds_between
from plugin.services.settings import effective_settings

_PAID = ClaimStatus.PAID.value
_RESHIPPED = ClaimStatus.RESHIPPED.value
_DENIED = ClaimStatus.DENIED.value
# Counts of the whole period, which the queries yield beside the days: the policies asked for in it (the policies'
# one query yields them beside each bind day), the claims decided in it.
_PERIOD_COUNTS = frozenset({"policies_bound", "policies_failed", "claims_decided", "claims_denied"})


@dataclass(frozen=True)
class Report:
    """Every figure of a shop's period: totals, each day, each coverage, the outcomes and the alerts."""

    period: Period
    timezone: str
    currency: str
    totals: Tally
    daily: list[tuple[date, Tally]]
    coverages: dict[str, Tally]
    outcomes: Outcomes
    alerts: list[Alert]


@dataclass(frozen=True)
class Waiting:
    """What waits for a person now, whatever the period."""

    claims_to_decide: int
    failed_policies: int
    failed_jobs: int


def shop_time_zone(shop: Shop) -> tuple[str, ZoneInfo]:
    """The shop's `shop.timezone` setting: its name and its zone."""
    name = effective_settings(shop)["shop"]["timezone"]
    return name, ZoneInfo(name)


def summary(shop: Shop, start: Bound | None, end: Bound | None, now: datetime) -> Report:
    """The shop's report for [start, end): a plain date is read in the shop's zone; a missing bound is all time.

    A bound out of range, start ≥ end or too long a period is a ValidationFailedError naming `from`/`to`."""
    name, zone = shop_time_zone(shop)
    earliest, latest = shop.created_at, now
    if start is None or end is None:
        first, last = _data_span(shop.id)
        earliest = min(earliest, first) if first else earliest
        latest = max(latest, last) if last else latest
    try:
        period = period_of(start, end, zone, earliest=earliest, latest=latest)
    except PeriodError as error:
        raise ValidationFailedError(str(error), fields=error.fields) from None
    segments = period.offset_segments()
    # Where the pre-aggregates serve (PostgreSQL, quarter hours inside the period): None reads every row.
    cut = report_rollup.split(period.start, period.end, segments)
    by_day: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted: dict[str, int] = defaultdict(int)  # figures of the whole period that a query yields by day
    for day, figures in _daily_figures(shop, period, segments, cut):
        for key, value in figures.items():
            if key in _PERIOD_COUNTS:
                counted[key] += int(value or 0)
            elif value:  # a day outside the period (a policy bound after it) only ever carries zeros here
                by_day[day][key] += int(value)
    tallies = {date_of_day_number(day): Tally(**figures) for day, figures in by_day.items()}
    totals = total(tallies.values())
    daily = [(day, tallies.get(day, Tally())) for day in period.days]
    outcomes = _outcomes(shop, period, totals.claims_paid, counted)
    return Report(
        period=period,
        timezone=name,
        currency=shop.currency,
        totals=totals,
        daily=daily,
        coverages=coverage_tallies(totals, _returns_figures(shop, period)),
        outcomes=outcomes,
        alerts=alerts(outcomes.policy_bind_success_rate, totals.protection_cost_share),
    )


def waiting(shop_id: str) -> Waiting:
    """Claims awaiting a decision, failed policy purchases and failed jobs, counted in one round trip."""
    row = db.session.execute(
        select(
            _count(Claim, Claim.shop_id == shop_id, Claim.status.in_([status.value for status in OPEN_STATUSES])),
            _count(Policy, Policy.shop_id == shop_id, Policy.status == "failed"),
            _count(Job, Job.shop_id == shop_id, Job.status == JobStatus.FAILED.value),
        )
    ).one()
    return Waiting(*(int(value) for value in row))


def loss_amounts(shop: Shop, start: datetime, end: datetime) -> tuple[int, int]:
    """(claims_paid_amount, premium_collected) of [start, end), by the report's own definitions (the shop's
    currency; premiums of protections not voided by `created_at`, claims by when they were settled): the loss
    ratio's two sides, read straight from the rows in two indexed range queries."""
    span = _Span(start, end)
    premium = db.session.scalar(
        select(func.coalesce(func.sum(Protection.customer_price_amount), 0)).where(
            Protection.shop_id == shop.id,
            _within(Protection.created_at, span),
            Protection.status != "voided",
            Protection.currency == shop.currency,
        )
    )
    paid_out = case(
        (Claim.status == _RESHIPPED, func.coalesce(Claim.reship_cost_amount, 0)),
        else_=func.coalesce(Claim.approved_amount, 0),
    )
    paid = db.session.scalar(
        select(func.coalesce(func.sum(paid_out), 0)).where(
            Claim.shop_id == shop.id, _settled_within(span), Claim.currency == shop.currency
        )
    )
    return int(paid or 0), int(premium or 0)


# ---- the queries -----------------------------------------------------------------------------------------------


def _count(model: Any, *conditions: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(model).where(*conditions).scalar_subquery()


@dataclass(frozen=True)
class _Span:
    """Part of a period, [start, end), that the rows serve."""

    start: datetime
    end: datetime


def _within(column: Any, period: Period | _Span) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _live_spans(period: Period, cut: report_rollup.Split | None) -> list[_Span]:
    """What the rows must serve: the whole period, or only the edges the pre-aggregates leave out."""
    if cut is None:
        return [_Span(period.start, period.end)]
    edges = [_Span(period.start, cut.middle_start), _Span(cut.middle_end, period.end)]
    return [edge for edge in edges if edge.start < edge.end]


def _when(condition: Any, value: Any = 1) -> Any:
    return func.sum(case((condition, value), else_=0))


def _settled_at() -> Any:
    """When a claim was settled: its payment, or the decision to reship."""
    return case((Claim.status == _RESHIPPED, Claim.decided_at), else_=Claim.paid_at)


def _settled_within(period: Period | _Span) -> ColumnElement[bool]:
    # Two ranges, each on its own indexed column, rather than a range on the CASE (which no index serves).
    return or_(
        and_(Claim.status == _PAID, _within(Claim.paid_at, period)),
        and_(Claim.status == _RESHIPPED, _within(Claim.decided_at, period)),
    )


def _grouped(statement: Any, day: Any, names: Iterable[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    names = list(names)
    for row in db.session.execute(statement.group_by(day)):
        # A NULL day (a policy never bound) carries only period counts.
        yield (int(row[0]) if row[0] is not None else 0), dict(zip(names, row[1:], strict=True))


def _daily_figures(
    shop: Shop, period: Period, segments: list[OffsetSegment], cut: report_rollup.Split | None
) -> Iterable[tuple[int, dict[str, Any]]]:
    """(local day number, some of a Tally's fields or period counts): from the pre-aggregates where they serve,
    from the rows for the rest."""
    for span in _live_spans(period, cut):
        yield from _live_figures(shop, span, segments)
    if cut is not None:
        kept = report_rollup.read(shop.id, shop.currency, cut, segments)
        yield from kept.days
        yield 0, kept.counts


def _live_figures(shop: Shop, period: _Span, segments: list[OffsetSegment]) -> Iterable[tuple[int, dict[str, Any]]]:
    """(local day number, some of a Tally's fields or period counts) from each table, grouped by day in the
    database."""
    currency = shop.currency
    paid_day = local_day(Payment.succeeded_at, segments)
    priced = and_(Payment.currency == currency, Payment.amount.is_not(None))
    yield from _grouped(
        select(paid_day, func.count(), _when(Payment.protected), _when(priced), _when(priced, Payment.amount)).where(
            Payment.shop_id == shop.id, Payment.status == "succeeded", _within(Payment.succeeded_at, period)
        ),
        paid_day,
        ("orders", "protected_orders", "priced_orders", "order_amount"),
    )
    protected_day = local_day(Protection.created_at, segments)
    yield from _grouped(
        select(
            protected_day,
            func.count(),
            func.sum(Protection.premium_amount),
            func.sum(Protection.customer_price_amount),
            func.sum(Protection.merchant_contribution_amount),
        ).where(
            Protection.shop_id == shop.id,
            _within(Protection.created_at, period),
            Protection.status != "voided",
            Protection.currency == currency,
        ),
        protected_day,
        ("protections", "premium", "premium_collected", "merchant_contribution"),
    )
    # One pass over the policies for two figures counted by different times: the cost of those bound in the
    # period (by bind day), and the purchase outcomes of those asked for in it.
    bound_day = local_day(Policy.bound_at, segments)
    bound_within, asked_within = _within(Policy.bound_at, period), _within(Policy.created_at, period)
    cost = and_(bound_within, Policy.status == "bound", Policy.currency == currency)
    yield from _grouped(
        select(
            bound_day,
            _when(cost, func.coalesce(Policy.cost_amount, 0)),
            _when(and_(asked_within, Policy.bound_at.is_not(None))),
            _when(and_(asked_within, Policy.status == "failed")),
        ).where(Policy.shop_id == shop.id, or_(bound_within, asked_within)),
        bound_day,
        ("insurance_cost", "policies_bound", "policies_failed"),
    )
    filed_day = local_day(Claim.created_at, segments)
    yield from _grouped(
        select(filed_day, func.count()).where(Claim.shop_id == shop.id, _within(Claim.created_at, period)),
        filed_day,
        ("claims_filed",),
    )
    settled_day = local_day(_settled_at(), segments)
    paid_out = case(
        (Claim.status == _RESHIPPED, func.coalesce(Claim.reship_cost_amount, 0)),
        else_=func.coalesce(Claim.approved_amount, 0),
    )
    yield from _grouped(
        select(
            settled_day,
            func.count(),
            func.sum(paid_out),
            _when(Claim.recovery_status == "paid", func.coalesce(Claim.recovery_amount, 0)),
        ).where(Claim.shop_id == shop.id, _settled_within(period), Claim.currency == currency),
        settled_day,
        ("claims_paid", "claims_paid_amount", "recovered_amount"),
    )
    decided, denied = db.session.execute(
        select(func.count(), _when(Claim.status == _DENIED)).where(
            Claim.shop_id == shop.id, _within(Claim.decided_at, period)
        )
    ).one()
    yield 0, {"claims_decided": decided, "claims_denied": denied}


def _returns_figures(shop: Shop, period: Period) -> ReturnsFigures:
    """The return cover's part of the period, counted from the rows by the same times as the totals: the
    protections that bought it (by `created_at`), the return_shipping claims (filed, settled)."""
    currency = shop.currency
    live = Protection.status != "voided"
    alone = Protection.covers_shipping.is_(False)
    row = db.session.execute(
        select(
            func.count(),
            _when(alone),
            _when(live),
            _when(and_(live, alone)),
            _when(live, Protection.returns_premium_amount),
            _when(live, Protection.returns_customer_price_amount),
            _when(live, Protection.returns_merchant_contribution_amount),
        ).where(
            Protection.shop_id == shop.id,
            _within(Protection.created_at, period),
            Protection.covers_returns.is_(True),
            Protection.currency == currency,
        )
    ).one()
    orders, alone_orders, protections, alone_protections, premium, collected, contribution = (
        int(value or 0) for value in row
    )
    returns_claim = and_(Claim.shop_id == shop.id, Claim.type == RETURN_SHIPPING_CLAIM)
    filed = db.session.execute(select(func.count()).where(returns_claim, _within(Claim.created_at, period))).scalar()
    paid_out = case(
        (Claim.status == _RESHIPPED, func.coalesce(Claim.reship_cost_amount, 0)),
        else_=func.coalesce(Claim.approved_amount, 0),
    )
    paid, paid_amount = db.session.execute(
        select(func.count(), func.sum(paid_out)).where(
            returns_claim, _settled_within(period), Claim.currency == currency
        )
    ).one()
    tally = Tally(
        protected_orders=orders,
        protections=protections,
        premium=premium,
        premium_collected=collected,
        merchant_contribution=contribution,
        claims_filed=int(filed or 0),
        claims_paid=int(paid or 0),
        claims_paid_amount=int(paid_amount or 0),
    )
    return ReturnsFigures(tally, returns_only_orders=alone_orders, returns_only_protections=alone_protections)


def _outcomes(shop: Shop, period: Period, claims_settled: int, counted: dict[str, int]) -> Outcomes:
    """The two medians, with the policy purchase outcomes and claim decisions already counted."""
    shop_id = shop.id
    decided_filter = and_(Claim.shop_id == shop_id, _within(Claim.decided_at, period))
    decided, denied = counted["claims_decided"], counted["claims_denied"]
    to_decide = seconds_between(Claim.decided_at, Claim.created_at)
    # The median to pay counts the claims claims_paid counts (those in the shop's currency): the paid ones and the
    # reshipped ones read apart, each through its own time's covering index, then merged.
    mine = and_(Claim.shop_id == shop_id, Claim.currency == shop.currency)
    settled = union_all(
        select(seconds_between(Claim.paid_at, Claim.created_at).label("seconds")).where(
            mine, Claim.status == _PAID, _within(Claim.paid_at, period)
        ),
        select(seconds_between(Claim.decided_at, Claim.created_at).label("seconds")).where(
            mine, Claim.status == _RESHIPPED, _within(Claim.decided_at, period)
        ),
    ).subquery()
    return Outcomes(
        policies_bound=counted["policies_bound"],
        policies_failed=counted["policies_failed"],
        claims_decided=int(decided or 0),
        claims_denied=int(denied or 0),
        median_seconds_to_decide=_median(select(to_decide).where(decided_filter), to_decide, int(decided or 0)),
        median_seconds_to_pay=_median(select(settled.c.seconds), settled.c.seconds, claims_settled),
    )


def _median(statement: Select[Any], value: Any, count: int) -> int | None:
    """The median of `value` over `count` rows: the middle one or two read through ORDER BY … OFFSET."""
    offset, size = median_window(count)
    if size == 0:
        return None
    middle = db.session.scalars(statement.order_by(value).offset(offset).limit(size)).all()
    return median_of_window([int(seconds) for seconds in middle])


def _data_span(shop_id: str) -> tuple[datetime | None, datetime | None]:
    """The earliest and the latest time any figure could count (for a period without `from` or `to`); each an
    index lookup on (shop_id, time)."""
    columns: list[tuple[Any, Any]] = [
        (Payment, Payment.succeeded_at),
        (Protection, Protection.created_at),
        (Policy, Policy.created_at),
        (Policy, Policy.bound_at),
        (Claim, Claim.created_at),
        (Claim, Claim.decided_at),
        (Claim, Claim.paid_at),
    ]
    firsts = [select(func.min(column)).where(model.shop_id == shop_id).scalar_subquery() for model, column in columns]
    lasts = [select(func.max(column)).where(model.shop_id == shop_id).scalar_subquery() for model, column in columns]
    row = db.session.execute(select(*firsts, *lasts)).one()
    found_firsts = [moment for moment in row[: len(columns)] if moment is not None]
    found_lasts = [moment for moment in row[len(columns) :] if moment is not None]
    return (min(found_firsts) if found_firsts else None, max(found_lasts) if found_lasts else None)
