"""The claims API (secret key): file, list, read, decide, settle, and the notes and files around a claim."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from marshmallow import ValidationError

from plugin.api.blueprint import Blueprint
from plugin.api.claim_presenters import claim_body, evidence_body, message_body
from plugin.api.claim_schemas import (
    ApproveRequestSchema,
    ClaimListQuery,
    ClaimListSchema,
    ClaimRequestSchema,
    ClaimSchema,
    DenyRequestSchema,
    EvidenceListSchema,
    MarkPaidRequestSchema,
    MessageListSchema,
    MessageRequestSchema,
    MessageSchema,
)
from plugin.api.known import known
from plugin.api.uploads import evidence_attachment, read_data_and_files
from plugin.auth import KeyKind, current_shop, current_snapshot, require_key
from plugin.domain.claims import FILED_TYPES, AffectedItem, ClaimType, Resolution
from plugin.errors import ValidationFailedError
from plugin.models import utcnow
from plugin.services import claims as service
from plugin.services.evidence import claim_evidence, evidence_of_claim, inspect_uploads
from plugin.validation import flatten_errors

bp = Blueprint("claims", __name__, url_prefix="/api/v1/claims", description="Claims on parcels.")
# Filing a claim and adding evidence take JSON or multipart/form-data: their views check the media type.
uploads_bp = Blueprint(
    "claim_uploads",
    __name__,
    url_prefix="/api/v1/claims",
    description="Claims on parcels: filing, with evidence.",
    json_bodies=False,
)

_MULTIPART_CLAIM = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "email": {"type": "string"},
        "type": {"type": "string", "enum": [kind.value for kind in FILED_TYPES]},
        "description": {"type": "string"},
        "shipment_id": {"type": "string"},
        "items": {"type": "string", "description": 'JSON text: [{"sku": "A1", "quantity": 1}]'},
        "evidence": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 10},
    },
    "required": ["order_id", "email", "type"],
}
_MULTIPART_FILES = {
    "type": "object",
    "properties": {"evidence": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 10}},
    "required": ["evidence"],
}


known_claim = known(service.get_claim, "claim_id")


def _load(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise ValidationFailedError(fields=flatten_errors(exc.messages)) from None
    return loaded


def _claim_response(claim: Any, status: int = 200) -> Response:
    evidence = evidence_of_claim(claim)
    response = jsonify(claim_body(claim, evidence))
    response.status_code = status
    return response


@uploads_bp.route("", methods=["POST"])
@require_key(KeyKind.SECRET)
@uploads_bp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": ClaimRequestSchema},
            "multipart/form-data": {"schema": _MULTIPART_CLAIM},
        },
    }
)
@uploads_bp.response(201, ClaimSchema)
@uploads_bp.documents_errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
def create() -> Response:
    """File a claim on one parcel (JSON, or multipart/form-data with files under `evidence`); it is judged by
    the shop's rules at once: refused (4xx, nothing recorded), approved automatically, or left to decide."""
    data, uploads = read_data_and_files("evidence")
    loaded = _load(ClaimRequestSchema(), data)
    files = inspect_uploads(uploads)
    request = service.ClaimRequest(
        order_id=loaded["order_id"],
        email=loaded["email"],
        type=ClaimType(loaded["type"]),
        description=loaded["description"],
        shipment_ref=loaded["shipment_id"],
        items=tuple(AffectedItem(item["sku"], item["quantity"]) for item in loaded["items"]),
        source="api",
        locale=loaded["locale"],
    )
    claim = service.file_claim(current_shop(), request, files, utcnow())
    return _claim_response(claim, 201)


@uploads_bp.route("/<claim_id>/evidence", methods=["POST"])
@require_key(KeyKind.SECRET)
@uploads_bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": _MULTIPART_FILES}}})
@uploads_bp.response(201, ClaimSchema)
@uploads_bp.documents_errors(400, 401, 403, 404, 413, 415, 422, 503)
def add_evidence(claim_id: str) -> Response:
    """Add the merchant's files to a claim (multipart/form-data, under `evidence`)."""
    shop_id = current_snapshot().id
    service.get_claim(shop_id, claim_id)  # an unknown claim is a 404 whatever the body
    _, uploads = read_data_and_files("evidence", files_only=True)
    if not uploads:
        raise ValidationFailedError(fields={"evidence": ["Attach at least one file."]})
    files = inspect_uploads(uploads)
    service.add_claim_evidence(shop_id, claim_id, files, by="merchant")
    return _claim_response(service.get_claim(shop_id, claim_id), 201)


