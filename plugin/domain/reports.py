"""The reports' arithmetic: additive tallies, their ratios and margin, medians, the two alerts, and the days of a
period in the shop's time zone (with the UTC offsets that let a database put each time on its local day).

Ratios are Decimals rounded to RATIO_PLACES with RATIO_ROUNDING and shown as decimal strings; a ratio whose
denominator is zero is None (null in the API: "no data", which is not the same as 0). Money stays integer minor
units. Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

RATIO_PLACES = Decimal("0.0001")  # a hundredth of a per cent
RATIO_ROUNDING = ROUND_HALF_UP  # done exactly in integers by _divide_half_up: a ratio is rounded once
# Douyin's sellers' targets: policy purchase success at least 95 %, protection cost at most 3 % of the average order.
BIND_SUCCESS_TARGET = Decimal("0.95")
COST_SHARE_LIMIT = Decimal("0.03")
SECONDS_PER_DAY = 86_400
EPOCH_DAY = date(1970, 1, 1)
# The longest period a report covers (ten years of days); longer asks are refused.
MAX_PERIOD_DAYS = 3_660
# The dates a bound may name: UTC epoch seconds stay positive and a day after the last still exists.
FIRST_DAY = date(1970, 1, 2)
LAST_DAY = date(9998, 12, 31)


# ---- ratios, averages, medians ---------------------------------------------------------------------------------


def _divide_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up (away from zero on a tie), exactly, in integers."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    top, bottom = abs(numerator), abs(denominator)
    return sign * ((2 * top + bottom) // (2 * bottom))


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator ÷ denominator rounded once, exactly, to RATIO_PLACES (half up); None when the denominator is 0."""
    if denominator == 0:
        return None
    places = -RATIO_PLACES.as_tuple().exponent  # type: ignore[operator]
    return Decimal(_divide_half_up(numerator * 10**places, denominator)).scaleb(-places)


def ratio_text(value: Decimal | None) -> str | None:
    """A ratio as the API writes it: a plain decimal string ("0.9500"), or None."""
    return None if value is None else format(value, "f")


def rounded_division(numerator: int, denominator: int) -> int | None:
    """numerator ÷ denominator rounded half up to an integer (an average amount); None when dividing by zero."""
    if denominator == 0:
        return None
    return _divide_half_up(numerator, denominator)


def median_window(count: int) -> tuple[int, int]:
    """Where the median sits in `count` sorted values: (offset, how many to read): the middle one or two."""
    if count <= 0:
        return 0, 0
    return (count - 1) // 2, 1 if count % 2 else 2


def median_of_window(middle: Sequence[int]) -> int | None:
    """The median from the values `median_window` pointed at: the middle value, or the two middles' mean
    rounded half up to a whole second."""
    if not middle:
        return None
    return rounded_division(sum(middle), len(middle))


def median(values: Iterable[int]) -> int | None:
    """The median of whole numbers (the mean of the two middle ones, rounded half up, for an even count)."""
    ordered = sorted(values)
    offset, size = median_window(len(ordered))
    return median_of_window(ordered[offset : offset + size])


def margin(premium_collected: int, insurance_cost: int, claims_paid_amount: int, recovered_amount: int) -> int:
    """What protection earned the merchant. The merchant's contribution is money it never receives, so it is not
    added: premium_collected is what shoppers paid."""
    return premium_collected - insurance_cost - claims_paid_amount + recovered_amount


# ---- tallies --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """Figures that add up: a day's, a coverage's, a whole period's. Amounts in the shop's currency."""

    orders: int = 0  # succeeded payments, protected or not
    protected_orders: int = 0  # of those, the ones that carried a quote (whatever became of the protection)
    priced_orders: int = 0  # succeeded payments in the shop's currency, with an amount
    order_amount: int = 0  # their amounts, summed (for the average order value)
    protections: int = 0  # protections not voided
    premium: int = 0  # their whole premiums (the shopper's price plus the merchant's part)
    premium_collected: int = 0  # their customer prices: what shoppers paid for protection
    merchant_contribution: int = 0  # the merchant's part of their premiums
    insurance_cost: int = 0  # bound policies' cost, insurer and platform fees included
    claims_filed: int = 0
    claims_paid: int = 0  # claims settled: paid (money back) or reshipped
    claims_paid_amount: int = 0  # refunds and payments of paid claims, reship costs of reshipped ones
    recovered_amount: int = 0  # paid back by insurers on those claims

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, name) + getattr(other, name) for name in _TALLY_FIELDS))

    @property
    def margin(self) -> int:
        """premium_collected - insurance_cost - claims_paid_amount + recovered_amount."""
        return margin(self.premium_collected, self.insurance_cost, self.claims_paid_amount, self.recovered_amount)

    @property
    def attach_rate(self) -> Decimal | None:
        """protected_orders ÷ orders."""
        return ratio(self.protected_orders, self.orders)

    @property
    def loss_ratio(self) -> Decimal | None:
        """claims_paid_amount ÷ premium_collected."""
        return ratio(self.claims_paid_amount, self.premium_collected)

    @property
    def average_order_value(self) -> int | None:
        """The mean amount of the orders in the shop's currency, rounded half up to a minor unit."""
        return rounded_division(self.order_amount, self.priced_orders)

    @property
    def average_premium(self) -> int | None:
        """The mean whole premium of the protections, rounded half up to a minor unit."""
        return rounded_division(self.premium, self.protections)

    @property
    def protection_cost_share(self) -> Decimal | None:
        """The average premium ÷ the average order value, computed exactly then rounded once:
        (premium ÷ protections) ÷ (order_amount ÷ priced_orders)."""
        if self.protections == 0 or self.priced_orders == 0:
            return None
        return ratio(self.premium * self.priced_orders, self.protections * self.order_amount)


