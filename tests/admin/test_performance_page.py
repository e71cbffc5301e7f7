"""/admin/performance: the figures in plain words, each coverage's tiers with the one in force, the history of
changes; for owners and staff, in English and Chinese, and only the shop's own."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from plugin.models import utcnow
from plugin.services import performance
from plugin.services.shops import get_shop
from tests.admin_helpers import make_user, sign_in
from tests.conftest import bearer
from tests.performance_helpers import ON_TIME_TIERS, deliveries, returns

PAGE = "/admin/performance"


def set_tiers(client, shop) -> None:
    patch = {
        "pricing": {"performance_tiers": ON_TIME_TIERS},
        "coverage": {"returns": {"pricing": {"performance_tiers": [
            {"metric": "return_rate", "below": "0.1", "rate": "0.005"}]}}},
    }  # fmt: skip
    assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200


def in_force(page: str, coverage: str) -> list[str]:
    section = page.split(f'id="coverage-{coverage}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<tr data-tier="(\d+)" class="in-force"', section)


def test_below_fifty_deliveries_the_page_says_so_and_no_tier_is_in_force(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient, staff_client: FlaskClient
) -> None:
    set_tiers(client, shop)
    with app.app_context():
        deliveries(shop.shop.id, utcnow(), 37)
    for signed_in in (owner_client, staff_client):
        answer = signed_in.get(PAGE)
        assert answer.status_code == 200
        page = answer.get_data(as_text=True)
        assert "Tiers apply from 50 delivered parcels in 30 days; you have 37" in page
        assert in_force(page, "shipping") == [] and in_force(page, "returns") == []
        assert "Rate in force: 2 % (your own rate)." in page
        assert 'href="/admin/performance"' in page  # in the navigation
    assert "Change these rates" in owner_client.get(PAGE).get_data(as_text=True)
    assert "Change these rates" not in staff_client.get(PAGE).get_data(as_text=True)


def test_the_tier_in_force_is_highlighted_and_changes_are_listed(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    set_tiers(client, shop)
    now = utcnow()
    with app.app_context():
        deliveries(shop.shop.id, now, 49)
        deliveries(shop.shop.id, now, 2, late=True)  # 49 of 51: 96.08 %, below 98 %
        returns(shop.shop.id, now, 3)
        performance.refresh_shop(get_shop(shop.shop.id), now - timedelta(hours=1))
    page = owner_client.get(PAGE).get_data(as_text=True)
    assert "you have 51, so they apply" in page
    assert in_force(page, "shipping") == ["1"]
    assert in_force(page, "returns") == ["0"]
    assert "Rate in force: 1.2 % (row 2)." in page
    assert "On-time deliveries at least 98 %" in page and "On-time deliveries below 98 %" in page
    assert re.search(
        r'data-figure="on_time_rate">\s*<div class="label">On time</div>\s*<div class="value">96.08 %', page
    )
    history = page.split('id="history"', 1)[1]
    assert history.count("<tr data-change=") == 2
    assert "your own rate</td><td>row 2</td>" in history
    assert "96.08 %" in history
    chinese = owner_client.get(PAGE, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "生效费率" in chinese


def test_the_page_shows_only_the_shops_own_figures(app: Flask, client: FlaskClient, shop, new_shop) -> None:
    other = new_shop("Other")
    with app.app_context():
        deliveries(other.shop.id, utcnow(), 70)
        performance.refresh_shop(get_shop(other.shop.id), utcnow())
        user = make_user(app, shop.shop.id, "owner@jade.example", "owner")
    signed_in = app.test_client()
    assert sign_in(signed_in, user).status_code == 302
    page = signed_in.get(PAGE).get_data(as_text=True)
    assert "you have 0" in page
    assert "No change yet." in page