@bp.route("", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.arguments(ClaimListQuery, location="query", as_kwargs=True)
@bp.response(200, ClaimListSchema)
@bp.documents_errors(401, 403, 422)
def index(**query: Any) -> dict[str, Any]:
    """The shop's claims, newest first, filtered by status, type, order or email; page on with `starting_after`."""
    rows, has_more = service.list_claims(current_snapshot().id, service.ClaimFilter(**query))
    evidence = claim_evidence(rows)
    return {"object": "list", "data": [claim_body(row, evidence[row.id]) for row in rows], "has_more": has_more}


@bp.route("/<claim_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, ClaimSchema)
@bp.documents_errors(401, 403, 404)
def show(claim_id: str) -> Response:
    """One claim, with its evidence, decision and reasons, refund and recovery."""
    return _claim_response(service.get_claim(current_snapshot().id, claim_id))


@bp.route("/<claim_id>/approve", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_claim
@bp.arguments(ApproveRequestSchema)
@bp.response(200, ClaimSchema)
@bp.alt_response(202, schema=ClaimSchema, description="Approved; the refund is queued for the worker (Stripe).")
@bp.documents_errors(400, 401, 403, 404, 409, 415, 422)
def approve(data: dict[str, Any], claim_id: str) -> Response:
    """Approve once: `refund` (202: the worker refunds the original payment through Stripe) or `reship`
    (200: `replacement_order_id` and `cost` recorded). A disputed payment's claim cannot be approved."""
    resolution = Resolution(data["resolution"])
    if resolution is Resolution.RESHIP and not data.get("replacement_order_id"):
        raise ValidationFailedError(fields={"replacement_order_id": ["Required to reship: the replacement order."]})
    approval = service.Approval(resolution, data["amount"], data["replacement_order_id"], data["cost"], data["note"])
    claim = service.approve_claim(current_snapshot().id, claim_id, approval, utcnow())
    refund_queued = resolution is Resolution.REFUND and claim.refund_status == "pending"
    return _claim_response(claim, 202 if refund_queued else 200)


@bp.route("/<claim_id>/deny", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_claim
@bp.arguments(DenyRequestSchema)
@bp.response(200, ClaimSchema)
@bp.documents_errors(400, 401, 403, 404, 409, 415, 422)
def deny(data: dict[str, Any], claim_id: str) -> Response:
    """Deny once, with the reason the shopper is told."""
    return _claim_response(service.deny_claim(current_snapshot().id, claim_id, data["reason"], utcnow()))


@bp.route("/<claim_id>/mark-paid", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_claim
@bp.arguments(MarkPaidRequestSchema)
@bp.response(200, ClaimSchema)
@bp.documents_errors(400, 401, 403, 404, 409, 415, 422)
def mark_paid(data: dict[str, Any], claim_id: str) -> Response:
    """Record money paid outside Stripe (`method`, `reference`): the claim becomes `paid`."""
    claim = service.mark_paid(
        current_snapshot().id, claim_id, data["method"], data["reference"], data["amount"], utcnow()
    )
    return _claim_response(claim)


@bp.route("/<claim_id>/messages", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, MessageListSchema)
@bp.documents_errors(401, 403, 404)
def messages(claim_id: str) -> dict[str, Any]:
    """The notes on a claim, oldest first: to the shopper, from the shopper, and internal ones."""
    claim = service.get_claim(current_snapshot().id, claim_id)
    return {"object": "list", "data": [message_body(m) for m in service.claim_messages(claim)], "has_more": False}


@bp.route("/<claim_id>/messages", methods=["POST"])
@require_key(KeyKind.SECRET)
@known_claim
@bp.arguments(MessageRequestSchema)
@bp.response(201, MessageSchema)
@bp.documents_errors(400, 401, 403, 404, 415, 422)
def add_message(data: dict[str, Any], claim_id: str) -> Response:
    """A note on the claim: `shopper` ones are shown to the shopper and emailed; `internal` ones stay with staff."""
    claim = service.get_claim(current_snapshot().id, claim_id)
    message = service.add_message(claim, data["body"], data["visibility"], "merchant", utcnow())
    response = jsonify(message_body(message))
    response.status_code = 201
    return response


@bp.route("/<claim_id>/evidence/<evidence_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, description="The file, as an attachment (image metadata removed).")
@bp.documents_errors(401, 403, 404, 503)
def evidence_file(claim_id: str, evidence_id: str) -> Response:
    """One evidence file of the claim, as an attachment."""
    return evidence_attachment(service.get_evidence(current_snapshot().id, claim_id, evidence_id))


@bp.route("/<claim_id>/evidence", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, EvidenceListSchema)
@bp.documents_errors(401, 403, 404)
def evidence_index(claim_id: str) -> dict[str, Any]:
    """The claim's evidence, described (each file at its own URL)."""
    claim = service.get_claim(current_snapshot().id, claim_id)
    rows = evidence_of_claim(claim)
    return {"object": "list", "data": [evidence_body(row) for row in rows], "has_more": False}
