"""GET /api/v1/protections: filters, cursor pagination, tenant isolation."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.stripe_helpers import (
    configure_stripe,
    deliver,
    payment_intent_event,
    protected_metadata,
    quote_for,
)


@pytest.fixture()
def five_protections(client, shop):
    configure_stripe(client, shop)
    quote = quote_for(client, shop)
    for index in range(5):
        metadata = protected_metadata(quote, order_id=f"O-{index}")
        if index == 4:
            metadata["sp_amount"] = "1"  # one for review
        deliver(client, shop.shop.id, payment_intent_event(metadata, pi_id=f"pi_{index}"))
    return shop


def get(client, shop, **query):
    return client.get("/api/v1/protections", query_string=query, headers=bearer(shop.keys.secret_key))


def test_pages_newest_first_with_a_cursor(client, five_protections):
    first = get(client, five_protections, limit=2).get_json()
    assert first["has_more"] is True and len(first["data"]) == 2
    seen = [p["id"] for p in first["data"]]
    cursor = seen[-1]
    while True:
        page = get(client, five_protections, limit=2, starting_after=cursor).get_json()
        seen += [p["id"] for p in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    assert len(seen) == len(set(seen)) == 5
    orders = [p["order_id"] for p in get(client, five_protections, limit=100).get_json()["data"]]
    assert sorted(orders) == [f"O-{i}" for i in range(5)]


def test_filters(client, five_protections):
    assert [p["order_id"] for p in get(client, five_protections, order_id="O-2").get_json()["data"]] == ["O-2"]
    review = get(client, five_protections, status="needs_review").get_json()["data"]
    assert [p["order_id"] for p in review] == ["O-4"]
    assert len(get(client, five_protections, **{"created[gte]": "2000-01-01T00:00:00Z"}).get_json()["data"]) == 5
    assert get(client, five_protections, **{"created[lte]": "2000-01-01T00:00:00Z"}).get_json()["data"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "lost"}, "status"),
        ({"created[gte]": "yesterday"}, "created[gte]"),
        ({"starting_after": "prot_unknown"}, "starting_after"),
    ],
)
def test_bad_queries_are_422(client, five_protections, query, field):
    response = get(client, five_protections, **query)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_another_shops_protections_are_invisible(client, five_protections, new_shop):
    other = new_shop("Other")
    assert get(client, other).get_json() == {"object": "list", "data": [], "has_more": False}
    some_id = get(client, five_protections).get_json()["data"][0]["id"]
    response = client.get(f"/api/v1/protections/{some_id}", headers=bearer(other.keys.secret_key))
    assert response.status_code == 404
    assert get(client, other, starting_after=some_id).status_code == 422


def test_publishable_keys_cannot_read_protections(client, five_protections):
    response = client.get("/api/v1/protections", headers=bearer(five_protections.keys.publishable_key))
    assert response.status_code == 403
