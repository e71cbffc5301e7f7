"""The reports' arithmetic: ratios and their rounding, medians, margin, alerts, and local days across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.domain.reports import (
    BIND_SUCCESS_ALERT,
    COST_SHARE_ALERT,
    MAX_PERIOD_DAYS,
    Outcomes,
    Period,
    PeriodError,
    Tally,
    alerts,
    date_of_day_number,
    day_number,
    epoch_seconds,
    local_day,
    margin,
    median,
    median_of_window,
    median_window,
    period_of,
    ratio,
    ratio_text,
    rounded_division,
    total,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Zones with daylight saving time (north and south), half- and quarter-hour offsets, a 30-minute DST shift
# (Lord Howe), and Casablanca's two changes a year around Ramadan.
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Paris",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Chatham",
    "America/Santiago",
    "Africa/Casablanca",
    "Asia/Shanghai",
]


def test_ratios_are_rounded_once_half_up_to_four_places():
    assert ratio(2, 3) == Decimal("0.6667")
    assert ratio(1, 8) == Decimal("0.1250")
    assert ratio(1, 20000) == Decimal("0.0001")  # 0.00005: a tie, rounded up
    assert ratio(1, 20001) == Decimal("0.0000")
    assert ratio(9200, 2900) == Decimal("3.1724")
    assert ratio(0, 7) == Decimal("0.0000")
    assert ratio(5, 0) is None
    assert ratio_text(ratio(19, 20)) == "0.9500" and ratio_text(None) is None
    assert ratio_text(ratio(10**17, 3)) == "33333333333333333.3333"  # exact however large


def test_averages_round_half_up():
    assert rounded_division(5, 2) == 3
    assert rounded_division(7, 2) == 4
    assert rounded_division(4, 3) == 1
    assert rounded_division(-5, 2) == -3
    assert rounded_division(1, 0) is None


def test_medians():
    assert median([]) is None
    assert median([7]) == 7
    assert median([3, 1, 2]) == 2
    assert median([1, 2]) == 2  # 1.5, half up
    assert median([4, 1, 3, 2]) == 3  # 2.5
    assert median([0, 1800, 3600, 86400, 86400]) == 3600
    assert median_window(0) == (0, 0) and median_of_window([]) is None
    assert median_window(5) == (2, 1) and median_window(6) == (2, 2)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.integers(min_value=0, max_value=10**7), max_size=25))
def test_the_median_window_reads_the_middle_of_the_sorted_values(values):
    ordered = sorted(values)
    offset, size = median_window(len(ordered))
    middle = ordered[offset : offset + size]
    assert median_of_window(middle) == median(values)
    if values:
        low, high = ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2]
        assert median(values) == rounded_division(low + high, 2)


def test_margin_leaves_the_merchant_contribution_out():
    assert margin(premium_collected=2900, insurance_cost=500, claims_paid_amount=9200, recovered_amount=4000) == -2800
    tally = Tally(premium_collected=2900, merchant_contribution=300, insurance_cost=500, claims_paid_amount=9200,
                  recovered_amount=4000)  # fmt: skip
    assert tally.margin == -2800
    assert tally.loss_ratio == Decimal("3.1724")


def test_tallies_add_up_field_by_field():
    day1 = Tally(orders=2, protected_orders=2, priced_orders=2, order_amount=152000, protections=2, premium=3200,
                 premium_collected=2900, insurance_cost=250, claims_filed=1)  # fmt: skip
    day2 = Tally(orders=3, protected_orders=1, priced_orders=2, order_amount=50000, insurance_cost=250,
                 claims_paid=1, claims_paid_amount=5000, recovered_amount=4000)  # fmt: skip
    both = total([day1, day2])
    assert both == day1 + day2
    assert (both.orders, both.order_amount, both.insurance_cost, both.margin) == (5, 202000, 500, 2900 - 500 - 1000)
    assert both.attach_rate == Decimal("0.6000")
    assert both.average_order_value == 50500
    assert both.average_premium == 1600
    assert both.protection_cost_share == Decimal("0.0317")  # 1,600 / 50,500
    assert total([]) == Tally()
    assert Tally().attach_rate is None and Tally().protection_cost_share is None and Tally().loss_ratio is None


def test_the_cost_share_is_computed_before_any_average_is_rounded():
    # Premiums 1 + 2 over 2 protections (1.5), orders 3 + 4 over 2 (3.5): 1.5 / 3.5 = 0.428571…
    tally = Tally(protections=2, premium=3, priced_orders=2, order_amount=7)
    assert tally.protection_cost_share == Decimal("0.4286")
    assert (tally.average_premium, tally.average_order_value) == (2, 4)  # rounded for display only


def test_outcome_rates():
    outcomes = Outcomes(policies_bound=19, policies_failed=1, claims_decided=5, claims_denied=1)
    assert outcomes.policy_bind_success_rate == Decimal("0.9500")
    assert outcomes.claim_rejection_rate == Decimal("0.2000")
    assert Outcomes().policy_bind_success_rate is None and Outcomes().claim_rejection_rate is None


@pytest.mark.parametrize(
    ("bind", "share", "codes"),
    [
        (Decimal("0.9500"), Decimal("0.0300"), []),
        (Decimal("0.9499"), Decimal("0.0300"), [BIND_SUCCESS_ALERT]),
        (Decimal("0.9500"), Decimal("0.0301"), [COST_SHARE_ALERT]),
        (Decimal("0.5000"), Decimal("0.2000"), [BIND_SUCCESS_ALERT, COST_SHARE_ALERT]),
        (None, None, []),  # no data: nothing to alert about
        (Decimal("0"), None, [BIND_SUCCESS_ALERT]),
    ],
)
def test_alerts(bind, share, codes):
    found = alerts(bind, share)
    assert [alert.code for alert in found] == codes
    for alert in found:
        assert alert.message and alert.threshold in (Decimal("0.95"), Decimal("0.03"))


def test_days_of_a_period_in_a_zone_with_daylight_saving():
    zone = ZoneInfo("Europe/Paris")
    period = period_of(date(2026, 3, 28), date(2026, 3, 31), zone, earliest=NOW, latest=NOW)
    assert period.start == datetime(2026, 3, 27, 23, 0, tzinfo=UTC)  # midnight, UTC+1
    assert period.end == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)  # midnight, UTC+2
    assert period.days == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    [before, after] = period.offset_segments()
    assert (before.offset, after.offset, after.until) == (3600, 7200, None)
    assert before.until == epoch_seconds(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))  # 02:00 becomes 03:00


def test_a_utc_period_has_one_segment():
    period = period_of(date(2026, 1, 1), date(2027, 1, 1), ZoneInfo("UTC"), earliest=NOW, latest=NOW)
    assert len(period.days) == 365
    assert [(s.until, s.offset) for s in period.offset_segments()] == [(None, 0)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone_name=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)),
    length=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=800)),
    fractions=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=20),
)
def test_the_sql_day_arithmetic_agrees_with_the_zone(zone_name, start, length, fractions):
    """day_number (what the database computes from epoch seconds and the segments) is the instant's local date."""
    zone = ZoneInfo(zone_name)
    begin = start.replace(tzinfo=UTC)
    period = Period(begin, begin + length, zone)
    segments = period.offset_segments()
    instants = [begin, period.end - timedelta(seconds=1)]
    instants += [begin + timedelta(seconds=int(length.total_seconds() * f)) for f in fractions]
    instants += [datetime.fromtimestamp(s.until, UTC) + timedelta(seconds=d) for s in segments[:-1] for d in (-1, 0)]
    for instant in instants:
        if begin <= instant < period.end:
            number = day_number(epoch_seconds(instant), segments)
            assert date_of_day_number(number) == local_day(instant, zone), instant
            assert date_of_day_number(number) in period.days


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone_name=st.sampled_from(ZONES),
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 1, 1)),
    length=st.integers(min_value=1, max_value=400),
)
def test_every_day_of_a_period_of_dates_is_listed_once(zone_name, first, length):
    zone = ZoneInfo(zone_name)
    period = period_of(first, first + timedelta(days=length), zone, earliest=NOW, latest=NOW)
    assert period.days == [first + timedelta(days=n) for n in range(length)]
    assert local_day(period.start, zone) == first
    assert local_day(period.end, zone) == first + timedelta(days=length)


