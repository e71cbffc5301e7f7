"""The dashboard in a real browser: signed in, under its Content-Security-Policy, in English and Chinese, at desktop
and phone width (screenshots in test-artifacts/)."""

from __future__ import annotations

import pytest

from tests.admin_helpers import PASSWORD, make_user
from tests.browser.test_pages_csp import csp_violations
from tests.report_helpers import hand_computed_history

CUSTOM = "?period=custom&from=2026-03-01&to=2026-03-03"


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("zh", 390)])
def test_the_dashboard_renders_without_script_and_fits_a_phone(app, shop, browser, live_server, artifacts, language,
                                                                width):  # fmt: skip
    hand_computed_history(app, shop.shop.id)
    user = make_user(app, shop.shop.id, "owner@jade.example")
    locale = "zh-CN" if language == "zh" else "en-US"
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    messages = csp_violations(page)
    try:
        page.goto(f"{live_server}/admin/login")
        page.fill("input[name=email]", user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/admin/")
        page.goto(f"{live_server}/admin/{CUSTOM}")
        margin = page.locator('[data-figure="margin"] .value')
        assert margin.inner_text() == ("-$28.00" if language == "en" else "-US$28.00")
        assert page.locator("#alerts li").count() == 2
        assert page.locator("figure.chart svg").count() == 3
        assert page.locator("figure.chart svg").first.bounding_box()["height"] > 100
        # Nothing wider than the screen but the charts, which scroll inside their own frame.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(artifacts / f"dashboard-{language}-{width}.png"), full_page=True)
        assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages
    finally:
        context.close()
