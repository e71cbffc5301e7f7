"""Packing evidence: the merchant's photos and PDFs of a parcel, by our id or the store's, kept per shop."""

from __future__ import annotations

import io

from PIL import Image

from tests.claim_helpers import shipped_order
from tests.conftest import bearer
from tests.evidence_helpers import encode, multipart, pdf_with_hidden_script, plain_pdf, scene, scene_jpeg


def upload(client, key: str, shipment: str, files: list[tuple[bytes, str]]):
    body, content_type = multipart({}, [("evidence", data, name) for data, name in files])
    return client.post(
        f"/api/v1/shipments/{shipment}/evidence", data=body, headers=bearer(key), content_type=content_type
    )


def our_id(client, shop, order_id: str = "1001") -> str:
    response = client.get(f"/api/v1/shipments?order_id={order_id}", headers=bearer(shop.keys.secret_key))
    [shipment] = response.get_json()["data"]
    return shipment["id"]


def test_packing_photos_are_stored_listed_and_served(client, shop):
    shipped_order(client, shop)
    key = shop.keys.secret_key
    first = upload(client, key, "ful_1001_1", [(scene_jpeg(20), "packed.jpg"), (plain_pdf(), "label.pdf")])
    assert first.status_code == 201, first.get_json()
    listed = first.get_json()
    assert listed["object"] == "list" and listed["has_more"] is False
    assert [(e["kind"], e["uploaded_by"], e["filename"]) for e in listed["data"]] == [
        ("image", "merchant", "packed.jpg"),
        ("pdf", "merchant", "label.pdf"),
    ]
    shp_id = our_id(client, shop)
    assert shp_id.startswith("shp_")
    second = upload(client, key, shp_id, [(encode(scene(21), "PNG"), "sealed.png")])
    assert second.status_code == 201 and len(second.get_json()["data"]) == 3
    for reference in ("ful_1001_1", shp_id):
        index = client.get(f"/api/v1/shipments/{reference}/evidence", headers=bearer(key))
        assert index.status_code == 200 and [e["id"] for e in index.get_json()["data"]] == [
            e["id"] for e in second.get_json()["data"]
        ]
    photo_id = listed["data"][0]["id"]
    served = client.get(f"/api/v1/shipments/{shp_id}/evidence/{photo_id}", headers=bearer(key))
    assert served.status_code == 200 and served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == f'attachment; filename="{photo_id}.jpg"'
    assert Image.open(io.BytesIO(served.data)).size == (640, 480)


def test_packing_evidence_is_checked_like_claim_evidence(client, shop):
    shipped_order(client, shop)
    key = shop.keys.secret_key
    for files, fragment in [
        ([(b"#!/bin/sh\nrm -rf /\n", "photo.jpg")], "not a JPEG"),
        ([(pdf_with_hidden_script(), "label.pdf")], "scripts"),
        ([(scene_jpeg(22) + b"<script>alert(1)</script>", "photo.jpg")], "inside it"),
        ([(scene_jpeg(seed), f"{seed}.jpg") for seed in range(11)], "at most 10"),
        ([], "at least one"),
    ]:
        response = upload(client, key, "ful_1001_1", files)
        assert response.status_code == 422, response.get_json()
        assert fragment.lower() in response.get_json()["error"]["fields"]["evidence"][0].lower()
    index = client.get("/api/v1/shipments/ful_1001_1/evidence", headers=bearer(key))
    assert index.get_json()["data"] == []  # nothing of a refused request is kept


def test_a_parcel_holds_at_most_twenty_packing_files(client, shop):
    shipped_order(client, shop)
    key = shop.keys.secret_key
    for batch in range(2):
        files = [(scene_jpeg(100 + batch * 10 + n), f"{n}.jpg") for n in range(10)]
        assert upload(client, key, "ful_1001_1", files).status_code == 201
    refused = upload(client, key, "ful_1001_1", [(scene_jpeg(130), "one-more.jpg")])
    assert refused.status_code == 422 and "at most 20" in refused.get_json()["error"]["fields"]["evidence"][0]


def test_only_the_shops_secret_key_reaches_its_parcels(client, shop, new_shop):
    shipped_order(client, shop)
    stored = upload(client, shop.keys.secret_key, "ful_1001_1", [(scene_jpeg(23), "packed.jpg")]).get_json()
    photo_id = stored["data"][0]["id"]
    shp_id = our_id(client, shop)
    other = new_shop("Other House")
    paths = [f"/api/v1/shipments/{shp_id}/evidence", f"/api/v1/shipments/{shp_id}/evidence/{photo_id}"]
    for path in [*paths, "/api/v1/shipments/ful_1001_1/evidence"]:
        assert client.get(path, headers=bearer(other.keys.secret_key)).status_code == 404
        assert client.get(path, headers=bearer(shop.keys.publishable_key)).status_code == 403
        assert client.get(path).status_code == 401
    assert upload(client, other.keys.secret_key, shp_id, [(scene_jpeg(24), "mine.jpg")]).status_code == 404
    assert upload(client, shop.keys.publishable_key, shp_id, [(scene_jpeg(24), "mine.jpg")]).status_code == 403


def test_unknown_parcels_and_files_and_json_bodies(client, shop):
    shipped_order(client, shop)
    key = shop.keys.secret_key
    assert upload(client, key, "ful_nope", [(scene_jpeg(25), "a.jpg")]).status_code == 404
    assert client.get("/api/v1/shipments/ful_1001_1/evidence/evd_nope", headers=bearer(key)).status_code == 404
    as_json = client.post("/api/v1/shipments/ful_1001_1/evidence", json={"evidence": []}, headers=bearer(key))
    assert as_json.status_code == 415 and as_json.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_claims_file_is_not_served_as_packing_evidence(client, shop):
    from tests.claim_helpers import claim_with_files

    shipped_order(client, shop, shipped_days_ago=5)
    claim = claim_with_files(client, shop, [(scene_jpeg(26), "broken.jpg")]).get_json()
    evidence_id = claim["evidence"][0]["id"]
    path = f"/api/v1/shipments/ful_1001_1/evidence/{evidence_id}"
    assert client.get(path, headers=bearer(shop.keys.secret_key)).status_code == 404
