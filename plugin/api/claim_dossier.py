"""The claim dossier (secret key): one ZIP with the summary and every evidence file, to send to an insurer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

from flask import Response, current_app

from plugin.api.blueprint import Blueprint
from plugin.auth import KeyKind, current_snapshot, require_key
from plugin.models import utcnow
from plugin.services import dossier as service

bp = Blueprint("claim_dossier", __name__, url_prefix="/api/v1/claims", description="Claims on parcels: dossiers.")

CHUNK_BYTES = 256 * 1024
_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


def _chunks(archive: IO[bytes]) -> Iterator[bytes]:
    """The ZIP's bytes; the spool (and its disk file past 8 MB) is closed once they are sent."""
    try:
        while chunk := archive.read(CHUNK_BYTES):
            yield chunk
    finally:
        archive.close()


def dossier_response(shop_id: str, claim_id: str) -> Response:
    """The dossier ZIP of one claim of this shop, streamed as an attachment (the API's and the admin's download);
    another shop's claim is a NotFoundError."""
    gathered = service.gather(shop_id, claim_id, utcnow())
    archive = service.build_zip(gathered, current_app.config.get("DOSSIER_FONT"))
    size = archive.seek(0, io.SEEK_END)
    archive.seek(0)
    response = Response(_chunks(archive), mimetype="application/zip", direct_passthrough=True)
    response.content_length = size
    response.call_on_close(archive.close)  # also when the client leaves before the end
    # Claim ids are `clm_` and base62 only: nothing to quote or escape in the name.
    response.headers["Content-Disposition"] = f'attachment; filename="dossier-{gathered.dossier.claim.id}.zip"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<claim_id>/dossier", methods=["GET"])
@require_key(KeyKind.SECRET)
@bp.doc(responses={"200": {"description": "The dossier, a ZIP attachment.", "content": _ZIP}})
@bp.documents_errors(401, 403, 404)
def dossier(claim_id: str) -> Response:
    """The claim's dossier, a ZIP: summary.pdf, summary.txt and dossier.json (the order, payment, protection and
    consent, the parcel and its policy, the tracking history, the decision and its reasons, every message), and
    the files under evidence/packing/ (the merchant's, before shipping) and evidence/claim/ (with the claim)."""
    return dossier_response(current_snapshot().id, claim_id)
