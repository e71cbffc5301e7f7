"""GET /api/v1/policies?order_id=…, GET /api/v1/policies/<id>, POST /api/v1/policies/<id>/retry (secret key)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from plugin.api.blueprint import Blueprint
from plugin.api.presenters import policy_body
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.models import utcnow
from plugin.schemas import OrderQuerySchema, PolicyListSchema, PolicySchema
from plugin.services.policies import get_policy, order_policies, retry_policy

bp = Blueprint("policies", __name__, url_prefix="/api/v1/policies", description="Cargo insurance per parcel.")


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(OrderQuerySchema, location="query")
@bp.response(200, PolicyListSchema)
@bp.documents_errors(401, 403, 422)
def index(query: dict[str, Any]) -> Response:
    """The order's policies."""
    policies = order_policies(current_snapshot().id, query["order_id"])
    return jsonify({"object": "list", "data": [policy_body(p) for p in policies], "has_more": False})


@bp.route("/<policy_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, PolicySchema)
@bp.documents_errors(401, 403, 404)
def show(policy_id: str) -> dict[str, Any]:
    """One policy."""
    return policy_body(get_policy(current_snapshot().id, policy_id))


@bp.route("/<policy_id>/retry", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.response(200, PolicySchema)
@bp.documents_errors(401, 403, 404, 409)
def retry(policy_id: str) -> dict[str, Any]:
    """Make a failed or retrying policy due now (a failed one is asked afresh, attempts reset)."""
    return policy_body(retry_policy(current_snapshot().id, policy_id, utcnow()))
