"""The settings pages: every group saves through the API's own rules and shows what was saved; bad input is said
next to its input (in English and Chinese) and changes nothing; staff read only; the preview prices as quotes do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.admin import settings_form
from plugin.crypto import mask
from plugin.domain.settings import DEFAULT_SETTINGS
from plugin.extensions import db
from plugin.models import AuditEntry
from tests.admin_helpers import csrf_token
from tests.conftest import bearer
from tests.form_helpers import form_fields, shown_error

FORM = "settings-form"


def browser_form(client: FlaskClient, path: str, **headers: str) -> dict[str, str]:
    """The page's settings form as a browser would send it unchanged."""
    page = client.get(path, headers=headers)
    assert page.status_code == 200, (path, page.status_code)
    return form_fields(page.get_data(as_text=True), FORM)


def submit(client: FlaskClient, path: str, form: dict[str, str], action: str = "save", **headers: str):
    return client.post(path, data={**form, "action": action}, headers=headers)


def api_settings(client: FlaskClient, shop) -> dict[str, Any]:
    answer = client.get("/api/v1/settings", headers=bearer(shop.keys.secret_key))
    assert answer.status_code == 200
    return answer.get_json()


def api_patch(client: FlaskClient, shop, patch: dict[str, Any]) -> None:
    answer = client.patch("/api/v1/settings", json=patch, headers=bearer(shop.keys.secret_key))
    assert answer.status_code == 200, answer.get_json()


def audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def subset(expected: Any, actual: Any) -> bool:
    """Whether every field of `expected` has the same value in `actual`."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and subset(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


SECRET_KEY = "xc_key_0123456789abcd"
SECRET = "xc_secret_0123456789wxyz"

# (page, what the merchant types, what the API then answers, what the inputs show after saving)
GROUPS = [
    pytest.param(
        "/admin/settings",
        {
            "pricing.rate": "1.5",
            "pricing.minimum": "0.98",
            "pricing.maximum": "50",
            "pricing.round_up_to": "0.05",
            "pricing.category_rates.0.category": "electronics",
            "pricing.category_rates.0.rate": "2.5",
            "pricing.remote_surcharge.regions": "cn-xj, CN-XZ",
            "pricing.remote_surcharge.amount": "3",
            "pricing.merchant_share": "70",
        },
        {
            "pricing": {
                "mode": "percent",
                "rate": "0.015",
                "minimum": 98,
                "maximum": 5000,
                "round_up_to": 5,
                "category_rates": {"electronics": "0.025"},
                "remote_surcharge": {"regions": ["CN-XJ", "CN-XZ"], "amount": 300},
                "merchant_share": "0.7",
            }
        },
        {"pricing.rate": "1.5", "pricing.maximum": "50.00", "pricing.remote_surcharge.regions": "CN-XJ\nCN-XZ"},
        id="pricing",
    ),
    pytest.param(
        "/admin/settings",
        {
            "pricing.mode": "bands",
            "pricing.bands.0.up_to": "50",
            "pricing.bands.0.price": "1",
            "pricing.bands.1.up_to": "",
            "pricing.bands.1.price": "3.50",
        },
        {"pricing": {"mode": "bands", "bands": [{"up_to": 5000, "price": 100}, {"up_to": None, "price": 350}]}},
        {"pricing.mode": "bands", "pricing.bands.0.up_to": "50.00", "pricing.bands.1.price": "3.50"},
        id="price-bands",
    ),
    pytest.param(
        "/admin/settings/eligibility",
        {
            "eligibility.excluded_countries": "hk\nMO",
            "eligibility.excluded_categories": "virtual\ngift_card",
            "eligibility.excluded_skus": "GC-1, GC-2",
            "pricing.max_declared_value": "5000",
        },
        {
            "eligibility": {
                "excluded_countries": ["HK", "MO"],
                "excluded_categories": ["virtual", "gift_card"],
                "excluded_skus": ["GC-1", "GC-2"],
            },
            "pricing": {"max_declared_value": 500000},
        },
        {"eligibility.excluded_skus": "GC-1\nGC-2", "pricing.max_declared_value": "5000.00"},
        id="eligibility",
    ),
    pytest.param(
        "/admin/settings/offer",
        {
            "offer.title": "Parcel cover",
            "offer.description": "Lost or broken? We refund or resend.",
            "offer.terms_url": "https://shop.example.com/terms",
            "offer.terms_version": "2026-11",
            "cors.allowed_origins": "https://shop.example.com\nhttps://www.shop.example.com",
        },
        {
            "offer": {
                "title": "Parcel cover",
                "description": "Lost or broken? We refund or resend.",
                "terms_url": "https://shop.example.com/terms",
                "terms_version": "2026-11",
            },
            "cors": {"allowed_origins": ["https://shop.example.com", "https://www.shop.example.com"]},
        },
        {"offer.title": "Parcel cover", "offer.terms_version": "2026-11"},
        id="offer",
    ),
    pytest.param(
        "/admin/settings/claims",
        {
            "claims.lost_after_days": "10",
            "claims.lost_no_update_days": "6",
            "claims.lost_until_days": "45",
            "claims.merchant_grace_days": "3",
            "claims.stolen_within_days": "20",
            "claims.damaged_within_days": "12",
            "claims.delay_compensation": "5",
            "claims.delayed_after_days": "14",
            "claims.max_claims_per_customer": "2",
            "claims.customer_limit_days": "60",
            "claims.auto_approve_up_to": "50",
        },
        {
            "claims": {
                "lost_after_days": 10,
                "lost_no_update_days": 6,
                "lost_until_days": 45,
                "merchant_grace_days": 3,
                "stolen_within_days": 20,
                "damaged_within_days": 12,
                "damaged_requires_photo": False,
                "delay_compensation": 500,
                "delayed_after_days": 14,
                "max_claims_per_customer": 2,
                "customer_limit_days": 60,
                "auto_approve_up_to": 5000,
            }
        },
        {"claims.lost_until_days": "45", "claims.auto_approve_up_to": "50.00"},
        id="claims",
    ),
    pytest.param(
        "/admin/settings/insurer",
        {
            "insurer.provider": "xcover",
            "insurer.scope": "all_orders",
            "insurer.config.xcover.partner_code": "JADE-1",
            "insurer.config.xcover.api_key": SECRET_KEY,
            "insurer.config.xcover.api_secret": SECRET,
            "insurer.rules.0.max_value": "200",
            "insurer.rules.0.provider": "self_insured",
        },
        {
            "insurer": {
                "provider": "xcover",
                "scope": "all_orders",
                "config": {
                    "partner_code": "JADE-1",
                    "api_key": mask(SECRET_KEY),
                    "api_secret": mask(SECRET),
                    "base_url": "https://api.xcover.com/xcover",
                },
                "rules": [{"max_value": 20000, "provider": "self_insured"}],
            }
        },
        {"insurer.provider": "xcover", "insurer.config.xcover.api_key": "", "insurer.rules.0.max_value": "200.00"},
        id="insurer",
    ),
    pytest.param(
        "/admin/settings/branding",
        {"branding.logo_url": "https://cdn.example.com/logo.png", "branding.accent_color": "#0f766e"},
        {"branding": {"logo_url": "https://cdn.example.com/logo.png", "accent_color": "#0f766e"}},
        {"branding.accent_color": "#0f766e"},
        id="branding",
    ),
    pytest.param(
        "/admin/settings/notifications",
        {"notifications.merchant_email": "ops@jade.example", "notifications.merchant_locale": "zh"},
        {"notifications": {"merchant_email": "ops@jade.example", "merchant_locale": "zh"}},
        {"notifications.merchant_email": "ops@jade.example", "notifications.merchant_locale": "zh"},
        id="notifications",
    ),
]


@pytest.mark.parametrize(("path", "typed", "saved", "shows"), GROUPS)
def test_every_group_saves_through_the_api_rules_and_shows_what_was_saved(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient, path, typed, saved, shows
) -> None:
    form = browser_form(owner_client, path)
    for name in typed:
        assert name in form, f"{path} has no input {name}"
    form.update(typed)
    if "claims" in path:
        del form["claims.damaged_requires_photo"]  # the box unticked: a browser sends nothing for it
    answer = submit(owner_client, path, form)
    assert answer.status_code == 302, shown_errors(answer)
    assert answer.headers["Location"].endswith(path)
    assert subset(saved, api_settings(client, shop)), api_settings(client, shop)
    page = owner_client.get(path).get_data(as_text=True)
    assert "Saved." in page
    again = form_fields(page, FORM)
    for name, value in shows.items():
        assert again[name] == value, (name, again[name])
    assert audit_count(app) == 1


def shown_errors(answer) -> str:
    return "; ".join(re.findall(r'data-error-for="[^"]+">([^<]+)<', answer.get_data(as_text=True)))


def test_unchanged_forms_save_nothing_and_record_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    before = api_settings(client, shop)
    for path in ("/admin/settings", "/admin/settings/eligibility", "/admin/settings/claims", "/admin/settings/insurer"):
        answer = submit(owner_client, path, browser_form(owner_client, path))
        assert answer.status_code == 302
        assert "Nothing to save" in owner_client.get(path).get_data(as_text=True)
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_an_empty_input_puts_the_setting_back_to_its_default(client: FlaskClient, shop, owner_client) -> None:
    api_patch(client, shop, {"pricing": {"minimum": 500, "maximum": 9000}, "claims": {"lost_after_days": 3}})
    form = browser_form(owner_client, "/admin/settings")
    assert (form["pricing.minimum"], form["pricing.maximum"]) == ("5.00", "90.00")
    form.update({"pricing.minimum": "", "pricing.maximum": ""})
    assert submit(owner_client, "/admin/settings", form).status_code == 302
    pricing = api_settings(client, shop)["pricing"]
    assert (pricing["minimum"], pricing["maximum"]) == (0, None)
    assert api_settings(client, shop)["claims"]["lost_after_days"] == 3  # another page's setting is kept


def test_a_category_rate_row_emptied_removes_that_category(client: FlaskClient, shop, owner_client) -> None:
    api_patch(client, shop, {"pricing": {"category_rates": {"jewelry": "0.03", "electronics": "0.025"}}})
    form = browser_form(owner_client, "/admin/settings")
    row = next(k for k, v in form.items() if k.startswith("pricing.category_rates.") and v == "jewelry")
    rate = row.removesuffix(".category") + ".rate"
    assert form[rate] == "3"
    form[row] = form[rate] = ""
    assert submit(owner_client, "/admin/settings", form).status_code == 302
    assert api_settings(client, shop)["pricing"]["category_rates"] == {"electronics": "0.025"}


def test_insurer_credentials_are_masked_kept_when_left_empty_and_replaced_when_typed(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    path = "/admin/settings/insurer"
    form = browser_form(owner_client, path)
    form.update(
        {
            "insurer.provider": "loadsure",
            "insurer.config.loadsure.api_key": SECRET_KEY,
            "insurer.config.loadsure.base_url": "https://portal.loadsure.net",
        }
    )
    assert submit(owner_client, path, form).status_code == 302
    page = owner_client.get(path).get_data(as_text=True)
    assert SECRET_KEY not in page
    assert mask(SECRET_KEY) in page  # shown masked, as the API shows it
    form = form_fields(page, FORM)
    assert form["insurer.config.loadsure.api_key"] == ""
    assert submit(owner_client, path, form).status_code == 302  # left empty: kept
    assert api_settings(client, shop)["insurer"]["config"]["api_key"] == mask(SECRET_KEY)
    assert audit_count(app) == 1
    form["insurer.config.loadsure.api_key"] = "ls_new_key_98765432"
    assert submit(owner_client, path, form).status_code == 302
    assert api_settings(client, shop)["insurer"]["config"]["api_key"] == mask("ls_new_key_98765432")
    assert audit_count(app) == 2


# (page, what the merchant types, the input the message is next to, words of it in English and in Chinese)
BAD_INPUT = [
    ("/admin/settings", {"pricing.rate": "250"}, "pricing.rate", "percentage from 0 to 100", "0 到 100 之间的百分比"),
    ("/admin/settings", {"pricing.minimum": "1.234"}, "pricing.minimum", "at most 2 decimals", "最多 2 位小数"),
    ("/admin/settings", {"pricing.minimum": "-5"}, "pricing.minimum", "from $0.00 to", "US$0.00"),
    (
        "/admin/settings",
        {"pricing.minimum": "60", "pricing.maximum": "50"},
        "pricing.minimum",
        "lowest price must not be above the highest",
        "最低价格不能高于最高价格",
    ),
    ("/admin/settings", {"pricing.mode": "bands"}, "pricing.bands", "at least one price band", "至少添加一个价格区间"),
    (
        "/admin/settings",
        {"pricing.mode": "bands", "pricing.bands.0.up_to": "50", "pricing.bands.0.price": "1"},
        "pricing.bands",
        "Leave “up to” empty on the last band",
        "最后一个区间",
    ),
    (
        "/admin/settings",
        {"pricing.bands.0.up_to": "", "pricing.bands.0.price": "one"},
        "pricing.bands.0.price",
        "at most 2 decimals",
        "最多 2 位小数",
    ),
    (
        "/admin/settings",
        {"pricing.category_rates.0.category": "jewelry", "pricing.category_rates.0.rate": "lots"},
        "pricing.category_rates.0.rate",
        "percentage from 0 to 100",
        "百分比",
    ),
    (
        "/admin/settings",
        {"pricing.category_rates.0.category": "jewelry", "pricing.category_rates.0.rate": ""},
        "pricing.category_rates.0.rate",
        "Fill in this field",
        "请填写此项",
    ),
    (
        "/admin/settings",
        {"pricing.category_rates.0.category": "", "pricing.category_rates.0.rate": "3"},
        "pricing.category_rates.0.category",
        "Name the category",
        "请填写类别",
    ),
    (
        "/admin/settings",
        {"pricing.remote_surcharge.regions": "CN-XJ\nCN-QQ"},
        "pricing.remote_surcharge.regions",
        "“CN-QQ”: Not a region code",
        "“CN-QQ”：不是地区代码",
    ),
    (
        "/admin/settings/eligibility",
        {"eligibility.excluded_countries": "HK, ZZ"},
        "eligibility.excluded_countries",
        "“ZZ”: Not a country code",
        "不是国家或地区代码",
    ),
    ("/admin/settings/offer", {"offer.terms_url": "terms"}, "offer.terms_url", "starts with https://", "https://"),
    (
        "/admin/settings/offer",
        {"cors.allowed_origins": "https://shop.example.com/cart"},
        "cors.allowed_origins",
        "without a path",
        "不带路径的网址",
    ),
    ("/admin/settings/offer", {"offer.title": "x" * 121}, "offer.title", "from 1 to 120 characters", "1 到 120 个字符"),
    (
        "/admin/settings/claims",
        {"claims.lost_until_days": "5"},
        "claims.lost_until_days",
        "more days than the first day",
        "天数必须多于",
    ),
    (
        "/admin/settings/claims",
        {"claims.stolen_within_days": "400"},
        "claims.stolen_within_days",
        "whole number from 1 to 365",
        "1 到 365 之间的整数",
    ),
    (
        "/admin/settings/claims",
        {"claims.max_claims_per_customer": "two"},
        "claims.max_claims_per_customer",
        "whole number",
        "整数",
    ),
    (
        "/admin/settings/insurer",
        {"insurer.provider": "xcover"},
        "insurer.config.xcover.partner_code",
        "Required by XCover",
        "XCover 需要此项",
    ),
    (
        "/admin/settings/insurer",
        {"insurer.config.sandbox.base_url": "http://insurer.example.com"},
        "insurer.config.sandbox.base_url",
        "starts with https://",
        "以 https:// 开头",
    ),
    (
        "/admin/settings/insurer",
        {"insurer.rules.0.max_value": "100", "insurer.rules.0.provider": "xcover"},
        "insurer.rules.0.provider",
        "the insurer chosen above",
        "上面选择的保险公司",
    ),
    (
        "/admin/settings/branding",
        {"branding.accent_color": "teal"},
        "branding.accent_color",
        "six hex digits",
        "十六进制",
    ),
    (
        "/admin/settings/branding",
        {"branding.logo_url": "http://cdn.example.com/logo.png"},
        "branding.logo_url",
        "Use an https address",
        "普通主机名的 https 地址",
    ),
    (
        "/admin/settings/notifications",
        {"notifications.merchant_email": "ops at jade"},
        "notifications.merchant_email",
        "Enter an email address",
        "请输入邮箱地址",
    ),
]


@pytest.mark.parametrize(("path", "typed", "name", "english", "chinese"), BAD_INPUT)
def test_bad_input_is_explained_next_to_its_input_keeps_what_was_typed_and_saves_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient, path, typed, name, english, chinese
) -> None:
    before = api_settings(client, shop)
    for language, words in (("en", english), ("zh-CN", chinese)):
        form = browser_form(owner_client, path, **{"Accept-Language": language})
        form.update(typed)
        answer = submit(owner_client, path, form, **{"Accept-Language": language})
        assert answer.status_code == 422
        page = answer.get_data(as_text=True)
        assert words in shown_error(page, name), (language, shown_error(page, name), shown_errors(answer))
        assert 'id="error-summary"' in page
        kept = form_fields(page, FORM)
        for typed_name, value in typed.items():
            assert kept[typed_name] == value, typed_name  # the form keeps what the merchant typed
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_staff_read_the_settings_but_cannot_change_or_preview_them(
    app: Flask, client: FlaskClient, shop, staff_client: FlaskClient
) -> None:
    before = api_settings(client, shop)
    page = staff_client.get("/admin/settings").get_data(as_text=True)
    assert 'id="read-only"' in page
    assert 'id="save"' not in page
    assert form_fields(page, FORM).keys() <= {"csrf_token", "page"}  # every input disabled
    token = csrf_token(staff_client, "/admin/settings")
    data = {"csrf_token": token, "pricing.rate": "9", "action": "save"}
    answer = staff_client.post("/admin/settings", data=data)
    assert answer.status_code == 403
    assert "Only the shop" in answer.get_data(as_text=True)
    preview = staff_client.post(
        "/admin/settings/preview", data={"page": "pricing", "pricing.rate": "9"}, headers={"X-CSRFToken": token}
    )
    assert preview.status_code == 403
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    before = api_settings(client, shop)
    form = browser_form(owner_client, "/admin/settings")
    del form["csrf_token"]
    form["pricing.rate"] = "9"
    assert submit(owner_client, "/admin/settings", form).status_code == 400
    preview = owner_client.post("/admin/settings/preview", data={**form, "page": "pricing"})
    assert preview.status_code == 400
    wrong = owner_client.post("/admin/settings/preview", data=form, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_unknown_settings_pages_are_404(owner_client: FlaskClient) -> None:
    assert owner_client.get("/admin/settings/nope").status_code == 404
    token = csrf_token(owner_client, "/admin/settings")
    assert owner_client.post("/admin/settings/nope", data={"csrf_token": token}).status_code == 404
    assert owner_client.get("/admin/settings/preview").status_code == 404
    answer = owner_client.post("/admin/settings/preview", data={"page": "nope"}, headers={"X-CSRFToken": token})
    assert answer.status_code == 404


def test_settings_the_pages_do_not_describe_get_an_input_on_the_other_page(
    monkeypatch: pytest.MonkeyPatch, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    """A setting added to the API after these pages (as notifications would be, had no page named them) still
    has an input, chosen by its value, on "Other settings"; and it saves."""
    pages = tuple(page for page in settings_form.PAGES if page.slug != "notifications")
    monkeypatch.setattr(settings_form, "PAGES", pages)
    assert owner_client.get("/admin/settings/notifications").status_code == 404
    form = browser_form(owner_client, "/admin/settings/other")
    assert form["notifications.merchant_locale"] == "en"
    form["notifications.merchant_email"] = "ops@jade.example"
    assert submit(owner_client, "/admin/settings/other", form).status_code == 302
    assert api_settings(client, shop)["notifications"]["merchant_email"] == "ops@jade.example"
    form["notifications.merchant_email"] = "not an email"
    answer = submit(owner_client, "/admin/settings/other", form)
    assert answer.status_code == 422
    assert "email address" in shown_error(answer.get_data(as_text=True), "notifications.merchant_email")


def test_the_shop_page_follows_the_settings_api(client: FlaskClient, shop, owner_client: FlaskClient) -> None:
    """The shop's time zone has its page once the API has `shop.timezone`; until then there is none."""
    if "timezone" not in DEFAULT_SETTINGS.get("shop", {}):
        assert owner_client.get("/admin/settings/shop").status_code == 404
        return
    form = browser_form(owner_client, "/admin/settings/shop")
    form["shop.timezone"] = "Asia/Shanghai"
    assert submit(owner_client, "/admin/settings/shop", form).status_code == 302
    assert api_settings(client, shop)["shop"]["timezone"] == "Asia/Shanghai"


