"""The pages still work in a real browser under their Content-Security-Policy."""

from __future__ import annotations

from tests.browser.test_widget import PRICE


def csp_violations(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    return messages


def test_swagger_ui_renders_the_api(page, live_server):
    messages = csp_violations(page)
    response = page.goto(f"{live_server}/api/docs")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for()  # the operations, read from /api/openapi.json
    assert page.locator(".opblock").count() > 5
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages


def test_the_demo_store_and_its_widget(page, live_server, demo):
    messages = csp_violations(page)
    response = page.goto(f"{live_server}/demo")
    assert "content-security-policy" in response.headers
    page.locator(PRICE).wait_for()
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m], messages
