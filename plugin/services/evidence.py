"""Evidence files: checked by content, stored under random names, hashed, matched against earlier claims."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from plugin.domain.ids import new_id, random_token
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import Evidence, EvidenceBlob

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024

# What a file is, by its first bytes (never by its name or its declared Content-Type).
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image", "image/png"),
    (b"%PDF-", 0, "pdf", "application/pdf"),
)


@dataclass(frozen=True, slots=True)
class InspectedFile:
    """An upload that passed the checks: what it is, its hashes, and the bytes to store."""

    filename: str | None
    kind: str  # "image" | "pdf"
    content_type: str
    sha256: str
    data: bytes
    perceptual_hash: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def _sniff(data: bytes) -> tuple[str, str] | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    for magic, offset, kind, content_type in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind, content_type
    return None


def inspect_upload(filename: str | None, data: bytes, field: str = "evidence") -> InspectedFile:
    """Check one upload by its content; a refusal is a 422 naming the file."""
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255] or None
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailedError(fields={field: [f"{name or 'A file'} is larger than 10 MB."]})
    if not data:
        raise ValidationFailedError(fields={field: [f"{name or 'A file'} is empty."]})
    sniffed = _sniff(data)
    if sniffed is None:
        raise ValidationFailedError(fields={field: [f"{name or 'A file'} is not a JPEG, PNG, WebP or PDF file."]})
    kind, content_type = sniffed
    return InspectedFile(name, kind, content_type, hashlib.sha256(data).hexdigest(), data)


def inspect_uploads(files: Sequence[tuple[str | None, bytes]], field: str = "evidence") -> list[InspectedFile]:
    """Check every upload of a request (at most MAX_FILES)."""
    if len(files) > MAX_FILES:
        raise ValidationFailedError(fields={field: [f"At most {MAX_FILES} files, not {len(files)}."]})
    return [inspect_upload(name, data, field) for name, data in files]


def store_evidence(
    shop_id: str,
    files: Sequence[InspectedFile],
    *,
    uploaded_by: str,
    claim_id: str | None = None,
    shipment_id: str | None = None,
) -> list[Evidence]:
    """Keep the files and their rows in the caller's transaction."""
    rows = []
    for file in files:
        key = f"{shop_id}/{random_token(32)}"
        db.session.add(EvidenceBlob(storage_key=key, data=file.data))
        row = Evidence(
            id=new_id("evd"),
            shop_id=shop_id,
            claim_id=claim_id,
            shipment_id=shipment_id,
            uploaded_by=uploaded_by,
            kind=file.kind,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            perceptual_hash=file.perceptual_hash,
            storage_key=key,
            filename=file.filename,
        )
        db.session.add(row)
        rows.append(row)
    return rows


def read_evidence(evidence: Evidence) -> bytes:
    """The stored bytes of an evidence file."""
    blob = db.session.get(EvidenceBlob, evidence.storage_key)
    return blob.data if blob is not None else b""


@dataclass(frozen=True, slots=True)
class EvidenceMatches:
    """Files already seen with earlier claims of the shop: by file name, the earlier claim's id."""

    reused: dict[str, str]
    similar: dict[str, str]


def earlier_matches(shop_id: str, files: Sequence[InspectedFile], exclude_claim: str | None = None) -> EvidenceMatches:
    """Which files were sent before with another claim (same bytes)."""
    digests = {file.sha256 for file in files}
    if not digests:
        return EvidenceMatches({}, {})
    statement = select(Evidence.sha256, Evidence.claim_id).where(
        Evidence.shop_id == shop_id, Evidence.sha256.in_(digests), Evidence.claim_id.is_not(None)
    )
    if exclude_claim is not None:
        statement = statement.where(Evidence.claim_id != exclude_claim)
    seen: dict[str, str] = {digest: claim_id for digest, claim_id in db.session.execute(statement) if claim_id}
    reused = {
        file.filename or f"file {index + 1}": seen[file.sha256]
        for index, file in enumerate(files)
        if file.sha256 in seen
    }
    return EvidenceMatches(reused, {})
