"""<shipping-protection-badge> in headless Chromium: the demo store's badge in English and Chinese, at phone width,
in an open shadow root with a real terms link, nothing when the API is down, and texts that follow the settings."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import bearer

ITEMS = "shipping-protection-badge li"
LINK = "shipping-protection-badge a"


def badge_state(page) -> dict:
    return page.evaluate(
        """() => { const host = document.querySelector('shipping-protection-badge');
        const root = host.shadowRoot; const list = root && root.querySelector('ul');
        return {open: root !== null, nodes: root ? root.childNodes.length : -1,
                label: list ? list.getAttribute('aria-label') : null,
                items: root ? [...root.querySelectorAll('li')].map(li => li.textContent) : [],
                width: host.getBoundingClientRect().width, right: host.getBoundingClientRect().right,
                listRight: list ? list.getBoundingClientRect().right : 0}; }"""
    )


def set_coverages(app, secret: str, **coverage) -> None:
    response = app.test_client().patch("/api/v1/settings", json={"coverage": coverage}, headers=bearer(secret))
    assert response.status_code == 200, response.get_json()


def test_the_badge_in_english_with_a_link_to_the_terms(page, live_server, demo):
    page.goto(f"{live_server}/demo")
    expect(page.locator(ITEMS)).to_have_text(["Insured shipping"])
    state = badge_state(page)
    assert state["open"] and state["label"] == "Shopping protections"
    link = page.locator(LINK)
    assert link.inner_text() == "Terms" and link.get_attribute("href") == f"{live_server}/terms/{demo[0]}"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.get_by_role("list", name="Shopping protections").is_visible()
    assert page.get_by_role("link", name="Terms").count() >= 1


def test_the_badge_in_chinese_from_the_page_and_from_data_locale(app, page, live_server, demo):
    set_coverages(app, demo[2], returns={"enabled": True, "payout_ratio": "1", "max_payout": None})
    page.goto(f"{live_server}/demo?lang=zh-CN")
    expect(page.locator(ITEMS)).to_have_text(["运输保障", "免费退货"])
    assert badge_state(page)["label"] == "购物保障" and page.locator(LINK).inner_text() == "条款"
    page.evaluate("document.querySelector('shipping-protection-badge').setAttribute('data-locale', 'en')")
    expect(page.locator(ITEMS)).to_have_text(["Insured shipping", "Free returns"])


def test_at_phone_width_it_fits_the_screen(page, live_server, demo, artifacts):
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(f"{live_server}/demo?lang=zh-CN")
    expect(page.locator(ITEMS)).to_have_text(["运输保障"])
    state = badge_state(page)
    assert 0 < state["width"] <= 375 and state["right"] <= 375 and state["listRight"] <= 375
    assert page.locator(LINK).is_visible()
    page.locator("shipping-protection-badge").screenshot(path=str(artifacts / "badge-phone.png"))


def test_the_api_being_down_renders_nothing_and_throws_nothing(page, live_server, demo):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.route("**/api/v1/badge*", lambda route: route.abort())
    page.goto(f"{live_server}/demo")
    page.locator("shipping-protection .price").wait_for()  # the offer still works
    page.wait_for_timeout(300)
    state = badge_state(page)
    assert state["open"] and state["nodes"] == 0 and state["width"] == 0
    assert errors == []


def test_an_error_answer_renders_nothing(page, live_server, demo):
    page.route("**/api/v1/badge*", lambda route: route.fulfill(status=500, json={"error": {"code": "x"}}))
    page.goto(f"{live_server}/demo")
    page.locator("shipping-protection .price").wait_for()
    page.wait_for_timeout(300)
    assert badge_state(page)["nodes"] == 0


def test_the_texts_follow_the_settings(app, browser, live_server, demo):
    def shown() -> list[str]:
        context = browser.new_context()  # a fresh browser cache: the answer is cacheable for five minutes
        try:
            page = context.new_page()
            with page.expect_response("**/api/v1/badge*"):
                page.goto(f"{live_server}/demo")
            page.wait_for_timeout(200)  # the answer is rendered right after it is read
            return page.locator(ITEMS).all_inner_texts()
        finally:
            context.close()

    assert shown() == ["Insured shipping"]
    set_coverages(app, demo[2], returns={"enabled": True, "payout_ratio": "0.5", "max_payout": None})
    assert shown() == ["Insured shipping", "Return shipping covered"]
    set_coverages(app, demo[2], shipping={"enabled": False}, returns={"payout_ratio": "1"})
    assert shown() == ["Free returns"]
    set_coverages(app, demo[2], returns={"enabled": False})
    assert shown() == []


def test_the_badge_holds_no_words_of_its_own(page, live_server):
    source = page.request.get(f"{live_server}/static/widget/shipping-protection.js").text()
    for words in ("Insured shipping", "Free returns", "Return shipping covered", "Shopping protections"):
        assert words not in source
    assert not re.search(r"[\u4e00-\u9fff]", source) and "innerHTML" not in source.replace("never innerHTML", "")
