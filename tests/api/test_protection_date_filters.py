"""created[gte] / created[lte] take a plain date (a whole UTC day) or an RFC 3339 date-time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugin.extensions import db
from plugin.models import Protection
from tests.conftest import bearer
from tests.stripe_helpers import protected_order

CREATED = {
    "1001": datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC),
    "1002": datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC),
    "1003": datetime(2026, 11, 30, 23, 59, 59, 500_000, tzinfo=UTC),
    "1004": datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC),
}


@pytest.fixture()
def dated_shop(app, client, shop):
    for order_id, created_at in CREATED.items():
        protection = protected_order(client, shop, order_id=order_id)
        with app.app_context():
            db.session.get(Protection, protection["id"]).created_at = created_at
            db.session.commit()
    return shop


def orders(client, shop, **query: str) -> list[str]:
    response = client.get("/api/v1/protections", query_string=query, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
    return sorted(protection["order_id"] for protection in response.get_json()["data"])


def test_plain_dates_cover_whole_utc_days(client, dated_shop):
    november = {"created[gte]": "2026-11-01", "created[lte]": "2026-11-30"}
    assert orders(client, dated_shop, **november) == ["1002", "1003"]
    assert orders(client, dated_shop, **{"created[lte]": "2026-10-31"}) == ["1001"]
    assert orders(client, dated_shop, **{"created[gte]": "2026-12-01"}) == ["1004"]


def test_rfc3339_date_times_still_work_with_their_offset(client, dated_shop):
    assert orders(client, dated_shop, **{"created[gte]": "2026-11-01T08:00:00+08:00"}) == ["1002", "1003", "1004"]
    assert orders(client, dated_shop, **{"created[lte]": "2026-11-30T23:59:59Z"}) == ["1001", "1002"]


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-11-31",
        "2026-1-1",
        "2026-11-01T10:00:00",
        "0000-01-01",
        "2026-11-01 10:00Z",
        "\u0662026-11-01",
    ],
)
def test_anything_else_is_a_422_naming_the_accepted_formats(client, shop, value):
    response = client.get(
        "/api/v1/protections", query_string={"created[gte]": value}, headers=bearer(shop.keys.secret_key)
    )
    assert response.status_code == 422
    [message] = response.get_json()["error"]["fields"]["created[gte]"]
    assert "2026-11-01" in message and "RFC 3339" in message
