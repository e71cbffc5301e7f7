"""Building claimable orders: a protected order paid through the webhook, shipped, with tracking in the past."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Shipment
from plugin.services.shipments import record_tracking
from tests.conftest import bearer
from tests.stripe_helpers import protected_order

EMAIL = "jade@example.com"  # the receipt email of tests.stripe_helpers' payments


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shipped_order(
    client,
    shop,
    order_id: str = "1001",
    *,
    shipped_days_ago: float = 10,
    parcels: int = 1,
    unit_price: int = 50000,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A protected order shipped `shipped_days_ago` days ago in `parcels` parcels; the protection."""
    protection = protected_order(client, shop, order_id=order_id, unit_price=unit_price)
    for index in range(parcels):
        body: dict[str, Any] = {
            "order_id": order_id,
            "shipment_id": f"ful_{order_id}_{index + 1}",
            "carrier": "UPS",
            "tracking_number": f"1Z{order_id}{index}",
            "shipped_at": rfc3339(days_ago(shipped_days_ago)),
        }
        if items is not None:
            body["items"] = items
        elif parcels > 1:
            body["items"] = [{"sku": f"JB-{index + 1}", "quantity": 1, "unit_price": unit_price // parcels}]
        response = client.post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key))
        assert response.status_code == 202, response.get_json()
    return protection


def track(app, shipment_ref: str, status: str, at: datetime) -> None:
    """A carrier update for the parcel the store knows by this id."""
    with app.app_context():
        shipment = db.session.scalars(select(Shipment).where(Shipment.shipment_ref == shipment_ref)).one()
        record_tracking(shipment, status, at)
        db.session.commit()


def claim(client, shop, **body: Any):
    """POST /api/v1/claims as JSON; a lost claim on order 1001 unless told otherwise."""
    payload = {"order_id": "1001", "email": EMAIL, "type": "lost", "description": "Never arrived.", **body}
    return client.post("/api/v1/claims", json=payload, headers=bearer(shop.keys.secret_key))


def claim_with_files(client, shop, files: list[tuple[bytes, str]], **fields: Any):
    """POST /api/v1/claims as multipart/form-data, files under `evidence`."""
    data: dict[str, Any] = {"order_id": "1001", "email": EMAIL, "type": "damaged", "description": "Broken.", **fields}
    data["evidence"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(
        "/api/v1/claims", data=data, headers=bearer(shop.keys.secret_key), content_type="multipart/form-data"
    )


def photo(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48), fmt: str = "JPEG") -> bytes:
    """A small real photo."""
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 8):  # some structure, so perceptual hashes have something to see
        for y in range(size[1]):
            image.putpixel((x, y), (x * 3 % 256, y * 5 % 256, 90))
    image.save(buffer, fmt)
    return buffer.getvalue()


def settings(client, shop, **claims: Any) -> None:
    response = client.patch("/api/v1/settings", json={"claims": claims}, headers=bearer(shop.keys.secret_key))
    assert response.status_code == 200, response.get_json()
