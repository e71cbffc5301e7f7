"""Orders whose protection carries the return cover, and returns opened on them through the API.

`make_returns_covered_order` records the protected payment the normal way (the Stripe webhook), ships it, then
sets the return cover on the Protection directly: the one place to switch to the end-to-end quote path once
quotes price the return cover.
"""

from __future__ import annotations

from typing import Any

from plugin.extensions import db
from plugin.models import Protection
from tests.claim_helpers import shipped_order
from tests.conftest import bearer

RETURNS_PREMIUM = 300  # what the return cover's part of the price is said to be


def enable_returns(client, shop, **returns: Any) -> None:
    """Switch the shop's return cover on, with these coverage.returns settings."""
    body = {"coverage": {"returns": {"enabled": True, **returns}}}
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def make_returns_covered_order(app, client, shop, order_id: str = "1001", **kwargs: Any) -> dict[str, Any]:
    """A protected, shipped order whose protection was bought with the return cover; the protection."""
    protection = shipped_order(client, shop, order_id, **kwargs)
    with app.app_context():
        row = db.session.get(Protection, protection["id"])
        assert row is not None
        row.covers_returns = True
        row.returns_premium_amount = RETURNS_PREMIUM
        row.returns_customer_price_amount = RETURNS_PREMIUM
        row.returns_merchant_contribution_amount = 0
        db.session.commit()
    return protection


def open_return(client, shop, **body: Any):
    """POST /api/v1/returns; return R-1 of order 1001 with a 800-cent label unless told otherwise."""
    payload = {
        "order_id": "1001",
        "return_id": "R-1",
        "carrier": "UPS",
        "tracking_number": "1ZRETURN1",
        "label_cost": 800,
        **body,
    }
    return client.post("/api/v1/returns", json=payload, headers=bearer(shop.keys.secret_key))
