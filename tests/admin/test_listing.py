"""The lists' shared parts on their own: keyset pages (equal times, segments, cursors old and new, hostile
cursors), the batch walk behind CSV exports, CSV cells, and the filters read from the query string."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.admin import listing
from plugin.admin.listing import (
    BadFilter,
    Order,
    Segment,
    chained_page,
    choice_arg,
    csv_cell,
    csv_response,
    date_arg,
    date_range_args,
    encode_cursor,
    format_arg,
    keyset_page,
    limit_arg,
    shop_zone,
    text_arg,
    walk,
    walk_chain,
)
from plugin.extensions import db
from plugin.models import Protection, WebhookDelivery
from tests.list_helpers import add_delivery, add_protection, at

NEWEST = (Order(Protection.created_at), Order(Protection.id))
DELIVERIES_NEWEST = (Order(WebhookDelivery.received_at), Order(WebhookDelivery.id))


def _protections(shop_id: str):
    return select(Protection).where(Protection.shop_id == shop_id)


def _pages(app: Flask, segments: list[Segment], limit: int) -> list[list]:
    """Every page, following the cursors: each page's row ids."""
    pages, cursor = [], None
    with app.test_request_context():
        while True:
            page = chained_page(segments, cursor, limit)
            pages.append([getattr(row, "id", row) for row in page.rows])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor
            assert len(pages) < 50


@pytest.fixture()
def many(app: Flask, shop) -> list[str]:
    """Eleven protections: five share one creation time to the microsecond, the rest are a minute apart."""
    sid = shop.shop.id
    made = [add_protection(app, sid, f"same-{n}", at(5)) for n in range(5)]
    made += [add_protection(app, sid, f"o{n}", at(n)) for n in (0, 1, 2, 3, 7, 9)]
    return made


