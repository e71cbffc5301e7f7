"""The settings pages of the coverages, the performance tiers and the excluded carriers: every input round-trips
through the API's own rules, tier rows work without JavaScript, and a bad tier is said next to its input."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.admin.test_settings_pages import (
    api_patch,
    api_settings,
    audit_count,
    browser_form,
    shown_errors,
    submit,
    subset,
)
from tests.admin_helpers import csrf_token
from tests.form_helpers import form_fields, shown_error

COVERAGE = "/admin/settings/coverage"


def test_every_coverage_input_round_trips(app: Flask, client: FlaskClient, shop, owner_client: FlaskClient) -> None:
    form = browser_form(owner_client, COVERAGE)
    typed = {
        "coverage.returns.pricing.mode": "percent",
        "coverage.returns.pricing.rate": "1.5",
        "coverage.returns.pricing.minimum": "0.50",
        "coverage.returns.pricing.maximum": "9.00",
        "coverage.returns.pricing.round_up_to": "0.05",
        "coverage.returns.pricing.merchant_share": "25",
        "coverage.returns.pricing.category_rates.0.category": "shoes",
        "coverage.returns.pricing.category_rates.0.rate": "3",
        "coverage.returns.pricing.performance_tiers.0.metric": "return_rate",
        "coverage.returns.pricing.performance_tiers.0.below": "5",
        "coverage.returns.pricing.performance_tiers.0.rate": "0.8",
        "coverage.returns.payout_ratio": "80",
        "coverage.returns.max_payout": "12.00",
        "coverage.returns.frequent_after": "3",
        "coverage.returns.frequent_payout_ratio": "40",
        "coverage.returns.pay_within_hours": "24",
        "coverage.returns.enabled": "on",
    }
    page = owner_client.get(COVERAGE).get_data(as_text=True)
    for name in typed:
        assert f'name="{name}"' in page, f"no input {name}"
    assert form["coverage.shipping.enabled"] == "on"  # on by default
    form.update(typed)
    del form["coverage.shipping.enabled"]  # the box unticked: a browser sends nothing for it
    answer = submit(owner_client, COVERAGE, form)
    assert answer.status_code == 302, shown_errors(answer)
    saved = {
        "coverage": {
            "shipping": {"enabled": False},
            "returns": {
                "enabled": True,
                "pricing": {
                    "mode": "percent",
                    "rate": "0.015",
                    "minimum": 50,
                    "maximum": 900,
                    "round_up_to": 5,
                    "merchant_share": "0.25",
                    "category_rates": {"shoes": "0.03"},
                    "performance_tiers": [{"metric": "return_rate", "below": "0.05", "rate": "0.008"}],
                },
                "payout_ratio": "0.8",
                "max_payout": 1200,
                "frequent_after": 3,
                "frequent_payout_ratio": "0.4",
                "pay_within_hours": 24,
            },
        }
    }
    assert subset(saved, api_settings(client, shop)), api_settings(client, shop)
    page = owner_client.get(COVERAGE).get_data(as_text=True)
    assert "Saved." in page
    again = form_fields(page, "settings-form")
    for name, value in typed.items():
        assert again[name] == value, (name, again[name])
    assert "coverage.shipping.enabled" not in again
    assert audit_count(app) == 1
    # Sent again unchanged, nothing is saved (a tier without a bound key is the same tier).
    answer = submit(owner_client, COVERAGE, again)
    assert answer.status_code == 302
    assert audit_count(app) == 1


def test_shipping_tiers_are_rows_with_blank_spares_and_round_trip(client: FlaskClient, shop, owner_client) -> None:
    form = browser_form(owner_client, "/admin/settings")
    # Three blank rows to fill without any script.
    for row in range(3):
        assert form[f"pricing.performance_tiers.{row}.metric"] == ""
        assert form[f"pricing.performance_tiers.{row}.rate"] == ""
    form.update(
        {
            "pricing.performance_tiers.0.metric": "on_time_rate",
            "pricing.performance_tiers.0.at_least": "98",
            "pricing.performance_tiers.0.rate": "1.5",
            "pricing.performance_tiers.2.metric": "loss_ratio",
            "pricing.performance_tiers.2.at_least": "50",
            "pricing.performance_tiers.2.below": "120",
            "pricing.performance_tiers.2.rate": "3",
        }
    )
    answer = submit(owner_client, "/admin/settings", form)
    assert answer.status_code == 302, shown_errors(answer)
    assert api_settings(client, shop)["pricing"]["performance_tiers"] == [
        {"metric": "on_time_rate", "at_least": "0.98", "rate": "0.015"},
        {"metric": "loss_ratio", "at_least": "0.5", "below": "1.2", "rate": "0.03"},
    ]
    again = browser_form(owner_client, "/admin/settings")
    assert again["pricing.performance_tiers.1.metric"] == "loss_ratio"
    assert (again["pricing.performance_tiers.1.below"], again["pricing.performance_tiers.1.rate"]) == ("120", "3")
    assert again["pricing.performance_tiers.4.metric"] == ""  # spares after the saved rows
    again["pricing.performance_tiers.0.metric"] = ""
    for column in ("at_least", "below", "rate"):
        again[f"pricing.performance_tiers.0.{column}"] = ""
    assert submit(owner_client, "/admin/settings", again).status_code == 302  # a row emptied is removed
    assert api_settings(client, shop)["pricing"]["performance_tiers"] == [
        {"metric": "loss_ratio", "at_least": "0.5", "below": "1.2", "rate": "0.03"}
    ]


def test_an_invalid_tier_is_explained_next_to_its_input_and_saves_nothing(
    app: Flask, client: FlaskClient, shop, owner_client: FlaskClient
) -> None:
    before = api_settings(client, shop)
    cases = [
        ({"pricing.performance_tiers.0.metric": "on_time_rate", "pricing.performance_tiers.0.rate": "1"},
         "pricing.performance_tiers.0.at_least", "Give “at least”, “below”, or both", "或两者都填"),
        ({"pricing.performance_tiers.0.metric": "on_time_rate", "pricing.performance_tiers.0.at_least": "98",
          "pricing.performance_tiers.0.below": "90", "pricing.performance_tiers.0.rate": "1"},
         "pricing.performance_tiers.0.below", "Must be above “at least”", "必须高于"),
        ({"pricing.performance_tiers.0.at_least": "98", "pricing.performance_tiers.0.rate": "1"},
         "pricing.performance_tiers.0.metric", "Fill in this field", "请填写"),
    ]  # fmt: skip
    for typed, name, english, chinese in cases:
        for language, words in (("en", english), ("zh-CN", chinese)):
            form = browser_form(owner_client, "/admin/settings", **{"Accept-Language": language})
            form.update(typed)
            answer = submit(owner_client, "/admin/settings", form, **{"Accept-Language": language})
            assert answer.status_code == 422
            page = answer.get_data(as_text=True)
            assert words in shown_error(page, name), (language, shown_errors(answer))
            kept = form_fields(page, "settings-form")
            assert all(kept[key] == value for key, value in typed.items())
    assert api_settings(client, shop) == before
    assert audit_count(app) == 0


def test_excluded_carriers_one_per_line(client: FlaskClient, shop, owner_client) -> None:
    path = "/admin/settings/eligibility"
    form = browser_form(owner_client, path)
    form["eligibility.excluded_carriers"] = "DHL\r\nCainiao Post\r\n"
    assert submit(owner_client, path, form).status_code == 302
    assert api_settings(client, shop)["eligibility"]["excluded_carriers"] == ["DHL", "Cainiao Post"]
    assert browser_form(owner_client, path)["eligibility.excluded_carriers"] == "DHL\nCainiao Post"
    api_patch(client, shop, {"eligibility": {"excluded_carriers": ["UPS"]}})
    assert browser_form(owner_client, path)["eligibility.excluded_carriers"] == "UPS"


def test_staff_read_the_coverage_page_but_cannot_save_it(client: FlaskClient, shop, staff_client) -> None:
    before = api_settings(client, shop)
    page = staff_client.get(COVERAGE)
    assert page.status_code == 200
    assert 'id="read-only"' in page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(staff_client, COVERAGE), "coverage.returns.enabled": "on", "action": "save"}
    assert staff_client.post(COVERAGE, data=data).status_code == 403
    assert api_settings(client, shop) == before
