"""Evidence files: checked by content, images re-encoded without metadata, stored under random keys, matched
against earlier claims (same bytes, or a photo that looks the same)."""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps
from sqlalchemy import select

from plugin.domain.ids import new_id, random_token
from plugin.errors import ValidationFailedError
from plugin.evidence_storage import StoredFileMissingError, current_storage
from plugin.extensions import db
from plugin.models import Claim, Evidence
from plugin.services.pdf_scan import scan_pdf

log = logging.getLogger(__name__)

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024
# Decoded, 40 megapixels take 120-160 MB; a photo from any phone camera fits (a 48 MP sensor saves 12 MP).
MAX_IMAGE_PIXELS = 40_000_000
# pHash bits that may differ for "the same photo": re-encoding and resizing move 0-2 of 64 bits, while unrelated
# photos differ by about 32 (18 at the least in our measurements).
SIMILAR_DISTANCE = 8
# The earlier photos compared with a new one: the shop's most recent ones (claims reuse recent photos).
SIMILAR_SCAN_LIMIT = 10_000
# Hashes of nearly flat pictures (almost all bits alike) match each other by chance: they are no signal.
_MIN_HASH_BITS = 8

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# Whole-file markers that make an image something else too: a PDF (readers find `%PDF-` anywhere) or a web page.
_IMAGE_PAYLOADS = (b"%PDF-",)
_PAGE_MARKERS = (b"<script", b"<html", b"<!doctype", b"<?php", b"<iframe", b"<svg", b"<?xml-stylesheet")
_HEAD = 1024  # browsers sniff a page in the first bytes; any file starting like one is refused


@dataclass(frozen=True, slots=True)
class InspectedFile:
    """An upload that passed the checks: what it is, its hashes, and the (clean) bytes to store."""

    filename: str | None
    kind: str  # "image" | "pdf"
    content_type: str
    sha256: str  # of the bytes as received: the same file sent twice is recognised
    data: bytes  # what is stored and served: images re-encoded without metadata, PDFs as received
    perceptual_hash: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def _sniff(data: bytes) -> tuple[str, str] | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    if data[:3] == b"\xff\xd8\xff":
        return "image", "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image", "image/png"
    if data[:5] == b"%PDF-":
        return "pdf", "application/pdf"
    return None


