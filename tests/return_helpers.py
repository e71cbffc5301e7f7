"""Orders whose protection carries the return cover, and returns opened on them through the API.

`make_returns_covered_order` goes the whole way a shopper does: a quote that bundles the return cover, the protected
payment through the Stripe webhook, then the shipment.
"""

from __future__ import annotations

from typing import Any

from tests.claim_helpers import shipped_order
from tests.conftest import bearer


def enable_returns(client, shop, **returns: Any) -> None:
    """Switch the shop's return cover on, with these coverage.returns settings."""
    body = {"coverage": {"returns": {"enabled": True, **returns}}}
    response = client.patch("/api/v1/settings", json=body, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()


def make_returns_covered_order(app, client, shop, order_id: str = "1001", **kwargs: Any) -> dict[str, Any]:
    """A protected, shipped order bought with a quote that bundles the return cover; the protection. The return
    cover is switched on for the purchase, and left as it was found afterwards."""
    headers = bearer(shop.keys.secret_key)
    was_on = client.get("/api/v1/settings", headers=headers).get_json()["coverage"]["returns"]["enabled"]
    if not was_on:
        enable_returns(client, shop)
    protection = shipped_order(client, shop, order_id, **kwargs)
    if not was_on:
        body = {"coverage": {"returns": {"enabled": False}}}
        assert client.patch("/api/v1/settings", json=body, headers=headers).status_code == 200
    assert [coverage["type"] for coverage in protection["coverages"]] == ["shipping", "returns"]
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
