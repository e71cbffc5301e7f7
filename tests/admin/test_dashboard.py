"""The dashboard (/admin/): the hand-computed history's figures, the same as the API's, in English and Chinese;
the alerts; what waits; the charts (SVG, no script); the period chooser; the shop's time zone; bad periods;
another shop's data."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for

from tests.admin_helpers import make_user, sign_in
from tests.conftest import bearer
from tests.report_helpers import EXPECTED, PERIOD, History, hand_computed_history
from tests.stripe_helpers import protected_order

# The custom period of the hand-computed history: 1 to 3 March, the last day included.
CUSTOM = {"period": "custom", "from": "2026-03-01", "to": "2026-03-03"}
_CARD = re.compile(r'data-(?:figure|waiting)="(\w+)">.*?<div class="value[^"]*">(.*?)</div>', re.DOTALL)


def cards(page: str) -> dict[str, str]:
    """Each figure's card on the page: its name (the API's field) and the text shown."""
    return {name: html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for name, value in _CARD.findall(page)}


def get(client, **query: str):
    return client.get("/admin/", query_string=query)


# What the page shows for the hand-computed history (EXPECTED in tests/report_helpers.py), in English.
SHOWN_EN = {
    "orders": "5",
    "protected_orders": "3",
    "attach_rate": "60.00%",
    "average_order_value": "$505.00",
    "premium_collected": "$29.00",
    "merchant_contribution": "$3.00",
    "insurance_cost": "$5.00",
    "claims_paid_amount": "$92.00",
    "recovered_amount": "$40.00",
    "margin": "-$28.00",
    "loss_ratio": "317.24%",
    "policy_bind_success_rate": "80.00%",
    "claim_rejection_rate": "20.00%",
    "protection_cost_share": "3.17%",
    "claims_filed": "6",
    "claims_paid": "3",
    "median_seconds_to_decide": "1 hour",
    "median_seconds_to_pay": "1 day",
    "claims_to_decide": "1",
    "failed_policies": "1",
    "failed_jobs": "1",
}


def test_the_figures_of_the_hand_computed_history(app, client, owner_client, shop, new_shop):
    hand_computed_history(app, shop.shop.id)
    hand_computed_history(app, new_shop("Other Jade").shop.id)  # never counted here
    page = get(owner_client, **CUSTOM)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert cards(text) == SHOWN_EN
    assert "Mar 1, 2026 to Mar 3, 2026 (UTC)" in text
    # Both alerts, prominently, and their cards marked.
    alerts = text.split('id="alerts"', 1)[1].split("</div>", 1)[0]
    assert "Policy purchase success is 80.00%, below the 95% target" in alerts
    assert "Protection costs 3.17% of the average order, above the 3% target" in alerts
    assert 'class="card alerted" data-figure="policy_bind_success_rate"' in text
    assert 'class="card alerted" data-figure="protection_cost_share"' in text
    assert 'class="card alerted" data-figure="margin"' in text  # a loss
    assert 'class="card alerted" data-figure="loss_ratio"' not in text


def test_the_page_and_the_api_show_the_same_figures(app, client, owner_client, shop):
    hand_computed_history(app, shop.shop.id)
    answer = client.get("/api/v1/reports/summary", query_string=PERIOD, headers=bearer(shop.keys.secret_key)).get_json()
    assert {key: answer[key] for key in EXPECTED} == EXPECTED
    shown = cards(get(owner_client, **CUSTOM).get_data(as_text=True))

    def dollars(minor: int) -> str:
        return f"{'-' if minor < 0 else ''}${abs(minor) / 100:,.2f}"

    def percent(rate: str) -> str:
        return f"{float(rate) * 100:.2f}%"

    for key in ("orders", "protected_orders", "claims_filed", "claims_paid"):
        assert shown[key] == str(answer[key]), key
    for key in ("premium_collected", "merchant_contribution", "insurance_cost", "claims_paid_amount",
                "recovered_amount", "margin", "average_order_value"):  # fmt: skip
        assert shown[key] == dollars(answer[key]), key
    for key in ("attach_rate", "loss_ratio", "policy_bind_success_rate", "claim_rejection_rate",
                "protection_cost_share"):  # fmt: skip
        assert shown[key] == percent(answer[key]), key


def test_the_daily_table_and_the_charts(app, owner_client, shop):
    hand_computed_history(app, shop.shop.id)
    text = get(owner_client, **CUSTOM).get_data(as_text=True)
    assert text.count("<svg") == 3
    assert "<script" not in text and "<?xml" not in text  # readable without JavaScript; no inline script for the CSP
    for title in ("Orders and protected orders", "Premium, insurance cost and claims paid", "Margin"):
        assert title in text
    table = text.split('<details class="daily">', 1)[1]
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", table, re.DOTALL)
    assert [day for day, _ in rows] == ["Mar 1, 2026", "Mar 2, 2026", "Mar 3, 2026"]
    margins = [re.findall(r'<td class="num">(.*?)</td>', cells)[-1] for _, cells in rows]
    assert margins == ["$26.50", "-$12.50", "-$42.00"]  # EXPECTED's daily margins


def test_in_chinese(app, owner_client, shop):
    hand_computed_history(app, shop.shop.id)
    text = owner_client.get("/admin/", query_string=CUSTOM, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    shown = cards(text)
    assert shown["average_order_value"] == "US$505.00"
    assert shown["margin"] == "-US$28.00"
    assert shown["attach_rate"] == "60.00%"
    assert "利润" in text and "保单购买成功率为 80.00%" in text


def test_waiting_links_to_the_pages_that_exist(app, owner_client, shop):
    with app.app_context():
        h = History(shop.shop.id)
        h.claim("2026-03-01 10:00", "submitted")
        h.claim("2026-03-01 11:00", "needs_review")
        h.claim("2026-03-01 12:00", "denied", decided_at="2026-03-01 13:00")
        h.policy("2026-03-01 10:00", "failed")
        h.failed_job()
        h.failed_job()
        h.save()
    text = get(owner_client).get_data(as_text=True)
    shown = cards(text)
    assert (shown["claims_to_decide"], shown["failed_policies"], shown["failed_jobs"]) == ("2", "1", "2")
    with app.test_request_context():
        for figure, endpoint in (("claims_to_decide", "admin.claims"), ("failed_policies", "admin.shipments"),
                                 ("failed_jobs", "admin.jobs")):  # fmt: skip
            card = text.split(f'data-waiting="{figure}"', 1)[1].split("</div>\n  </div>", 1)[0]
            if endpoint in app.view_functions:
                assert f'href="{url_for(endpoint)}"' in card
            else:
                assert "href" not in card


@pytest.mark.parametrize(("period", "days"), [("7d", 7), ("30d", 30), ("90d", 90)])
def test_the_presets_end_today(app, client, owner_client, shop, period, days):
    protected_order(client, shop)  # paid now, through the real webhook
    text = get(owner_client, period=period).get_data(as_text=True)
    assert cards(text)["orders"] == "1" and cards(text)["protected_orders"] == "1"
    rows = re.findall(r"<tr><td>", text.split('<details class="daily">', 1)[1])
    assert len(rows) == days
    assert 'aria-current="page">' in text


def test_the_default_is_the_last_30_days_and_this_month_starts_on_the_first(owner_client):
    text = get(owner_client).get_data(as_text=True)
    today = datetime.now(UTC).date()
    assert f'name="from" value="{(today - timedelta(days=29)).isoformat()}"' in text
    assert f'name="to" value="{today.isoformat()}"' in text
    month = get(owner_client, period="month").get_data(as_text=True)
    assert f'name="from" value="{today.replace(day=1).isoformat()}"' in month
    assert len(re.findall(r"<tr><td>", month.split('<details class="daily">', 1)[1])) == today.day


def test_days_are_the_shop_time_zone(app, client, owner_client, shop):
    patch = {"shop": {"timezone": "Asia/Shanghai"}}
    assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200
    with app.app_context():
        h = History(shop.shop.id)
        h.payment("2026-03-01 15:59:59", 100)  # 1 March, 23:59:59 in Shanghai
        h.payment("2026-03-01 16:00:00", 200)  # 2 March, 00:00
        h.save()
    text = get(owner_client, period="custom", **{"from": "2026-03-02", "to": "2026-03-02"}).get_data(as_text=True)
    assert cards(text)["orders"] == "1"
    assert "(Asia/Shanghai)" in text


@pytest.mark.parametrize(
    "query",
    [
        {"period": "forever"},
        {"period": "custom", "from": "2026-13-01", "to": "2026-12-01"},
        {"period": "custom", "from": "2026-03-05", "to": "2026-03-01"},
        {"period": "custom", "from": "1900-01-01", "to": "1900-01-02"},
        {"period": "custom", "from": "2000-01-01", "to": "2030-01-01"},
        {"from": "<script>", "to": "x"},
    ],
)
def test_a_period_that_cannot_be_shown_is_a_400_page(owner_client, query):
    page = get(owner_client, **query)
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'class="error" role="alert"' in text and "<script>" not in text
    assert 'data-waiting="failed_jobs"' in text  # what waits is still shown


def test_staff_see_the_dashboard_and_another_shop_sees_only_its_own(app, staff_client, shop, new_shop):
    hand_computed_history(app, shop.shop.id)
    assert cards(get(staff_client, **CUSTOM).get_data(as_text=True))["margin"] == "-$28.00"
    other = new_shop("Other Jade")
    other_client = app.test_client()
    assert sign_in(other_client, make_user(app, other.shop.id, "owner@other.example")).status_code == 302
    shown = cards(get(other_client, **CUSTOM).get_data(as_text=True))
    assert (shown["orders"], shown["margin"], shown["failed_jobs"]) == ("0", "$0.00", "0")