# ---- the preview -----------------------------------------------------------------------------------------------


def quote(client: FlaskClient, shop, value: int, **cart: Any) -> dict[str, Any]:
    body = {
        "currency": "USD",
        "destination": {
            "country": cart.get("country", "US"),
            **({"region": cart["region"]} if "region" in cart else {}),
        },
        "items": [
            {
                "sku": "example",
                "unit_price": value,
                "quantity": 1,
                **({"category": cart["category"]} if "category" in cart else {}),
            }
        ],
    }
    answer = client.post("/api/v1/quotes", json=body, headers=bearer(shop.keys.publishable_key))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


DRAFTS = [
    pytest.param(
        {},
        {
            "pricing.rate": "1.5",
            "pricing.minimum": "0.98",
            "pricing.maximum": "12",
            "pricing.round_up_to": "0.05",
            "pricing.merchant_share": "70",
            "pricing.category_rates.0.category": "electronics",
            "pricing.category_rates.0.rate": "2.5",
            "pricing.remote_surcharge.regions": "CN-XJ",
            "pricing.remote_surcharge.amount": "3",
        },
        id="percent",
    ),
    pytest.param(
        {"pricing": {"max_declared_value": 150000}, "eligibility": {"excluded_countries": ["HK"]}},
        {
            "pricing.mode": "bands",
            "pricing.bands.0.up_to": "100",
            "pricing.bands.0.price": "1.99",
            "pricing.bands.1.up_to": "500",
            "pricing.bands.1.price": "4.99",
            "pricing.bands.2.up_to": "",
            "pricing.bands.2.price": "9.99",
            "pricing.merchant_share": "33.3",
        },
        id="bands-with-a-limit",
    ),
    pytest.param(  # both coverages: the preview prices and words the bundle as the quote does
        {"coverage": {"returns": {"enabled": True, "max_payout": 1500, "pricing": {"rate": "0.01", "minimum": 150}}}},
        {"pricing.rate": "1.5", "pricing.merchant_share": "70"},
        id="with-return-cover",
    ),
]