_TALLY_FIELDS = tuple(field.name for field in fields(Tally))


RETURN_SHIPPING_CLAIM = "return_shipping"  # the claim type of the return cover; every other claim is the parcel's


@dataclass(frozen=True, slots=True)
class ReturnsFigures:
    """The return cover's share of a period: its own figures, and how many protections bought it alone (those
    are no part of the shipping cover's figures)."""

    tally: Tally
    returns_only_orders: int = 0  # protections covering the return only, whatever their status
    returns_only_protections: int = 0  # of those, the ones not voided


def coverage_tallies(totals: Tally, returns: ReturnsFigures) -> dict[str, Tally]:
    """Each coverage's figures: the return cover's as counted; the shipping cover's are the totals less the return
    cover's amounts and claims, and less the protections that bought the return cover alone. Orders, policies and
    insurer recoveries are the shipping cover's (the return cover is the merchant's own, without policies)."""
    part = returns.tally
    shipping = Tally(
        orders=totals.orders,
        protected_orders=totals.protected_orders - returns.returns_only_orders,
        priced_orders=totals.priced_orders,
        order_amount=totals.order_amount,
        protections=totals.protections - returns.returns_only_protections,
        premium=totals.premium - part.premium,
        premium_collected=totals.premium_collected - part.premium_collected,
        merchant_contribution=totals.merchant_contribution - part.merchant_contribution,
        insurance_cost=totals.insurance_cost,
        claims_filed=totals.claims_filed - part.claims_filed,
        claims_paid=totals.claims_paid - part.claims_paid,
        claims_paid_amount=totals.claims_paid_amount - part.claims_paid_amount,
        recovered_amount=totals.recovered_amount,
    )
    return {"shipping": shipping, "returns": Tally(orders=totals.orders, **_returns_fields(part))}


def _returns_fields(part: Tally) -> dict[str, int]:
    names = (
        "protected_orders",
        "protections",
        "premium",
        "premium_collected",
        "merchant_contribution",
        "claims_filed",
        "claims_paid",
        "claims_paid_amount",
    )
    return {name: getattr(part, name) for name in names}


def total(tallies: Iterable[Tally]) -> Tally:
    """The sum of tallies (a year's days in one pass)."""
    every = list(tallies)
    return Tally(*(sum(getattr(tally, name) for tally in every) for name in _TALLY_FIELDS))


@dataclass(frozen=True, slots=True)
class Outcomes:
    """Figures that do not add up by day: success and rejection counts, medians."""

    policies_bound: int = 0  # policies asked for in the period that were bought (even if cancelled since)
    policies_failed: int = 0  # policies asked for in the period whose purchase failed
    claims_decided: int = 0
    claims_denied: int = 0
    median_seconds_to_decide: int | None = None
    median_seconds_to_pay: int | None = None

    @property
    def policy_bind_success_rate(self) -> Decimal | None:
        """bound ÷ (bound + failed); policies still being bought are left out."""
        return ratio(self.policies_bound, self.policies_bound + self.policies_failed)

    @property
    def claim_rejection_rate(self) -> Decimal | None:
        """denied ÷ decided."""
        return ratio(self.claims_denied, self.claims_decided)


# ---- alerts ---------------------------------------------------------------------------------------------------

BIND_SUCCESS_ALERT = "policy_bind_success_below_target"
COST_SHARE_ALERT = "protection_cost_share_above_target"


@dataclass(frozen=True, slots=True)
class Alert:
    """A figure outside its target, as the report shows it (the rounded ratio is the one judged)."""

    code: str
    metric: str
    value: Decimal
    threshold: Decimal
    message: str


def alerts(bind_success_rate: Decimal | None, cost_share: Decimal | None) -> list[Alert]:
    """The alerts these figures raise: bind success below 95 %, protection cost above 3 % of the average order."""
    found = []
    if bind_success_rate is not None and bind_success_rate < BIND_SUCCESS_TARGET:
        found.append(
            Alert(
                BIND_SUCCESS_ALERT,
                "policy_bind_success_rate",
                bind_success_rate,
                BIND_SUCCESS_TARGET,
                "Fewer than 95% of the policies asked for were bought: see the failed policies and their errors.",
            )
        )
    if cost_share is not None and cost_share > COST_SHARE_LIMIT:
        found.append(
            Alert(
                COST_SHARE_ALERT,
                "protection_cost_share",
                cost_share,
                COST_SHARE_LIMIT,
                "Protection costs more than 3% of the average order: shoppers may find it too dear.",
            )
        )
    return found


