"""POST /api/v1/shipments and GET /api/v1/shipments?order_id=… (secret key)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from plugin.api.blueprint import Blueprint
from plugin.api.presenters import order_shipment_bodies, shipment_body
from plugin.auth import KeyKind, current_shop, current_snapshot, require_key
from plugin.domain.claims import address_key
from plugin.domain.pricing import Destination
from plugin.models import utcnow
from plugin.schemas import OrderQuerySchema, ShipmentListSchema, ShipmentRequestSchema, ShipmentSchema
from plugin.services.policies import order_policies
from plugin.services.shipments import (
    ShipmentItem,
    ShipmentRequest,
    order_shipments,
    record_shipment,
)

bp = Blueprint("shipments", __name__, url_prefix="/api/v1/shipments", description="Parcels and their cover.")


def _destination(data: dict[str, Any] | None) -> Destination | None:
    if data is None:
        return None
    return Destination(data["country"], data.get("region"), data.get("postal_code"))


def _address_key(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return address_key(data["country"], data.get("postal_code"), data.get("line1"))


@bp.route("", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.arguments(ShipmentRequestSchema)
@bp.response(202, ShipmentSchema)
@bp.documents_errors(400, 401, 403, 409, 413, 415, 422)
def create(data: dict[str, Any]) -> Response:
    """Record a parcel; a covered one gets a pending policy that the worker buys. Repeats buy nothing twice;
    a shipment_id already recorded for another order is a 409."""
    request = ShipmentRequest(
        shipment_ref=data["shipment_id"],
        order_id=data["order_id"],
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
        tracking_url=data.get("tracking_url"),
        shipped_at=data.get("shipped_at"),
        items=tuple(
            ShipmentItem(item["sku"], item["quantity"], item.get("unit_price"), item.get("name"))
            for item in data["items"]
        )
        if data.get("items")
        else None,
        destination=_destination(data.get("destination")),
        address_key=_address_key(data.get("destination")),
    )
    recorded = record_shipment(current_shop(), request, utcnow())
    response = jsonify(shipment_body(recorded.shipment, recorded.policy))
    response.status_code = 202
    return response


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(OrderQuerySchema, location="query")
@bp.response(200, ShipmentListSchema)
@bp.documents_errors(401, 403, 422)
def index(query: dict[str, Any]) -> Response:
    """The order's shipments with their tracking and policies."""
    shop_id, order_id = current_snapshot().id, query["order_id"]
    bodies = order_shipment_bodies(order_shipments(shop_id, order_id), order_policies(shop_id, order_id))
    return jsonify({"object": "list", "data": bodies, "has_more": False})
