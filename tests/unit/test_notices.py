"""The email catalogue and the webhook signature, pure."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from plugin.domain.notices import _CATALOGUE, LOCALES, Notice, format_amount, locale_of, render
from plugin.domain.webhooks import signature_header, subscribed, verify

PARAMS = {
    "shop": "Jade\nHouse\r\nBcc: x@y",
    "claim": "clm_1",
    "order": "1001",
    "type": "lost",
    "amount": "5.00 USD",
    "reason": "Signed for at the door.",
    "replacement": "1002",
    "message": "Hi",
    "flags": "",
    "shipment": "ful_1",
    "carrier": "UPS",
    "tracking": "1Z",
    "since": "2026-11-01",
    "shipped": "2026-10-30",
    "grace": "2",
    "email": "owner@shop.example",
    "link": "https://shop.example/admin/reset/t",
}


@pytest.mark.parametrize("notice", list(Notice))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_notice_renders_in_both_languages_with_a_one_line_subject(notice: Notice, locale: str) -> None:
    subject, body = render(notice, locale, PARAMS, link="https://shop.example/x")
    assert subject and "\n" not in subject and "\r" not in subject
    assert "{" not in subject + body and body.endswith("\n")
    merchant = notice.value.startswith(("merchant_", "admin_"))  # their links are in the body, not appended
    assert ("https://shop.example/x" in body) is not merchant


def test_the_languages_differ_and_unknown_ones_read_english() -> None:
    en = render(Notice.CLAIM_DENIED, "en", PARAMS)
    zh = render(Notice.CLAIM_DENIED, "zh", PARAMS)
    assert en[0] == "Your claim clm_1 was not approved" and zh[0] == "您的理赔申请 clm_1 未获通过"
    assert "Signed for at the door." in en[1] and "Signed for at the door." in zh[1]
    assert render(Notice.CLAIM_DENIED, "fr", PARAMS) == en
    assert (locale_of("zh-CN"), locale_of("ZH_tw"), locale_of(None), locale_of("de")) == ("zh", "zh", "en", "en")
    assert set(_CATALOGUE) == set(Notice)


def test_amounts_read_in_major_units() -> None:
    assert format_amount(1999, "USD", 2) == "19.99 USD"
    assert format_amount(123456789, "USD", 2) == "1,234,567.89 USD"
    assert format_amount(500, "JPY", 0) == "500 JPY"
    assert format_amount(1005, "KWD", 3) == "1.005 KWD"


def test_the_signature_is_stripes_scheme_and_verifies_only_the_bytes_signed() -> None:
    body = b'{"id":"evt_1"}'
    header = signature_header("whsec_k", 1700000000, body)
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(header, body, "whsec_k", 1700000100)
    assert not verify(header, body, "whsec_k", 1700000301)  # too old: a replay
    assert not verify(header, body + b" ", "whsec_k", 1700000000)
    assert not verify(header, body, "whsec_other", 1700000000)
    assert not verify("t=soon,v1=00", body, "whsec_k", 1700000000)
    assert subscribed(["*"], "policy.failed") and not subscribed(["claim.created"], "claim.updated")
