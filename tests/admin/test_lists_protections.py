"""/admin/protections: filters, search, pages, the CSV export, and one protection with its consent evidence."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from flask import Flask

from plugin.admin import protections_pages
from plugin.admin.listing import shop_zone
from tests.admin_helpers import make_user, sign_in
from tests.claim_helpers import claim_with_files, photo, rfc3339, track
from tests.claim_helpers import days_ago as ago
from tests.conftest import bearer
from tests.list_helpers import add_consent, add_protection, at, csv_rows, row_ids, walk_pages
from tests.return_helpers import make_returns_covered_order
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event, protected_metadata, quote_for


def _ids(client, query: str = "") -> list[str]:
    answer = client.get("/admin/protections" + query)
    assert answer.status_code == 200, answer.status_code
    return row_ids(answer.get_data(as_text=True))


@pytest.fixture()
def data(app: Flask, shop, new_shop) -> dict[str, str]:
    sid = shop.shop.id
    other = new_shop("Other House")
    made = {
        "late": add_protection(app, sid, "1004", datetime(2026, 11, 21, 0, 0, tzinfo=UTC)),
        "last_second": add_protection(
            app, sid, "1003", datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC), status="voided"
        ),
        "midnight": add_protection(
            app, sid, "1002", datetime(2026, 11, 20, 0, 0, tzinfo=UTC), email="Jade@Example.com", disputed=True
        ),
        "early": add_protection(
            app,
            sid,
            "1001",
            datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC),
            status="needs_review",
            payment_intent="pi_early",
            email="ruby@example.com",
        ),
    }
    made["theirs"] = add_protection(
        app, other.shop.id, "1002", at(0), email="jade@example.com", payment_intent="pi_theirs"
    )
    return made


def test_newest_first_and_only_this_shops(owner_client, data):
    assert _ids(owner_client) == [data["late"], data["last_second"], data["midnight"], data["early"]]


def test_filters_by_status(owner_client, data):
    assert _ids(owner_client, "?status=voided") == [data["last_second"]]
    assert _ids(owner_client, "?status=needs_review") == [data["early"]]
    assert _ids(owner_client, "?status=active") == [data["late"], data["midnight"]]


def test_date_range_takes_whole_days(owner_client, data):
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20") == [data["last_second"], data["midnight"]]
    assert _ids(owner_client, "?from=2026-11-21") == [data["late"]]
    assert _ids(owner_client, "?to=2026-11-19") == [data["early"]]
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20&status=voided") == [data["last_second"]]


def test_dates_are_read_in_the_shops_time_zone(owner_client, data, monkeypatch):
    # 2026-11-20 in Shanghai is 2026-11-19T16:00Z to 2026-11-20T16:00Z.
    monkeypatch.setattr(protections_pages, "zone_of", lambda shop: shop_zone("Asia/Shanghai"))
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20") == [data["midnight"], data["early"]]


def test_search_by_order_email_payment_intent_or_id(owner_client, data):
    assert _ids(owner_client, "?q=1002") == [data["midnight"]]
    assert _ids(owner_client, "?q=Jade@Example.com") == [data["midnight"]]
    # As recorded, or in lower case (what Stripe passes on is mostly lower case already).
    assert _ids(owner_client, "?q=RUBY@Example.com") == [data["early"]]
    assert _ids(owner_client, "?q=jade@example.com") == []  # the other shop's
    assert _ids(owner_client, "?q=pi_early") == [data["early"]]
    assert _ids(owner_client, f"?q={data['late']}") == [data["late"]]
    assert _ids(owner_client, "?q=pi_theirs") == []
    assert _ids(owner_client, f"?q={data['theirs']}") == []
    assert "No protections match" in owner_client.get("/admin/protections?q=nothing").get_data(as_text=True)


def test_pages_hold_every_protection_once_even_with_equal_times(app, owner_client, shop):
    sid = shop.shop.id
    made = [add_protection(app, sid, f"s{n}", at(3)) for n in range(5)] + [
        add_protection(app, sid, f"o{n}", at(n)) for n in range(4)
    ]
    for limit in (1, 2, 4, 9):
        pages = walk_pages(owner_client, f"/admin/protections?limit={limit}")
        flat = [row for page in pages for row in page]
        assert sorted(flat) == sorted(made) and len(flat) == len(set(flat)), limit
        assert len(pages) == -(-len(made) // limit)
    # The pages keep the filters.
    pages = walk_pages(owner_client, "/admin/protections?limit=2&from=2026-11-20&q=s3")
    assert [row for page in pages for row in page] == [made[3]]


def test_csv_has_minor_units_a_currency_and_a_human_amount(app, owner_client, shop, new_shop):
    sid = shop.shop.id
    first = add_protection(
        app,
        sid,
        "=HYPERLINK(1)",
        datetime(2026, 11, 20, 8, 30, 0, 120000, tzinfo=UTC),
        email="-jade@example.com",
        payment_intent="pi_1",
        declared=123456,
        premium=1851,
        customer_price=2000,
        merchant=-149,
        disputed=True,
        line_item_check="confirmed",
    )
    second = add_protection(
        app,
        sid,
        "订单-2",
        datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        status="voided",
        currency="JPY",
        payment_intent="pi_2",
        declared=50000,
        premium=600,
        customer_price=750,
        merchant=150,
    )
    add_protection(app, new_shop("Other House").shop.id, "1001", at(0), payment_intent="pi_other")
    answer = owner_client.get("/admin/protections?format=csv")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="protections.csv"'
    assert csv_rows(answer) == [
        list(protections_pages.CSV_HEADER),
        [second, "订单-2", "2026-11-21T09:00:00Z", "voided", "", "false", "not_applicable", "JPY",
         "50000", "50000", "600", "600", "750", "750", "150", "150", "750", "750", "", "pi_2", "", "", "",
         "shipping", "0", "0", "", "", ""],
        [first, "'=HYPERLINK(1)", "2026-11-20T08:30:00Z", "active", "", "true", "confirmed", "USD",
         "123456", "1234.56", "1851", "18.51", "2000", "20.00", "-149", "-1.49", "2000", "20.00",
         "'-jade@example.com", "pi_1", "", "", "", "shipping", "0", "0.00", "", "", ""],
    ]  # fmt: skip
    filtered = csv_rows(owner_client.get("/admin/protections?format=csv&status=voided&q=pi_2"))
    assert [row[0] for row in filtered[1:]] == [second]


@pytest.mark.parametrize(
    "query",
    [
        "?status=lost",
        "?from=yesterday",
        "?to=2026-13-01",
        "?from=2026-11-22&to=2026-11-21",
        "?limit=0",
        "?limit=abc",
        "?format=xlsx",
        "?after=not-a-cursor",
        "?q=a%00b",
        "?q=" + "x" * 300,
    ],
)
def test_bad_filters_are_a_400_page(owner_client, data, query):
    answer = owner_client.get("/admin/protections" + query)
    assert answer.status_code == 400
    assert "This list cannot be shown" in answer.get_data(as_text=True)
    if "limit" not in query and "after" not in query and "format" not in query:  # the export reads every row
        export = owner_client.get("/admin/protections" + query + "&format=csv")
        assert export.status_code == 400, export.get_data(as_text=True)


def test_staff_see_the_list_and_anonymous_visitors_sign_in_first(client, staff_client, data):
    assert _ids(staff_client)[:1] == [data["late"]]
    answer = client.get("/admin/protections")
    assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]
    assert client.get("/admin/protections?format=csv").status_code == 302


def test_another_shops_protection_is_a_404(owner_client, data):
    assert owner_client.get(f"/admin/protections/{data['theirs']}").status_code == 404
    assert owner_client.get("/admin/protections/prot_nothing").status_code == 404


def test_the_page_of_a_protection_shows_what_the_shopper_was_shown(app, client, owner_client, shop):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    consent = client.post(
        "/api/v1/consents",
        json={
            "quote": quote["id"],
            "price_shown": quote["customer_price"],
            "currency": quote["currency"],
            "text_shown": "Protect this order for $10.00 <b>refund or replacement</b>",
            "terms_version": "2026-11",
            "terms_url": "https://jade.example/terms",
            "locale": "zh-CN",
            "shown_at": "2026-11-21T10:00:00Z",
        },
        headers={**bearer(shop.keys.publishable_key), "Origin": "https://jade.example", "User-Agent": "JadeBrowser/1"},
    ).get_json()
    event = payment_intent_event(protected_metadata(quote, "1001", sp_consent=consent["id"]), pi_id="pi_consent")
    assert deliver(client, shop.shop.id, event).status_code == 200
    shipment = {
        "order_id": "1001",
        "shipment_id": "ful_1001_1",
        "carrier": "UPS",
        "tracking_number": "1Z1001",
        "shipped_at": rfc3339(ago(5)),
    }
    assert client.post("/api/v1/shipments", json=shipment, headers=bearer(shop.keys.secret_key)).status_code == 202
    track(app, "ful_1001_1", "delivered", ago(1))
    filed = claim_with_files(client, shop, [(photo(), "broken.jpg")])
    assert filed.status_code in (200, 201, 202), filed.get_json()

    [protection_id] = _ids(owner_client)
    page = owner_client.get(f"/admin/protections/{protection_id}")
    assert page.status_code == 200
    text = html.unescape(page.get_data(as_text=True))
    assert "Protect this order for $10.00 <b>refund or replacement</b>" in text  # escaped on the page
    assert "&lt;b&gt;" in page.get_data(as_text=True)
    for shown in (
        "$10.00",
        "2026-11",
        'href="https://jade.example/terms"',
        "2026-11-21 10:00",
        "zh-CN",
        "https://jade.example",
        "JadeBrowser/1",
        consent["id"],
        "The consent names the same quote as the payment.",
        "pi_consent",
        "ful_1001_1",
        "1Z1001",
        filed.get_json()["id"],
    ):
        assert shown in text, shown


def test_a_terms_url_that_is_not_http_is_not_a_link(app, owner_client, shop):
    consent = add_consent(app, shop.shop.id, terms_url="javascript:alert(1)", quote_reference="q.other")
    made = add_protection(app, shop.shop.id, "1001", at(0), consent_id=consent)
    text = owner_client.get(f"/admin/protections/{made}").get_data(as_text=True)
    assert "javascript:alert(1)" in text and 'href="javascript' not in text
    assert "The consent names another quote than the payment." in text


def test_the_list_speaks_chinese_and_its_csv_header_stays_the_same(app, shop, new_shop, data):
    user = make_user(app, shop.shop.id, "zh@jade.example", "staff")
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    page = client.get("/admin/protections?status=voided", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    text = page.get_data(as_text=True)
    assert "申报价值" in text and "已作废" in text and "下载 CSV" in text
    export = client.get("/admin/protections?format=csv", headers={"Accept-Language": "zh-CN"})
    assert csv_rows(export)[0] == list(protections_pages.CSV_HEADER)


def test_the_csv_says_which_coverages_each_protection_bought(app, client, shop, owner_client):
    """A purchase with a quote bundling the return cover (and naming the carrier) exports its parts."""
    protection = make_returns_covered_order(app, client, shop)
    rows = csv_rows(owner_client.get("/admin/protections?format=csv"))
    header, [row] = rows[0], rows[1:]
    exported = dict(zip(header, row, strict=True))
    assert exported["id"] == protection["id"]
    # $500.00 of jewelry: 2 % for the parcel, the default 1 % for the return label.
    assert (exported["coverages"], exported["customer_price_minor"]) == ("shipping+returns", "1500")
    assert (exported["returns_customer_price_minor"], exported["returns_customer_price"]) == ("500", "5.00")
    assert (exported["rate_tier"], exported["returns_rate_tier"]) == ("", "")
