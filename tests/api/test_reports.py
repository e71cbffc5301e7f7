"""GET /api/v1/reports/summary: every figure against a hand-computed history, days in the shop's time zone (across
daylight saving time), all time, an empty shop, bad bounds, keys, another shop's data, and the real services."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from plugin.domain.reports import Period, day_start, local_day
from plugin.extensions import db
from plugin.models import Claim, Policy
from plugin.worker import Worker
from tests.claim_helpers import claim, shipped_order
from tests.conftest import bearer
from tests.report_helpers import DAY_FIELDS, EXPECTED, EXPECTED_ALERTS, PERIOD, History, hand_computed_history

SUMMARY = "/api/v1/reports/summary"


def report(client, shop, **query: str) -> dict:
    response = client.get(SUMMARY, query_string=query, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def set_zone(client, shop, zone: str | None) -> None:
    response = client.patch("/api/v1/settings", json={"shop": {"timezone": zone}}, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def test_every_figure_of_a_hand_computed_history(app, client, shop, new_shop):
    hand_computed_history(app, shop.shop.id)
    other = new_shop("Other Jade", "USD")
    hand_computed_history(app, other.shop.id)  # the same history in another shop: counted there, never here

    answer = report(client, shop, **PERIOD)

    for key, value in EXPECTED.items():
        assert answer[key] == value, key
    got = [(a["code"], a["metric"], a["value"], a["threshold"]) for a in answer["alerts"]]
    assert got == EXPECTED_ALERTS
    assert all(alert["message"] for alert in answer["alerts"])
    assert report(client, other, **PERIOD)["margin"] == EXPECTED["margin"]


def test_the_days_add_up_to_the_totals_over_all_time(app, client, shop):
    hand_computed_history(app, shop.shop.id)
    answer = report(client, shop)  # no bounds: all time
    today = datetime.now(UTC).date()
    assert answer["daily"][0]["date"] == "2026-02-20"  # the earliest record: a claim filed in February
    assert answer["daily"][-1]["date"] == max(today, datetime(2026, 3, 4).date()).isoformat()
    assert (
        len(answer["daily"])
        == (datetime.fromisoformat(answer["daily"][-1]["date"]).date() - datetime(2026, 2, 20).date()).days + 1
    )
    for key in DAY_FIELDS:
        assert sum(day[key] for day in answer["daily"]) == answer[key], key
    assert answer["orders"] == 7  # every succeeded payment, whenever
    assert answer["insurance_cost"] == 150 + 250 + 100 + 999
    assert answer["from"] == "2026-02-20T00:00:00Z"


def test_one_bound_alone(app, client, shop):
    hand_computed_history(app, shop.shop.id)
    since = report(client, shop, **{"from": "2026-03-03"})
    assert since["from"] == "2026-03-03T00:00:00Z"
    assert since["orders"] == 2  # 23:59:59 on the 3rd and midnight on the 4th
    until = report(client, shop, to="2026-03-02")
    assert until["to"] == "2026-03-02T00:00:00Z"
    assert until["orders"] == 3  # February's and the two of the 1st
    assert until["daily"][0]["date"] == "2026-02-20"


def test_days_follow_the_shop_time_zone_across_daylight_saving(app, client, shop):
    set_zone(client, shop, "America/New_York")  # clocks go forward at 02:00 on 8 March 2026, back on 1 November
    with app.app_context():
        h = History(shop.shop.id)
        h.payment("2026-03-08 04:59:59", 100)  # 7 March, 23:59:59 EST
        h.payment("2026-03-08 05:00:00", 200)  # 8 March, 00:00 EST
        h.payment("2026-03-09 03:59:59", 300)  # 8 March, 23:59:59 EDT: the day had 23 hours
        h.payment("2026-03-09 04:00:00", 400)  # 9 March, 00:00 EDT
        h.payment("2026-11-01 04:00:00", 500)  # 1 November, 00:00 EDT
        h.payment("2026-11-02 04:59:59", 600)  # 1 November, 23:59:59 EST: the day had 25 hours
        h.payment("2026-11-02 05:00:00", 700)  # 2 November, 00:00 EST
        h.save()

    spring = report(client, shop, **{"from": "2026-03-08", "to": "2026-03-09"})
    assert (spring["from"], spring["to"], spring["timezone"]) == (
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
        "America/New_York",
    )
    assert [(d["date"], d["orders"]) for d in spring["daily"]] == [("2026-03-08", 2)]
    assert spring["average_order_value"] == 250

    around = report(client, shop, **{"from": "2026-03-07", "to": "2026-03-10"})
    assert [(d["date"], d["orders"]) for d in around["daily"]] == [
        ("2026-03-07", 1),
        ("2026-03-08", 2),
        ("2026-03-09", 1),
    ]

    autumn = report(client, shop, **{"from": "2026-10-31", "to": "2026-11-03"})
    assert [(d["date"], d["orders"]) for d in autumn["daily"]] == [
        ("2026-10-31", 0),
        ("2026-11-01", 2),
        ("2026-11-02", 1),
    ]

    # The whole year at once: each payment still on its own local day (the offsets change inside the period).
    year = report(client, shop, **{"from": "2026-01-01", "to": "2027-01-01"})
    assert len(year["daily"]) == 365
    busy = {d["date"]: d["orders"] for d in year["daily"] if d["orders"]}
    assert busy == {"2026-03-07": 1, "2026-03-08": 2, "2026-03-09": 1, "2026-11-01": 2, "2026-11-02": 1}


def test_an_rfc3339_bound_is_an_instant_whatever_the_zone(app, client, shop):
    set_zone(client, shop, "Asia/Kathmandu")  # UTC+05:45
    with app.app_context():
        h = History(shop.shop.id)
        h.payment("2026-03-01 18:14:59", 100)  # 1 March, 23:59:59 local
        h.payment("2026-03-01 18:15:00", 200)  # 2 March, 00:00 local
        h.save()
    by_date = report(client, shop, **{"from": "2026-03-02", "to": "2026-03-03"})
    assert by_date["from"] == "2026-03-01T18:15:00Z" and by_date["orders"] == 1
    by_instant = report(client, shop, **{"from": "2026-03-01T18:00:00Z", "to": "2026-03-01T18:30:00+00:00"})
    assert by_instant["orders"] == 2
    assert [(d["date"], d["orders"]) for d in by_instant["daily"]] == [("2026-03-01", 1), ("2026-03-02", 1)]
    offset = report(client, shop, **{"from": "2026-03-02T00:00:00+05:45", "to": "2026-03-02T23:00:00.5+05:45"})
    assert offset["orders"] == 1 and offset["to"] == "2026-03-02T17:15:00.500000Z"


def test_an_empty_shop(client, shop):
    answer = report(client, shop, **PERIOD)
    assert answer["orders"] == answer["premium_collected"] == answer["margin"] == answer["claims_paid_amount"] == 0
    for ratio in (
        "attach_rate",
        "loss_ratio",
        "policy_bind_success_rate",
        "claim_rejection_rate",
        "protection_cost_share",
    ):
        assert answer[ratio] is None, ratio  # no denominator: no figure, which is not 0
    assert answer["average_order_value"] is None and answer["median_seconds_to_pay"] is None
    assert answer["alerts"] == []
    assert [day["date"] for day in answer["daily"]] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert all(day["orders"] == 0 and day["margin"] == 0 for day in answer["daily"])
    assert answer["coverages"]["shipping"]["loss_ratio"] is None
    all_time = report(client, shop)
    assert [day["date"] for day in all_time["daily"]] == [datetime.now(UTC).date().isoformat()]


def test_no_alert_on_the_targets_themselves(app, client, shop):
    with app.app_context():
        h = History(shop.shop.id)
        # 19 bought, 1 failed: exactly 95 %. Premium 300 on orders of 10,000: exactly 3 %.
        for index in range(19):
            h.policy(f"2026-03-01 10:{index:02d}", "bound", bound="2026-03-01 11:00", cost=10)
        h.policy("2026-03-01 12:00", "failed")
        h.protection(h.payment("2026-03-01 10:00", 10000, protected=True), "2026-03-01 10:00", 300, 300)
        h.save()
    answer = report(client, shop, **PERIOD)
    assert (answer["policy_bind_success_rate"], answer["protection_cost_share"]) == ("0.9500", "0.0300")
    assert answer["alerts"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-02-30"},
        {"from": "yesterday"},
        {"to": "2026-3-1"},
        {"from": "2026-03-01T00:00:00"},  # a time without its offset
        {"from": "2026-03-01T24:00:00Z"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2026-03-01", "to": "2026-03-01"},
        {"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T10:00:00+00:00"},
        {"from": "0001-01-01"},
        {"from": "1969-12-31"},
        {"to": "9999-12-31"},
        {"to": "9999-12-31T23:59:59-01:00"},
        {"from": "2000-01-01", "to": "2020-01-01"},  # longer than ten years
        {"period": "30d"},
        {"from": ""},
    ],
)
def test_bad_bounds_are_a_422_naming_the_field(client, shop, query):
    response = client.get(SUMMARY, query_string=query, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) & {"from", "to", "period"}, error


def test_keys(client, shop, new_shop):
    assert client.get(SUMMARY).status_code == 401
    assert client.get(SUMMARY, headers=bearer(shop.keys.publishable_key)).status_code == 403


def test_the_time_zone_setting(client, shop):
    response = client.patch(
        "/api/v1/settings", json={"shop": {"timezone": "Mars/Olympus_Mons"}}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 422
    assert "IANA" in response.get_json()["error"]["fields"]["shop.timezone"][0]
    for bad in ("localtime", "../../etc/passwd", 8, ""):
        answer = client.patch(
            "/api/v1/settings", json={"shop": {"timezone": bad}}, headers=bearer(shop.keys.secret_key)
        )
        assert answer.status_code == 422, bad
    set_zone(client, shop, "Asia/Shanghai")
    assert client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key)).get_json()["shop"] == {
        "timezone": "Asia/Shanghai"
    }
    assert report(client, shop, **PERIOD)["from"] == "2026-02-28T16:00:00Z"
    set_zone(client, shop, None)  # back to the default
    assert report(client, shop, **PERIOD)["timezone"] == "UTC"


def test_what_the_real_services_recorded(app, client, shop):
    """A protected order paid through Stripe's webhook, shipped, its policy bought by the worker, a claim paid by
    bank transfer and recovered from the sandbox insurer: the report adds up what those services stored."""
    protection = shipped_order(client, shop)
    assert Worker(app).drain().ok  # the parcel's policy is bought
    claim_id = claim(client, shop).get_json()["id"]
    paid = client.post(
        f"/api/v1/claims/{claim_id}/mark-paid", json={"method": "bank_transfer"}, headers=bearer(shop.keys.secret_key)
    )
    assert paid.status_code == 200, paid.get_json()
    assert Worker(app).drain().ok  # the claim is filed with the insurer
    later = datetime.now(UTC) + timedelta(hours=2)
    assert Worker(app, clock=lambda: later).drain().ok  # and found paid
    with app.app_context():
        [policy] = db.session.scalars(select(Policy)).all()
        [paid_claim] = db.session.scalars(select(Claim)).all()
        assert policy.status == "bound" and policy.cost_amount and paid_claim.recovery_status == "paid"
        cost, amount, recovered = policy.cost_amount, paid_claim.approved_amount, paid_claim.recovery_amount

    answer = report(client, shop)
    assert (answer["orders"], answer["protected_orders"], answer["attach_rate"]) == (1, 1, "1.0000")
    assert answer["premium_collected"] == protection["customer_price"] == 1000
    assert answer["insurance_cost"] == cost
    assert (answer["claims_filed"], answer["claims_paid"], answer["claims_paid_amount"]) == (1, 1, amount)
    assert answer["recovered_amount"] == recovered == amount
    assert answer["margin"] == 1000 - cost - amount + recovered
    assert answer["policy_bind_success_rate"] == "1.0000"
    assert (answer["claims_decided"], answer["claim_rejection_rate"]) == (1, "0.0000")
    assert 0 <= answer["median_seconds_to_decide"] <= 5 and 0 <= answer["median_seconds_to_pay"] <= 5
    assert answer["protection_cost_share"] == "0.0196"  # 1,000 / 51,000


def test_the_last_instant_of_a_day_stays_on_that_day(app, client, shop):
    with app.app_context():
        h = History(shop.shop.id)
        h.payment("2026-03-01 23:59:59.999900", 100)  # SQLite's own time functions would round it to the next day
        h.payment("2026-03-02 00:00:00", 200)
        h.save()
    answer = report(client, shop, **{"from": "2026-03-01", "to": "2026-03-03"})
    assert [(d["date"], d["orders"]) for d in answer["daily"]] == [("2026-03-01", 1), ("2026-03-02", 1)]
    assert answer["orders"] == 2


@pytest.mark.parametrize(
    "zone_name", ["Australia/Lord_Howe", "America/Santiago", "Africa/Casablanca", "Asia/Kathmandu"]
)
def test_the_database_puts_every_instant_on_its_local_day(app, client, shop, zone_name):
    """Around each change of offset and each local midnight of a year, the SQL day is Python's local date."""
    zone = ZoneInfo(zone_name)
    year = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), zone)
    changes = [datetime.fromtimestamp(s.until, UTC) for s in year.offset_segments() if s.until is not None]
    assert changes or zone_name == "Asia/Kathmandu", "the zone changes its offset in 2026"
    midnights = [day_start(day, zone) for day in year.days[::29]]
    nudges = (timedelta(seconds=-1), timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=500_000))
    instants = sorted({moment + nudge for moment in changes + midnights for nudge in nudges})
    set_zone(client, shop, zone_name)
    with app.app_context():
        h = History(shop.shop.id)
        for instant in instants:
            h.payment(instant.strftime("%Y-%m-%d %H:%M:%S.%f"), 100)
        h.save()
    answer = report(client, shop, **{"from": "2026-01-02", "to": "2026-12-31"})
    expected = Counter(
        local_day(i, zone).isoformat()
        for i in instants
        if day_start(date(2026, 1, 2), zone) <= i < day_start(date(2026, 12, 31), zone)
    )
    assert {d["date"]: d["orders"] for d in answer["daily"] if d["orders"]} == dict(expected)
