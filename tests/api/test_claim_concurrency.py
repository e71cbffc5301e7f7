"""Claims filed at the same moment: one claim per parcel, and never past the customer's limit.

Requests race in threads against the suite's own database (SQLite's write lock; PostgreSQL's unique constraint and
a per-customer advisory lock), so the rules hold however many web processes take claims at once.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from plugin.extensions import db
from plugin.models import Claim
from tests.api.test_shipment_concurrency import _race
from tests.claim_helpers import EMAIL, shipped_order
from tests.conftest import bearer

RACERS = 6


def _recorded(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Claim))


def _filing(app, shop, order_id: str) -> Callable[[], int]:
    body = {"order_id": order_id, "email": EMAIL, "type": "lost", "description": "Never arrived."}
    return lambda: app.test_client().post("/api/v1/claims", json=body, headers=bearer(shop.keys.secret_key)).status_code


def test_simultaneous_claims_on_one_parcel_record_one(app, client, shop):
    shipped_order(client, shop)
    statuses = _race([_filing(app, shop, "1001") for _ in range(RACERS)])
    assert sorted(statuses) == [201] + [409] * (RACERS - 1)
    assert _recorded(app) == 1


def test_simultaneous_claims_of_one_customer_stop_at_the_limit(app, client, shop):
    orders = [str(2000 + index) for index in range(RACERS)]
    for order in orders:
        shipped_order(client, shop, order_id=order)
    statuses = _race([_filing(app, shop, order) for order in orders])
    assert sorted(statuses) == [201] * 3 + [422] * (RACERS - 3)
    assert _recorded(app) == 3