def _refuse(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(fields={field: [message]})


def _looks_like_a_page(data: bytes) -> bool:
    head = data[:_HEAD].lower()
    return any(marker in head for marker in _PAGE_MARKERS)


def _carries_a_payload(data: bytes) -> bool:
    """An image that holds a PDF or markup a browser would run, anywhere in its bytes."""
    if any(marker in data for marker in _IMAGE_PAYLOADS):
        return True
    lowered = data.lower()
    return any(marker in lowered for marker in _PAGE_MARKERS)


def _decode(data: bytes, image_format: str, label: str, field: str) -> Image.Image:
    """The fully decoded image, or a 422: never more than MAX_IMAGE_PIXELS, never a half-read file."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (then errs) on huge declared sizes; either way it is a refusal here, not a log line.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[image_format])
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _refuse(field, f"{label} is {width}×{height} pixels; at most 40 megapixels.")
            image.load()
    except ValidationFailedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(field, f"{label} declares an image larger than 40 megapixels.") from None
    except Exception:  # Pillow raises many kinds on hostile input (OSError, ValueError, SyntaxError, …)
        raise _refuse(field, f"{label} is damaged or not a complete {image_format} image.") from None
    return image


def _oriented(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a damaged EXIF block only loses the orientation; the picture itself decoded
        return image


def _clean_copy(image: Image.Image, image_format: str) -> bytes:
    """The picture alone, re-encoded: no EXIF (GPS, camera), XMP, comments, ICC or trailing bytes."""
    if image_format == "JPEG":
        image = image.convert("L" if image.mode in {"1", "L"} else "RGB")
    elif image_format == "WEBP":
        image = image.convert("RGBA" if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info else "RGB")
    elif image.mode not in {"1", "L", "LA", "RGB", "RGBA", "I;16"}:
        image = image.convert("RGBA")
    else:
        image = image.copy()
    image.info = {}
    buffer = io.BytesIO()
    if image_format == "JPEG":
        image.save(buffer, "JPEG", quality=90)
    elif image_format == "WEBP":
        image.save(buffer, "WEBP", quality=90)
    else:
        image.save(buffer, "PNG", compress_level=3)  # level 6 takes 2.6 times as long for 15 % fewer bytes
    return buffer.getvalue()


def _perceptual_hash(image: Image.Image) -> str:
    import imagehash  # with numpy, ~0.1 s: loaded by the first image, not by every process

    return str(imagehash.phash(image))


def _inspect_image(name: str | None, data: bytes, content_type: str, field: str) -> InspectedFile:
    label = name or "An image"
    if _carries_a_payload(data):
        raise _refuse(field, f"{label} is an image with a PDF or web page inside it.")
    image_format = _FORMATS[content_type]
    with _decode(data, image_format, label, field) as decoded:
        oriented = _oriented(decoded)
        clean = _clean_copy(oriented, image_format)
        phash = _perceptual_hash(oriented)
    return InspectedFile(name, "image", content_type, hashlib.sha256(data).hexdigest(), clean, phash)


def _inspect_pdf(name: str | None, data: bytes, field: str) -> InspectedFile:
    label = name or "A PDF"
    verdict = scan_pdf(data)
    if verdict.encrypted:
        raise _refuse(field, f"{label} is encrypted; send it without a password.")
    if verdict.forbidden:
        found = ", ".join(sorted(verdict.forbidden))
        raise _refuse(
            field, f"{label} holds scripts, actions or attached files ({found}); print it to a new PDF and send that."
        )
    if verdict.unreadable is not None:
        raise _refuse(field, f"{label} cannot be checked: {verdict.unreadable}.")
    if b"%%EOF" not in data:
        raise _refuse(field, f"{label} is not a complete PDF file.")
    return InspectedFile(name, "pdf", "application/pdf", hashlib.sha256(data).hexdigest(), data)


def inspect_upload(filename: str | None, data: bytes, field: str = "evidence") -> InspectedFile:
    """Check one upload by its content (never its name or declared type); a refusal is a 422 naming the file."""
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255] or None
    label = name or "A file"
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(field, f"{label} is larger than 10 MB.")
    if not data:
        raise _refuse(field, f"{label} is empty.")
    sniffed = _sniff(data)
    if sniffed is None:
        raise _refuse(field, f"{label} is not a JPEG, PNG, WebP or PDF file.")
    if _looks_like_a_page(data):
        raise _refuse(field, f"{label} starts like a web page or script, not a photo or PDF.")
    kind, content_type = sniffed
    if kind == "pdf":
        return _inspect_pdf(name, data, field)
    return _inspect_image(name, data, content_type, field)


def inspect_uploads(files: Sequence[tuple[str | None, bytes]], field: str = "evidence") -> list[InspectedFile]:
    """Check every upload of a request (at most MAX_FILES)."""
    if len(files) > MAX_FILES:
        raise _refuse(field, f"At most {MAX_FILES} files, not {len(files)}.")
    return [inspect_upload(name, data, field) for name, data in files]


def store_evidence(
    shop_id: str,
    files: Sequence[InspectedFile],
    *,
    uploaded_by: str,
    claim_id: str | None = None,
    shipment_id: str | None = None,
) -> list[Evidence]:
    """Keep the files (in the configured store) and their rows (in the caller's transaction)."""
    storage = current_storage()
    rows = []
    for file in files:
        key = f"{shop_id}/{random_token(32)}"
        storage.put(key, file.data, file.content_type)
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
    """The stored (clean) bytes of an evidence file; empty if the store lost them."""
    try:
        return current_storage().get(evidence.storage_key)
    except StoredFileMissingError:
        log.error("evidence bytes missing from the store", extra={"evidence_id": evidence.id})
        return b""


@dataclass(frozen=True, slots=True)
class EvidenceMatches:
    """Files already seen with earlier claims of the shop: by file name, the earlier claim's id."""

    reused: dict[str, str]
    similar: dict[str, str]


def _informative(phash: int) -> bool:
    return _MIN_HASH_BITS <= phash.bit_count() <= 64 - _MIN_HASH_BITS


def _similar(
    shop_id: str, files: Sequence[InspectedFile], exclude_claim: str | None, reused: set[int]
) -> dict[str, str]:
    wanted = {
        index: int(file.perceptual_hash, 16)
        for index, file in enumerate(files)
        if file.perceptual_hash and index not in reused and _informative(int(file.perceptual_hash, 16))
    }
    if not wanted:
        return {}
    statement = select(Evidence.perceptual_hash, Evidence.sha256, Evidence.claim_id).where(
        Evidence.shop_id == shop_id, Evidence.perceptual_hash.is_not(None), Evidence.claim_id.is_not(None)
    )
    if exclude_claim is not None:
        statement = statement.where(Evidence.claim_id != exclude_claim)
    statement = statement.order_by(Evidence.created_at.desc()).limit(SIMILAR_SCAN_LIMIT)
    earlier = [
        (int(phash, 16), sha, claim_id) for phash, sha, claim_id in db.session.execute(statement) if phash and claim_id
    ]
    found: dict[str, str] = {}
    for index, mine in wanted.items():
        file = files[index]
        for theirs, sha, claim_id in earlier:  # newest first: the most recent look-alike is named
            if sha != file.sha256 and (mine ^ theirs).bit_count() <= SIMILAR_DISTANCE:
                found[file.filename or f"file {index + 1}"] = claim_id
                break
    return found


def earlier_matches(shop_id: str, files: Sequence[InspectedFile], exclude_claim: str | None = None) -> EvidenceMatches:
    """Which files were sent before with another claim of the shop: the same bytes (`reused`), or a photo
    within SIMILAR_DISTANCE bits of an earlier one's perceptual hash (`similar`: resized, re-encoded)."""
    digests = {file.sha256 for file in files}
    if not digests:
        return EvidenceMatches({}, {})
    statement = select(Evidence.sha256, Evidence.claim_id).where(
        Evidence.shop_id == shop_id, Evidence.sha256.in_(digests), Evidence.claim_id.is_not(None)
    )
    if exclude_claim is not None:
        statement = statement.where(Evidence.claim_id != exclude_claim)
    seen: dict[str, str] = {digest: claim_id for digest, claim_id in db.session.execute(statement) if claim_id}
    reused_at = {index for index, file in enumerate(files) if file.sha256 in seen}
    reused = {files[index].filename or f"file {index + 1}": seen[files[index].sha256] for index in sorted(reused_at)}
    return EvidenceMatches(reused, _similar(shop_id, files, exclude_claim, reused_at))


def claim_evidence(claims: Sequence[Claim]) -> dict[str, list[Evidence]]:
    """The evidence of these claims, by claim id, oldest first (one query)."""
    ids = [claim.id for claim in claims]
    found: dict[str, list[Evidence]] = {claim_id: [] for claim_id in ids}
    if ids:
        for row in db.session.scalars(
            select(Evidence).where(Evidence.claim_id.in_(ids)).order_by(Evidence.created_at, Evidence.id)
        ):
            found[row.claim_id or ""].append(row)
    return found


def evidence_of_claim(claim: Claim) -> list[Evidence]:
    """One claim's evidence, oldest first."""
    return claim_evidence([claim])[claim.id]
