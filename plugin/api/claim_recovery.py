"""Settling a claim after approval (secret key): ask Stripe again for a failed refund, record the insurer's outcome."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, validate

from plugin.api.blueprint import Blueprint
from plugin.api.claim_presenters import claim_body
from plugin.api.claim_schemas import ClaimSchema
from plugin.api.claims import known_claim
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.models import Claim, utcnow
from plugin.schemas import MinorUnits, Text
from plugin.services import claim_payouts
from plugin.services import claims as service
from plugin.services.evidence import evidence_of_claim

bp = Blueprint(
    "claim_recovery",
    __name__,
    url_prefix="/api/v1/claims",
    description="Claims: retrying a failed refund, recording what the insurer paid.",
)


class RecoveryRequestSchema(Schema):
    status = Text(required=True, validate=validate.OneOf(claim_payouts.RECOVERY_STATUSES))
    amount = MinorUnits(
        load_default=None, allow_none=True, metadata={"description": "What the insurer approved or paid."}
    )
    reference = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The insurer's claim reference."},
    )


def _claim_response(claim: Claim) -> Response:
    return jsonify(claim_body(claim, evidence_of_claim(claim)))


def _known(claim_id: str) -> None:
    service.get_claim(current_snapshot().id, claim_id)  # an unknown claim is a 404 before its body is read


@bp.route("/<claim_id>/retry-refund", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.response(202, ClaimSchema)
@bp.documents_errors(401, 403, 404, 409)
def retry_refund(claim_id: str) -> Response:
    """Ask Stripe again for an approved claim's refund that failed (a new idempotency key); 409 otherwise."""
    _known(claim_id)
    response = _claim_response(claim_payouts.retry_refund(current_snapshot().id, claim_id, utcnow()))
    response.status_code = 202
    return response


@bp.route("/<claim_id>/recovery", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_claim
@bp.arguments(RecoveryRequestSchema)
@bp.response(200, ClaimSchema)
@bp.documents_errors(400, 401, 403, 404, 409, 415, 422)
def record_recovery(data: dict[str, Any], claim_id: str) -> Response:
    """Record what the insurer did with the claim (`status`, `amount`, `reference`), for insurers without a
    claims API (Loadsure) or an outcome learnt another way; 409 for self-insured claims and claims with no policy."""
    claim = claim_payouts.record_recovery(
        current_snapshot().id, claim_id, data["status"], data["amount"], data["reference"], utcnow()
    )
    return _claim_response(claim)