def test_missing_bounds_reach_the_first_and_last_records():
    zone = ZoneInfo("Asia/Shanghai")
    earliest, latest = datetime(2026, 2, 20, 20, 0, tzinfo=UTC), datetime(2026, 3, 4, 1, 0, tzinfo=UTC)
    period = period_of(None, None, zone, earliest=earliest, latest=latest)
    assert period.days[0] == date(2026, 2, 21)  # 04:00 on the 21st in Shanghai
    assert period.days[-1] == date(2026, 3, 4)
    assert period.start == datetime(2026, 2, 20, 16, 0, tzinfo=UTC)
    # `from` after everything, `to` missing: a day, not an error.
    late = period_of(date(2027, 1, 1), None, zone, earliest=earliest, latest=latest)
    assert late.days == [date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("start", "end", "fields"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), {"from"}),
        (date(2026, 3, 1), date(2026, 3, 1), {"from"}),
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), date(2026, 3, 1), {"from"}),
        (date(1969, 12, 31), None, {"from"}),
        (None, date(9999, 12, 31), {"to"}),
        (date(2000, 1, 1), date(2000, 1, 1) + timedelta(days=MAX_PERIOD_DAYS + 1), {"from", "to"}),
    ],
)
def test_periods_that_cannot_be_reported(start, end, fields):
    with pytest.raises(PeriodError) as caught:
        period_of(start, end, ZoneInfo("UTC"), earliest=NOW, latest=NOW)
    assert set(caught.value.fields) == fields


def test_the_longest_period_allowed():
    period = period_of(date(2000, 1, 1), date(2000, 1, 1) + timedelta(days=MAX_PERIOD_DAYS), ZoneInfo("UTC"),
                       earliest=NOW, latest=NOW)  # fmt: skip
    assert len(period.days) == MAX_PERIOD_DAYS
