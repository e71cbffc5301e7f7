"""Packing evidence (secret key): the merchant's photos or PDFs of a parcel, uploaded, listed and served."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from plugin.api.blueprint import Blueprint
from plugin.api.claim_presenters import evidence_body
from plugin.api.claim_schemas import EvidenceListSchema
from plugin.api.uploads import evidence_attachment, read_data_and_files
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.errors import ValidationFailedError
from plugin.services import shipment_evidence as service
from plugin.services.evidence import inspect_uploads

# Uploads are multipart/form-data: the view checks the media type (the raised body limit lives there too).
bp = Blueprint(
    "shipment_evidence",
    __name__,
    url_prefix="/api/v1/shipments",
    description="Packing evidence of parcels: photos or PDFs taken when packing or shipping.",
    json_bodies=False,
)

_MULTIPART_FILES = {
    "type": "object",
    "properties": {"evidence": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 10}},
    "required": ["evidence"],
}


def _listing(shipment: Any) -> dict[str, Any]:
    rows = service.shipment_evidence(shipment)
    return {"object": "list", "data": [evidence_body(row) for row in rows], "has_more": False}


@bp.route("/<shipment_id>/evidence", methods=["POST"])
@require_key(KeyKind.SECRET)
@bp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": _MULTIPART_FILES}}})
@bp.response(201, EvidenceListSchema)
@bp.documents_errors(401, 403, 404, 413, 415, 422, 503)
def upload(shipment_id: str) -> Response:
    """Add packing photos or PDFs to a parcel (our `shp_…` id or the store's shipment id), under `evidence`;
    answers the parcel's packing evidence."""
    shop_id = current_snapshot().id
    service.find_shipment(shop_id, shipment_id)  # an unknown parcel is a 404 whatever the body
    _, uploads = read_data_and_files("evidence", files_only=True)
    if not uploads:
        raise ValidationFailedError(fields={"evidence": ["Attach at least one file."]})
    files = inspect_uploads(uploads)
    shipment = service.add_packing_evidence(shop_id, shipment_id, files)
    response = jsonify(_listing(shipment))
    response.status_code = 201
    return response


@bp.route("/<shipment_id>/evidence", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, EvidenceListSchema)
@bp.documents_errors(401, 403, 404)
def index(shipment_id: str) -> dict[str, Any]:
    """The parcel's packing evidence, oldest first (each file at its own URL)."""
    return _listing(service.find_shipment(current_snapshot().id, shipment_id))


@bp.route("/<shipment_id>/evidence/<evidence_id>", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.response(200, description="The file, as an attachment (image metadata removed).")
@bp.documents_errors(401, 403, 404, 503)
def show(shipment_id: str, evidence_id: str) -> Response:
    """One packing file of the parcel, as an attachment."""
    return evidence_attachment(service.get_packing_evidence(current_snapshot().id, shipment_id, evidence_id))