@pytest.mark.parametrize(("saved_before", "draft"), DRAFTS)
def test_the_preview_prices_the_draft_as_a_real_quote_does_and_saves_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient, saved_before, draft
) -> None:
    if saved_before:
        api_patch(client, shop, saved_before)
    settings_before = api_settings(client, shop)
    entries_before = audit_count(app)
    form = browser_form(owner_client, "/admin/settings")
    token = form.pop("csrf_token")
    form.update(draft)
    form.update(
        {"example.value": "800", "example.category": "electronics", "example.country": "cn", "example.region": "CN-XJ"}
    )
    answer = owner_client.post("/admin/settings/preview", data=form, headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ok"] is True, body["errors"]
    preview = body["preview"]
    assert api_settings(client, shop) == settings_before  # nothing saved
    assert audit_count(app) == entries_before

    assert submit(owner_client, "/admin/settings", {**form, "csrf_token": token}).status_code == 302
    rows = preview["rows"]
    assert len(rows) >= 8
    assert any(not row["eligible"] for row in rows) == ("max_declared_value" in str(saved_before))
    for row in rows:
        real = quote(client, shop, row["declared_value"])
        assert row["eligible"] == real["eligible"], row
        for amount in ("premium", "customer_price", "merchant_contribution"):
            assert row[amount] == real[amount], (row["declared_value"], amount, row[amount], real[amount])
    example = preview["example"]
    real = quote(client, shop, 80000, category="electronics", country="CN", region="CN-XJ")
    assert example["declared_value"] == real["declared_value"] == 80000
    for amount in ("premium", "customer_price", "merchant_contribution"):
        assert example[amount] == real[amount], amount
    english = next(view for view in preview["widgets"] if view["language"] == "en")
    assert (english["title"], english["description"]) == (real["offer"]["title"], real["offer"]["description"])
    assert english["terms_url"] == real["offer"]["terms_url"]


def test_the_preview_of_a_cart_to_an_excluded_destination_shows_no_offer(
    client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    form = browser_form(owner_client, "/admin/settings/eligibility")
    token = form.pop("csrf_token")
    form.update({"eligibility.excluded_countries": "HK", "example.country": "HK"})
    body = owner_client.post("/admin/settings/preview", data=form, headers={"X-CSRFToken": token}).get_json()
    assert body["preview"]["example"]["eligible"] is False
    for view in body["preview"]["widgets"]:
        assert view["shown"] is False
    english = next(view for view in body["preview"]["widgets"] if view["language"] == "en")
    assert "destination" in english["note"]
    assert api_settings(client, shop)["eligibility"]["excluded_countries"] == []


def test_the_preview_of_bad_input_names_the_problem_and_prices_nothing(owner_client: FlaskClient) -> None:
    form = browser_form(owner_client, "/admin/settings")
    token = form.pop("csrf_token")
    form.update({"pricing.rate": "250", "example.country": "ZZ"})
    body = owner_client.post("/admin/settings/preview", data=form, headers={"X-CSRFToken": token}).get_json()
    assert body["ok"] is False
    assert body["preview"] is None
    assert "percentage from 0 to 100" in " ".join(body["errors"]["pricing.rate"])
    assert "country code" in body["example_errors"]["example.country"]


def test_the_preview_button_shows_the_draft_prices_without_javascript_and_saves_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    before = api_settings(client, shop)
    form = browser_form(owner_client, "/admin/settings")
    page = owner_client.get("/admin/settings").get_data(as_text=True)
    assert re.search(r"<tr data-value=\"10000\">\s*<td class=\"num\">\$100\.00</td>\s*<td class=\"num\">\$2\.00", page)
    form.update({"pricing.rate": "5", "pricing.merchant_share": "50"})
    answer = submit(owner_client, "/admin/settings", form, action="preview")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    row = re.search(r'<tr data-value="10000">(.*?)</tr>', page, re.S)
    assert row is not None
    assert re.findall(r'<td class="num">([^<]+)</td>', row.group(1)) == ["$100.00", "$5.00", "$2.50", "$2.50"]
    assert form_fields(page, FORM)["pricing.rate"] == "5"  # the draft stays in the form
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_the_page_prices_in_the_shops_currency(app: Flask, new_shop) -> None:
    from tests.admin_helpers import make_user, sign_in

    yen = new_shop("Tokyo House", "JPY")
    user = make_user(app, yen.shop.id, "owner@tokyo.example", "owner")
    browser = app.test_client()
    assert sign_in(browser, user).status_code == 302
    page = browser.get("/admin/settings").get_data(as_text=True)
    # ¥10,000 at 2 %: ¥200; amounts in inputs are whole yen.
    assert re.search(r'<tr data-value="10000">\s*<td class="num">¥10,000</td>\s*<td class="num">¥200</td>', page)
    form = form_fields(page, FORM)
    form.update({"pricing.minimum": "150"})
    assert submit(browser, "/admin/settings", form).status_code == 302
    answer = app.test_client().get("/api/v1/settings", headers=bearer(yen.keys.secret_key))
    assert answer.get_json()["pricing"]["minimum"] == 150


@pytest.mark.parametrize(
    "typed",
    [
        {"offer.title": "Parcel\x00cover"},
        {"pricing.category_rates.0.category": "jew\x00elry", "pricing.category_rates.0.rate": "3"},
        {"eligibility.excluded_skus": "\n".join(f"SKU-{n}" for n in range(3000)) + "\n" + "x" * 30_000},
        {f"pricing.bands.{row}.price": "1" for row in range(400)},
        {"pricing.minimum": "9" * 5000, "pricing.rate": "1e999999", "claims.lost_after_days": "9" * 40},
        {"insurer.provider": "lloyds", "insurer.rules.0.provider": "lloyds", "insurer.rules.0.max_value": "1"},
        {"example.value": "-1", "example.country": "\x00", "example.region": "Z" * 500},
    ],
)
def test_hostile_forms_are_a_clean_4xx_and_change_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient, typed
) -> None:
    before = api_settings(client, shop)
    for path in ("/admin/settings", "/admin/settings/offer", "/admin/settings/eligibility", "/admin/settings/insurer",
                 "/admin/settings/claims"):  # fmt: skip
        form = browser_form(owner_client, path)
        form.update(typed)
        for action in ("save", "preview"):
            answer = submit(owner_client, path, form, action=action)
            assert answer.status_code in (200, 302, 422), (path, action, answer.status_code)
        token = form.pop("csrf_token")
        preview = owner_client.post(
            "/admin/settings/preview", data={**form, "page": path.rpartition("/")[2].replace("settings", "pricing")},
            headers={"X-CSRFToken": token},
        )  # fmt: skip
        assert preview.status_code == 200
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_the_pages_speak_chinese_to_a_chinese_browser(owner_client: FlaskClient) -> None:
    page = owner_client.get("/admin/settings", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "价格与付费方" in page and "顾客支付" in page and "费率" in page
    assert "Price and who pays" not in page


def test_a_problem_outside_pricing_still_lets_the_offer_be_previewed(owner_client: FlaskClient) -> None:
    form = browser_form(owner_client, "/admin/settings/offer")
    token = form.pop("csrf_token")
    form.update({"offer.title": "Parcel cover", "cors.allowed_origins": "https://shop.example.com/cart"})
    body = owner_client.post("/admin/settings/preview", data=form, headers={"X-CSRFToken": token}).get_json()
    assert body["ok"] is False
    assert "without a path" in " ".join(body["errors"]["cors.allowed_origins"])
    english = next(view for view in body["preview"]["widgets"] if view["language"] == "en")
    assert english["title"] == "Parcel cover"


def test_switching_insurer_with_a_problem_shows_every_insurers_inputs_again(owner_client: FlaskClient) -> None:
    form = browser_form(owner_client, "/admin/settings/insurer")
    form.update({"insurer.provider": "xcover", "insurer.config.sandbox.latency_ms": "250"})
    answer = submit(owner_client, "/admin/settings/insurer", form)
    assert answer.status_code == 422  # XCover needs its credentials
    kept = form_fields(answer.get_data(as_text=True), FORM)
    assert kept["insurer.provider"] == "xcover"
    assert kept["insurer.config.sandbox.latency_ms"] == "250"
    assert kept["insurer.config.xcover.base_url"] == "https://api.xcover.com/xcover"
