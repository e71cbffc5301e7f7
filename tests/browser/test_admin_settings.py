"""The settings page in a real browser: sign in, change the rate, see the price table follow before saving, save."""

from __future__ import annotations

import re

from flask import Flask

from plugin.extensions import db
from plugin.models import AuditEntry, Shop
from plugin.services.settings import effective_settings
from tests.admin_helpers import PASSWORD, make_user


def _sign_in(page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/?$"))


def _cell(page, value: int, column: int) -> str:
    return page.locator(f"#price-table tbody tr[data-value='{value}'] td").nth(column).inner_text()


def test_an_owner_changes_the_rate_sees_the_prices_follow_then_saves(
    app: Flask, shop, page, live_server, artifacts
) -> None:
    owner = make_user(app, shop.shop.id, "owner@jade.example", "owner")
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    _sign_in(page, live_server, owner.email)
    page.goto(f"{live_server}/admin/settings")

    # $100.00 at the default 2 %: a $2.00 premium, all paid by the shopper.
    assert _cell(page, 10000, 1) == "$2.00"
    rate = page.locator("[name='pricing.rate']")
    assert rate.input_value() == "2"
    rate.fill("3.5")
    page.locator("[name='pricing.merchant_share']").fill("40")
    # Before saving: the table follows the draft (3.5 % of $100.00 = $3.50; the shop pays 40 % of it, $1.40).
    page.wait_for_function(
        "() => document.querySelector(\"#price-table tr[data-value='10000'] td:nth-child(2)\").textContent === '$3.50'"
    )
    assert _cell(page, 10000, 2) == "$2.10"
    assert _cell(page, 10000, 3) == "$1.40"
    assert page.locator("#widget-preview-en .sp-price").inner_text() == "$2.10"
    with app.app_context():
        saved = db.session.get(Shop, shop.shop.id)
        assert saved is not None
        assert effective_settings(saved)["pricing"]["rate"] == "0.02"  # nothing saved yet
        assert db.session.query(AuditEntry).count() == 0
    page.screenshot(path=str(artifacts / "admin-settings-preview.png"), full_page=True)

    page.click("#save")
    page.wait_for_url(re.compile(r".*/admin/settings$"))
    assert "Saved" in page.locator("main .notice").first.inner_text()
    assert page.locator("[name='pricing.rate']").input_value() == "3.5"
    assert _cell(page, 10000, 1) == "$3.50"
    with app.app_context():
        saved = db.session.get(Shop, shop.shop.id)
        assert saved is not None
        pricing = effective_settings(saved)["pricing"]
        assert (pricing["rate"], pricing["merchant_share"]) == ("0.035", "0.4")
        entry = db.session.query(AuditEntry).one()
        assert entry.after == {"pricing": {"rate": "0.035", "merchant_share": "0.4"}}
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages

    # Then the dashboard, in English and, once the owner picks 中文 in the header, in Chinese.
    page.goto(f"{live_server}/admin/")
    assert page.locator("h1").first.inner_text() == "Dashboard"
    page.screenshot(path=str(artifacts / "admin-dashboard-en.png"), full_page=True)
    page.click("#lang-zh")
    page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'")
    assert page.locator("h1").first.inner_text() == "概览"
    assert page.locator("svg").count() >= 1  # the charts are there without any script of theirs
    page.screenshot(path=str(artifacts / "admin-dashboard-zh.png"), full_page=True)
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages


def test_a_bad_rate_is_said_next_to_it_while_typing(app: Flask, shop, page, live_server) -> None:
    owner = make_user(app, shop.shop.id, "owner@jade.example", "owner")
    _sign_in(page, live_server, owner.email)
    page.goto(f"{live_server}/admin/settings")
    page.locator("[name='pricing.rate']").fill("250")
    error = page.locator("[data-error-for='pricing.rate']")
    error.wait_for(state="visible")
    assert "percentage from 0 to 100" in error.inner_text()
    assert page.locator("#price-table tbody tr").count() == 0  # no prices from settings that cannot be saved
