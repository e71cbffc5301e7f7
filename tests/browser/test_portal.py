"""The claim portal on a phone (390x844) in headless Chromium: find the order, file a damaged claim with a photo,
see the confirmation, open the status link, reply; in English and in Chinese, under the pages' CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_demo import PHONE, assert_no_sideways_scrolling
from tests.browser.test_pages_csp import csp_violations
from tests.claim_helpers import EMAIL, photo, shipped_order
from tests.conftest import bearer
from tests.i18n_helpers import zh


@pytest.fixture()
def phone_in(browser):
    """A phone-sized page whose browser speaks the given language (Accept-Language)."""
    contexts = []

    def open_page(locale: str):
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def file_a_damaged_claim(page, live_server: str, shop_id: str, language: str, artifacts) -> None:
    def t(message: str) -> str:
        return zh(message) if language == "zh" else message

    messages = csp_violations(page)
    page.goto(f"{live_server}/claims/{shop_id}")
    expect(page.locator("h1")).to_have_text(t("Report a problem with your order"))
    assert_no_sideways_scrolling(page)
    page.fill("#order_number", "#1001")
    page.fill("#email", EMAIL.upper())
    page.click("#find")
    page.wait_for_url("**/claim")
    page.check("input[name=type][value=damaged]")
    page.fill("#description", "花瓶碎成了三块。" if language == "zh" else "The vase arrived in three pieces.")
    page.set_input_files("#evidence", files=[{"name": "vase.jpg", "mimeType": "image/jpeg", "buffer": photo()}])
    assert_no_sideways_scrolling(page)
    page.screenshot(path=str(artifacts / f"portal-claim-{language}-390.png"), full_page=True)
    page.click("#submit")
    page.wait_for_url("**/filed")
    expect(page.locator("h1")).to_have_text(t("Thank you, we received your claim"))
    assert "clm_" in page.locator("#claim-number").inner_text()
    assert_no_sideways_scrolling(page)  # the long status link wraps
    page.screenshot(path=str(artifacts / f"portal-filed-{language}-390.png"), full_page=True)
    page.click("#open-status")
    page.wait_for_url("**/status/*")
    expect(page.locator("#claim-status")).to_have_text(t("Received: waiting for review"))
    expect(page.locator("#files-sent")).to_contain_text("vase.jpg")
    page.fill("#body", "谢谢！" if language == "zh" else "Thank you!")
    page.click("#reply button[type=submit]")
    page.wait_for_url("**/status/*")
    expect(page.locator(".notice")).to_have_text(t("Your message was sent."))
    expect(page.locator("#messages")).to_contain_text("谢谢！" if language == "zh" else "Thank you!")
    assert_no_sideways_scrolling(page)
    page.screenshot(path=str(artifacts / f"portal-status-{language}-390.png"), full_page=True)
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages


def test_a_shopper_files_a_claim_in_english_on_a_phone(app, client, shop, phone_in, live_server, artifacts):
    shipped_order(client, shop)
    patch = {"branding": {"accent_color": "#0f766e"}}
    assert client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key)).status_code == 200
    page = phone_in("en-US")
    file_a_damaged_claim(page, live_server, shop.shop.id, "en", artifacts)
    # The shop's accent colour reaches the buttons through the CSS custom property.
    colour = page.evaluate("() => getComputedStyle(document.querySelector('#reply button')).backgroundColor")
    assert colour == "rgb(15, 118, 110)"
    assert page.locator("html").get_attribute("lang") == "en"


def test_a_shopper_files_a_claim_in_chinese_on_a_phone(app, client, shop, phone_in, live_server, artifacts):
    shipped_order(client, shop)
    page = phone_in("zh-CN")
    file_a_damaged_claim(page, live_server, shop.shop.id, "zh", artifacts)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.click("#lang-en")  # the other language, chosen, and remembered on the next page
    expect(page.locator("#claim-status")).to_have_text("Received: waiting for review")
    page.goto(page.url.split("?")[0])
    expect(page.locator("#claim-status")).to_have_text("Received: waiting for review")
