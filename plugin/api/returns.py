"""Returns and the return cover (secret key): open, list, read, receive, flag; the blocked shoppers."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from plugin.api.blueprint import Blueprint
from plugin.api.claim_presenters import claim_body
from plugin.api.claim_schemas import ClaimSchema
from plugin.api.known import known
from plugin.api.protections import PageQuery
from plugin.auth import KeyKind, bearer_token, current_shop, current_snapshot, hash_key, require_key
from plugin.crypto import mask
from plugin.domain.returns import FlagReason, ReturnStatus, UncoveredReason
from plugin.extensions import db
from plugin.models import ApiKey, BlockedShopper, Return, rfc3339, utcnow
from plugin.schemas import MAX_QUANTITY, CurrencyCode, ExternalId, ListSchema, MinorUnits, StrictInteger, Text
from plugin.services import blocked_shoppers
from plugin.services import returns as service
from plugin.services.evidence import evidence_of_claim

bp = Blueprint("returns", __name__, url_prefix="/api/v1/returns", description="Returns and the return cover.")
blocked_bp = Blueprint(
    "blocked_shoppers",
    __name__,
    url_prefix="/api/v1/blocked-shoppers",
    description="Shoppers whose return cover the merchant blocked.",
)

RETURN_STATUSES = [status.value for status in ReturnStatus]
BLOCKED_PAGE = 100


class ReturnItemSchema(Schema):
    sku = Text(required=True, validate=validate.Length(min=1, max=128))
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class ReturnRequestSchema(Schema):
    order_id = ExternalId(required=True)
    return_id = ExternalId(required=True, metadata={"description": "The store's own id for this return."})
    carrier = Text(required=True, validate=validate.Length(min=1, max=100))
    tracking_number = Text(required=True, validate=validate.Length(min=1, max=255))
    label_cost = MinorUnits(required=True, metadata={"description": "What the return label cost, minor units."})
    currency = CurrencyCode(load_default=None, allow_none=True, metadata={"description": "Default: the order's."})
    items = fields.List(fields.Nested(ReturnItemSchema), load_default=list, validate=validate.Length(max=500))


class FlagRequestSchema(Schema):
    reason = Text(required=True, validate=validate.OneOf([reason.value for reason in FlagReason]))


class ReturnListQuery(PageQuery):
    order_id = fields.String(validate=validate.Length(min=1, max=255))
    status = fields.String(validate=validate.OneOf(RETURN_STATUSES))


class ReturnSchema(Schema):
    id = fields.String()
    object = fields.String()
    return_id = fields.String(metadata={"description": "The store's id of the return."})
    order_id = fields.String()
    source = fields.String(metadata={"enum": ["api", "platform"]})
    email = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    label_cost = fields.Integer()
    currency = fields.String()
    items = fields.List(fields.Dict())
    status = fields.String(metadata={"enum": RETURN_STATUSES})
    uncovered_reason = fields.String(allow_none=True, metadata={"enum": [r.value for r in UncoveredReason]})
    flag_reason = fields.String(allow_none=True, metadata={"enum": [r.value for r in FlagReason]})
    claim = fields.Nested(ClaimSchema, allow_none=True)
    created_at = fields.String()
    received_at = fields.String(allow_none=True)
    flagged_at = fields.String(allow_none=True)


class ReturnListSchema(ListSchema):
    data = fields.List(fields.Nested(ReturnSchema), required=True)


class BlockedShopperSchema(Schema):
    object = fields.String()
    email = fields.String()
    reason = fields.String(metadata={"enum": [r.value for r in FlagReason]})
    return_ = fields.String(
        attribute="return", data_key="return", allow_none=True, metadata={"description": "The flagged return."}
    )
    created_at = fields.String()


class BlockedShopperListSchema(ListSchema):
    data = fields.List(fields.Nested(BlockedShopperSchema), required=True)


def api_actor() -> str:
    """How the audit log names the API key of this request (`api_key:sk_…abcd`)."""
    token = bearer_token() or ""
    display = db.session.scalar(select(ApiKey.display).where(ApiKey.key_hash == hash_key(token)))
    return f"api_key:{display or mask(token)}"


def return_body(ret: Return) -> dict[str, Any]:
    """The return object, with its claim as the claims API shows it (or null)."""
    claim = service.claim_of(ret)
    return {
        "id": ret.id,
        "object": "return",
        "return_id": ret.return_ref,
        "order_id": ret.order_id,
        "source": ret.source,
        "email": ret.email,
        "carrier": ret.carrier,
        "tracking_number": ret.tracking_number,
        "label_cost": ret.label_cost_amount,
        "currency": ret.currency,
        "items": list(ret.items or []),
        "status": ret.status,
        "uncovered_reason": ret.uncovered_reason,
        "flag_reason": ret.flag_reason,
        "claim": claim_body(claim, evidence_of_claim(claim)) if claim is not None else None,
        "created_at": rfc3339(ret.created_at),
        "received_at": rfc3339(ret.received_at),
        "flagged_at": rfc3339(ret.flagged_at),
    }


def blocked_body(row: BlockedShopper) -> dict[str, Any]:
    return {
        "object": "blocked_shopper",
        "email": row.email,
        "reason": row.reason,
        "return": row.return_id,
        "created_at": rfc3339(row.created_at),
    }


def _answer(ret: Return, status: int) -> Response:
    response = jsonify(return_body(ret))
    response.status_code = status
    return response


@bp.route("", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.arguments(ReturnRequestSchema)
@bp.response(201, ReturnSchema)
@bp.alt_response(200, schema=ReturnSchema, description="This return_id was opened before: the same return.")
@bp.documents_errors(400, 401, 403, 404, 409, 413, 415, 422)
def create(data: dict[str, Any]) -> Response:
    """Open a return; a covered one opens its `return_shipping` claim. The same `return_id` again answers 200
    with the same return; with other details it is a 409 `return_id_reused`."""
    request = service.ReturnRequest(
        return_ref=data["return_id"],
        order_id=data["order_id"],
        carrier=data["carrier"],
        tracking_number=data["tracking_number"],
        label_cost=data["label_cost"],
        currency=data["currency"],
        items=tuple(service.ReturnItem(item["sku"], item["quantity"]) for item in data["items"]),
        source="api",
    )
    opened = service.open_return(current_shop(), request, utcnow())
    return _answer(opened.ret, 201 if opened.created else 200)


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(ReturnListQuery, location="query", as_kwargs=True)
@bp.response(200, ReturnListSchema)
@bp.documents_errors(401, 403, 422)
def index(**query: Any) -> dict[str, Any]:
    """The shop's returns, newest first (filtered by order or status); page on with `starting_after`."""
    rows, has_more = service.list_returns(current_snapshot().id, service.ReturnFilter(**query))
    return {"object": "list", "data": [return_body(row) for row in rows], "has_more": has_more}