# ---- periods and days in the shop's time zone ------------------------------------------------------------------


class PeriodError(ValueError):
    """A period that cannot be reported on; `fields` names the bounds at fault."""

    def __init__(self, message: str, fields: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.fields = fields


Bound = date | datetime  # a plain date (read in the shop's zone) or an aware instant


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day, in UTC (on a day that skips midnight, the instant the clocks jump)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def instant_of(bound: Bound, zone: ZoneInfo) -> datetime:
    """A bound as an aware UTC instant: a plain date is the start of that day in the zone."""
    if isinstance(bound, datetime):
        return bound.astimezone(UTC)
    return day_start(bound, zone)


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    """The day an instant falls on in the zone."""
    return instant.astimezone(zone).date()


def epoch_seconds(instant: datetime) -> int:
    """Whole seconds since 1970-01-01T00:00:00Z (rounded down, as the databases' expressions do)."""
    return int((instant.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def _offset_seconds(epoch: int, zone: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _first_second_with(offset: int, low: int, high: int, zone: ZoneInfo) -> int:
    """The first epoch second in (low, high] whose offset is `offset`, given low's differs and high's is it."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_seconds(middle, zone) == offset:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True, slots=True)
class OffsetSegment:
    """From the previous segment's end (or the start of time) until `until` (epoch seconds, exclusive; None: no
    end), local time is UTC + `offset` seconds."""

    until: int | None
    offset: int


def day_number(epoch: int, segments: Sequence[OffsetSegment]) -> int:
    """The local day (days since 1970-01-01) of an epoch second, as the reports' SQL computes it."""
    offset = next(segment.offset for segment in segments if segment.until is None or epoch < segment.until)
    return (epoch + offset) // SECONDS_PER_DAY


def date_of_day_number(number: int) -> date:
    """The date of a local day number."""
    return EPOCH_DAY + timedelta(days=number)


@dataclass(frozen=True)
class Period:
    """A span of time [start, end) in UTC, reported day by day in the shop's time zone."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    days: list[date] = field(init=False)

    def __post_init__(self) -> None:
        days: list[date] = []
        if self.end > self.start:
            first = local_day(self.start, self.zone)
            last = local_day(self.end - timedelta(microseconds=1), self.zone)
            days = [first + timedelta(days=index) for index in range((last - first).days + 1)]
        object.__setattr__(self, "days", days)

    def offset_segments(self) -> list[OffsetSegment]:
        """The zone's UTC offsets over the period: one segment, or one more after each change of offset (daylight
        saving time), found to the second. At most one change per day is assumed, as in every zone in use."""
        first_epoch = epoch_seconds(self.start)
        last_epoch = max(first_epoch, epoch_seconds(self.end))
        checkpoints = [first_epoch]
        checkpoints += [epoch_seconds(day_start(day, self.zone)) for day in self.days[1:]]
        checkpoints.append(last_epoch)
        segments: list[OffsetSegment] = []
        current = _offset_seconds(first_epoch, self.zone)
        for low, high in pairwise(checkpoints):
            for edge_low, edge_high in ((low, max(low, high - 1)), (max(low, high - 1), high)):
                after = _offset_seconds(edge_high, self.zone)
                if after != current:
                    change = _first_second_with(after, edge_low, edge_high, self.zone)
                    segments.append(OffsetSegment(change, current))
                    current = after
        segments.append(OffsetSegment(None, current))
        return segments


def period_of(
    start: Bound | None,
    end: Bound | None,
    zone: ZoneInfo,
    *,
    earliest: datetime,
    latest: datetime,
) -> Period:
    """The period a report covers: [start, end), a missing bound being `earliest` (the start of its day) or
    `latest` (the end of its day). Bounds naming impossible dates, start ≥ end, or more than MAX_PERIOD_DAYS
    days are a PeriodError."""
    problems: dict[str, list[str]] = {}
    for name, bound in (("from", start), ("to", end)):
        if bound is None:
            continue
        day = bound.date() if isinstance(bound, datetime) else bound
        if not FIRST_DAY <= day <= LAST_DAY:
            problems[name] = [f"Must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."]
    if problems:
        raise PeriodError("The period's bounds are out of range.", problems)
    begin = instant_of(start, zone) if start is not None else day_start(local_day(earliest, zone), zone)
    if end is not None:
        finish = instant_of(end, zone)
    else:  # up to the end of the last day that has anything (today at least), never before `from`
        finish = day_start(local_day(max(latest, begin), zone) + timedelta(days=1), zone)
    if start is not None and end is not None and begin >= finish:
        raise PeriodError("`from` must come before `to`.", {"from": ["Must be before `to`."]})
    period = Period(begin, finish, zone)
    if len(period.days) > MAX_PERIOD_DAYS:
        message = f"A report covers at most {MAX_PERIOD_DAYS} days; ask for a shorter period."
        raise PeriodError(message, {"from": [message], "to": [message]})
    return period
