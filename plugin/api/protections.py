"""GET /api/v1/protections and /api/v1/protections/<id> (secret key)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from plugin.api.blueprint import Blueprint
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.schemas import ListSchema, PolicySchema, ShipmentSchema, UtcDateTime
from plugin.services.protections import ProtectionFilter, get_protection, list_protections, protection_body

bp = Blueprint("protections", __name__, url_prefix="/api/v1/protections", description="Protected purchases.")


class ProtectionListQuery(Schema):
    order_id = fields.String(validate=validate.Length(min=1, max=255))
    status = fields.String(validate=validate.OneOf(["active", "voided", "needs_review"]))
    created_gte = UtcDateTime(data_key="created[gte]", metadata={"description": "RFC 3339"})
    created_lte = UtcDateTime(data_key="created[lte]", metadata={"description": "RFC 3339"})
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    starting_after = fields.String(validate=validate.Length(min=1, max=40))


class ProtectionSchema(Schema):
    id = fields.String()
    object = fields.String()
    order_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["active", "voided", "needs_review"]})
    review_reason = fields.String(allow_none=True)
    disputed = fields.Boolean()
    currency = fields.String()
    declared_value = fields.Integer()
    premium = fields.Integer()
    customer_price = fields.Integer()
    merchant_contribution = fields.Integer()
    amount_charged = fields.Integer(allow_none=True)
    amount_refunded = fields.Integer()
    payment_intent = fields.String(allow_none=True)
    checkout_session = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    consent = fields.String(allow_none=True)
    consent_verified = fields.Boolean()
    quote = fields.String()
    quote_expires_at = fields.String(allow_none=True)
    line_item_check = fields.String()
    voided_at = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    shipments = fields.List(fields.Nested(ShipmentSchema))
    policies = fields.List(fields.Nested(PolicySchema))


class ProtectionListSchema(ListSchema):
    data = fields.List(fields.Nested(ProtectionSchema), required=True)


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(ProtectionListQuery, location="query", as_kwargs=True)
@bp.response(200, ProtectionListSchema)
@bp.documents_errors(401, 403, 422)
def index(**query: Any) -> dict[str, Any]:
    """The shop's protections, newest first; page on with `starting_after` while `has_more`."""
    rows, has_more = list_protections(current_snapshot().id, ProtectionFilter(**query))
    return {"object": "list", "data": [protection_body(row) for row in rows], "has_more": has_more}


@bp.route("/<protection_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, ProtectionSchema)
@bp.documents_errors(401, 403, 404)
def show(protection_id: str) -> dict[str, Any]:
    """One protection."""
    return protection_body(get_protection(current_snapshot().id, protection_id))