@bp.route("/<return_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, ReturnSchema)
@bp.documents_errors(401, 403, 404)
def show(return_id: str) -> dict[str, Any]:
    """One return, by its id (`ret_…`) or the store's return id."""
    return return_body(service.get_return(current_snapshot().id, return_id))


@bp.route("/<return_id>/received", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.response(200, ReturnSchema)
@bp.documents_errors(401, 403, 404, 409)
def received(return_id: str) -> dict[str, Any]:
    """The return reached the merchant: its claim is approved and the worker refunds the label through Stripe.
    A repeat changes nothing; a flagged return is a 409."""
    shop_id = current_snapshot().id
    return return_body(service.receive_return(shop_id, return_id, utcnow(), actor=api_actor()))


known_return = known(service.get_return, "return_id")


@bp.route("/<return_id>/flag", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_return
@bp.arguments(FlagRequestSchema)
@bp.response(200, ReturnSchema)
@bp.documents_errors(400, 401, 403, 404, 409, 415, 422)
def flag(data: dict[str, Any], return_id: str) -> dict[str, Any]:
    """Swapped or empty: the claim is denied and the shopper's return cover blocked. After the refund went to
    Stripe it is a 409 `return_already_paid`."""
    shop_id = current_snapshot().id
    ret = service.flag_return(shop_id, return_id, FlagReason(data["reason"]), utcnow(), actor=api_actor())
    return return_body(ret)


@blocked_bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@blocked_bp.response(200, BlockedShopperListSchema)
@blocked_bp.documents_errors(401, 403)
def blocked_index() -> dict[str, Any]:
    """The shoppers whose return cover is blocked, newest first (at most 100)."""
    rows = blocked_shoppers.list_blocked(current_snapshot().id, limit=BLOCKED_PAGE + 1)
    return {
        "object": "list",
        "data": [blocked_body(row) for row in rows[:BLOCKED_PAGE]],
        "has_more": len(rows) > BLOCKED_PAGE,
    }


@blocked_bp.route("/<email>", methods=["DELETE"])
@require_key(KeyKind.SECRET)
@blocked_bp.response(204)
@blocked_bp.documents_errors(401, 403, 404)
def lift(email: str) -> Response:
    """Lift the block: the shopper's next returns are covered again."""
    blocked_shoppers.lift_block(current_snapshot().id, email, utcnow(), actor=api_actor())
    return Response(status=204)