def _expected(app: Flask, ids: list[str]) -> list[str]:
    """The rows in the list's order as one query reads them all (the database's collation orders equal times)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(Protection.id)
                .where(Protection.id.in_(ids))
                .order_by(Protection.created_at.desc(), Protection.id.desc())
            )
        )


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 10, 11, 50])
def test_pages_hold_every_row_once_in_order_even_with_equal_times(app, shop, many, limit):
    pages = _pages(app, [Segment(_protections(shop.shop.id), NEWEST)], limit)
    flat = [row for page in pages for row in page]
    assert flat == _expected(app, many)
    assert all(len(page) == limit for page in pages[:-1]) and 0 < len(pages[-1]) <= limit


def test_segments_are_read_one_after_the_other_and_empty_ones_are_skipped(app, shop, new_shop, many):
    sid = shop.shop.id
    other = new_shop("Other House")
    add_protection(app, other.shop.id, "theirs", at(4))
    base = _protections(sid)
    segments = [
        Segment(base.where(Protection.order_id.like("same-%")), NEWEST),
        Segment(base.where(Protection.order_id == "nothing"), NEWEST),  # empty: skipped
        Segment(base.where(Protection.order_id.not_like("same-%")), (Order(Protection.created_at, False), *NEWEST[1:])),
    ]
    expected_same = _expected(app, many[:5])
    with app.app_context():
        rest = db.session.scalars(
            select(Protection.id)
            .where(Protection.id.in_(many[5:]))
            .order_by(Protection.created_at, Protection.id.desc())
        ).all()
    expected = expected_same + list(rest)
    for limit in (1, 2, 4, 5, 6, 11, 12):  # 5: a page ends exactly where the first segment ends
        pages = _pages(app, segments, limit)
        assert [row for page in pages for row in page] == expected, limit


def test_a_row_that_leaves_the_list_does_not_break_the_next_page(app, shop, many):
    sid = shop.shop.id
    segment = Segment(_protections(sid).where(Protection.status == "active"), NEWEST)
    expected = _expected(app, many)
    with app.test_request_context():
        first = chained_page([segment], None, 3)
        assert [p.id for p in first.rows] == expected[:3]
        # The last row shown is dealt with meanwhile (here: voided): the list goes on after it all the same.
        db.session.get(Protection, expected[2]).status = "voided"
        db.session.commit()
        second = chained_page([segment], first.next_cursor, 3)
        assert [p.id for p in second.rows] == expected[3:6]


def test_a_cursor_never_reaches_another_shops_rows(app, shop, new_shop, many):
    other = new_shop("Other House")
    theirs = add_protection(app, other.shop.id, "theirs", at(4))
    with app.test_request_context():
        ours = chained_page([Segment(_protections(shop.shop.id), NEWEST)], None, 2)
        # Our cursor used on their list starts their list after our row's sort values: only their rows.
        theirs_page = chained_page([Segment(_protections(other.shop.id), NEWEST)], ours.next_cursor, 50)
        assert [p.id for p in theirs_page.rows] == [theirs]
        # Their id as an old-style cursor on our list: not one of our rows, refused.
        with pytest.raises(BadFilter):
            keyset_page(_protections(shop.shop.id), NEWEST, Protection.id, theirs)


def test_keyset_page_still_speaks_in_row_ids(app, shop, many):
    expected = _expected(app, many)
    statement = _protections(shop.shop.id)
    with app.test_request_context():
        page = keyset_page(statement, NEWEST, Protection.id, expected[4], 3)
        assert [p.id for p in page.rows] == expected[5:8]
        assert page.next_cursor == expected[7]  # callers read it as the last row's id
        pairs = select(Protection, Protection.order_id).where(Protection.shop_id == shop.shop.id)
        assert keyset_page(pairs, NEWEST, Protection.id, None, 2).next_cursor == expected[1]
        # A cursor of chained_page's is taken as well.
        following = chained_page([Segment(statement, NEWEST)], None, 5).next_cursor
        assert [p.id for p in keyset_page(statement, NEWEST, Protection.id, following, 2).rows] == expected[5:7]
        assert keyset_page(statement, NEWEST, Protection.id, expected[-2], 5).next_cursor is None


def test_integer_ids_as_cursors(app, shop):
    sid = shop.shop.id
    ids = [add_delivery(app, sid, "stripe", f"evt_{n}", at(n // 2), topic="t", outcome="applied") for n in range(6)]
    statement = select(WebhookDelivery).where(WebhookDelivery.shop_id == sid)
    with app.test_request_context():
        page = keyset_page(statement, DELIVERIES_NEWEST, WebhookDelivery.id, str(ids[3]), 10)
        assert [d.id for d in page.rows] == [ids[2], ids[1], ids[0]]
        for bad in ("abc", "-1", "1e3", "9" * 40, "²"):
            with pytest.raises(BadFilter):
                keyset_page(statement, DELIVERIES_NEWEST, WebhookDelivery.id, bad, 10)


def _cursor(document: object) -> str:
    return "k1." + base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "k1.",
        "k1.!!!",
        "k1." + "A" * 10,
        _cursor(None),
        _cursor([0, [1]]),  # too few values
        _cursor([5, [1, "prot_x"]]),  # no such segment
        _cursor([-1, [1, "prot_x"]]),
        _cursor([True, [1, "prot_x"]]),
        _cursor(["0", [1, "prot_x"]]),
        _cursor([0, ["not a time", "prot_x"]]),
        _cursor([0, [1.5, "prot_x"]]),
        _cursor([0, [True, "prot_x"]]),
        _cursor([0, [1, 2]]),  # an id that is not text
        _cursor([0, [1, "a\u0000b"]]),
        _cursor([0, [10**30, "prot_x"]]),  # a time past the calendar
        _cursor({"segment": 0}),
        "k1." + "A" * 2000,
        "prot_nothing",
        "x\x00y",
    ],
)
def test_hostile_cursors_are_a_bad_filter(app, shop, many, cursor):
    with app.test_request_context(), pytest.raises(BadFilter):
        keyset_page(_protections(shop.shop.id), NEWEST, Protection.id, cursor)


def test_a_null_sort_key_is_a_programming_error_not_a_lost_row():
    with pytest.raises(ValueError):
        encode_cursor(0, [None, "prot_1"])


def test_walk_reads_in_batches_and_finds_every_row(app, shop, many, monkeypatch):
    monkeypatch.setattr(listing, "CSV_BATCH", 2)
    statement = _protections(shop.shop.id)
    with app.test_request_context():
        assert [p.id for p in walk(statement, NEWEST, Protection.id)] == _expected(app, many)
        two = [Segment(statement.where(Protection.order_id.like("same-%")), NEWEST), Segment(statement, NEWEST)]
        walked = [p.id for p in walk_chain(two)]
    assert walked == _expected(app, many[:5]) + _expected(app, many)


def test_csv_cells():
    assert csv_cell(None) == ""
    assert csv_cell(-500) == "-500"  # a refund is a number, not a formula
    assert csv_cell(Decimal("-5.00")) == "-5.00"
    assert csv_cell(True) == "true" and csv_cell(False) == "false"
    assert csv_cell(datetime(2026, 11, 23, 8, 30, 5, 123456, tzinfo=UTC)) == "2026-11-23T08:30:05Z"
    for formula in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "\nx", "＝1+1", "＋1", "－1", "＠x"):
        assert csv_cell(formula) == "'" + formula
    assert csv_cell("jade@example.com") == "jade@example.com"
    assert csv_cell("订单 1001") == "订单 1001"


def test_csv_response_streams_a_bom_a_header_and_rows(app):
    with app.test_request_context():
        response = csv_response("x.csv", ["a", "b"], iter([["=cmd", 1], ["中文", None]]))
        assert response.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
        assert response.is_streamed
        text = b"".join(response.iter_encoded()).decode()
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [["a", "b"], ["'=cmd", "1"], ["中文", ""]]


def test_text_and_choice_filters(app):
    with app.test_request_context("/?q=%20%20jade%20&empty=&status=active"):
        assert text_arg("q") == "jade" and text_arg("empty") is None and text_arg("missing") is None
        assert choice_arg("status", ["active", "voided"]) == "active"
        assert format_arg() == "html"
    for query in ("q=a%00b", "q=a%01b", "q=" + "x" * 201, "q=%7F"):
        with app.test_request_context("/?" + query), pytest.raises(BadFilter):
            text_arg("q")
    with app.test_request_context("/?status=nope&format=xml"):
        with pytest.raises(BadFilter):
            choice_arg("status", ["active"])
        with pytest.raises(BadFilter):
            format_arg()


@pytest.mark.parametrize("raw", ["0", "201", "-1", "1.5", "²", "٣", "1" * 5000, "abc"])
def test_bad_page_sizes(app, raw):
    with app.test_request_context("/", query_string={"limit": raw}), pytest.raises(BadFilter):
        limit_arg()


def test_page_sizes(app):
    with app.test_request_context("/"):
        assert limit_arg() == listing.PAGE_SIZE
    with app.test_request_context("/?limit=200"):
        assert limit_arg() == 200


def test_dates_are_whole_days_in_the_shops_zone(app):
    shanghai = shop_zone("Asia/Shanghai")
    with app.test_request_context("/?from=2026-11-23&to=2026-11-23"):
        assert date_range_args(shanghai) == (
            datetime(2026, 11, 22, 16, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
        )
        assert date_arg("from", shop_zone(None)) == datetime(2026, 11, 23, tzinfo=UTC)
    for query in (
        "from=2026-11-24&to=2026-11-23",
        "from=23/11/2026",
        "from=20261123",
        "from=2026-W48-1",
        "to=9999-12-31",
        "from=0001-01-01",
        "from=%EF%BC%92026-11-23",
    ):
        with app.test_request_context("/?" + query), pytest.raises(BadFilter):
            date_range_args(shanghai)


def test_unknown_zones_are_utc():
    for name in (None, "", "Mars/Olympus", "../../etc/passwd", "UTC\x00"):
        assert shop_zone(name).key == "UTC"
    assert shop_zone("America/New_York").key == "America/New_York"
