"""Evidence in an S3 bucket (EVIDENCE_STORAGE_URL=s3://…), against moto's real S3 server on a loopback port."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask import Flask
from flask_migrate import upgrade
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import func, select

from plugin import create_app
from plugin.config import ConfigurationError, S3Location, evidence_s3_location, load_config
from plugin.evidence_storage import DatabaseStorage, S3Storage, storage_for
from plugin.extensions import db
from plugin.models import Evidence, EvidenceBlob
from tests.claim_helpers import EMAIL, shipped_order
from tests.conftest import bearer, make_environ
from tests.evidence_helpers import multipart, plain_pdf, scene_jpeg

BUCKET = "claims-evidence"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with the bucket made; the AWS_* variables boto3 reads set for the module."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture(scope="module")
def app(database_url: str, s3_endpoint: str) -> Iterator[Flask]:
    """The app of this module keeps evidence in the bucket, under the prefix `evidence/`."""
    environ = make_environ(
        database_url, EVIDENCE_STORAGE_URL=f"s3://{BUCKET}/evidence", EVIDENCE_S3_ENDPOINT_URL=s3_endpoint
    )
    application = create_app({"ENVIRON": environ, "RESOLVE_INSURER_HOSTS": False})
    with application.app_context():
        upgrade(directory=application.config["MIGRATIONS_DIR"])
    yield application
    with application.app_context():
        db.engine.dispose()


def bucket_objects(endpoint: str) -> dict[str, dict]:
    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET)
    return {item["Key"]: item for item in listing.get("Contents", [])}


def test_claim_files_go_to_the_bucket_and_come_back_through_the_api(app, client, shop, s3_endpoint):
    shipped_order(client, shop, shipped_days_ago=5)
    photo, document = scene_jpeg(40), plain_pdf()
    fields = {"order_id": "1001", "email": EMAIL, "type": "damaged", "description": "Crushed box."}
    body, content_type = multipart(fields, [("evidence", photo, "crushed.jpg"), ("evidence", document, "receipt.pdf")])
    key = shop.keys.secret_key
    response = client.post("/api/v1/claims", data=body, headers=bearer(key), content_type=content_type)
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()

    with app.app_context():
        rows = db.session.scalars(select(Evidence).where(Evidence.claim_id == claim["id"])).all()
        assert db.session.scalar(select(func.count()).select_from(EvidenceBlob)) == 0  # nothing in the database
    objects = bucket_objects(s3_endpoint)
    for row in rows:
        assert f"evidence/{row.storage_key}" in objects
        assert row.storage_key.startswith(f"{shop.shop.id}/")
    assert not any("crushed" in name or "receipt" in name for name in objects)  # never the uploaded names

    photo_id, pdf_id = (item["id"] for item in claim["evidence"])
    served_photo = client.get(f"/api/v1/claims/{claim['id']}/evidence/{photo_id}", headers=bearer(key))
    assert served_photo.status_code == 200 and served_photo.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served_photo.data)).size == (640, 480)
    served_pdf = client.get(f"/api/v1/claims/{claim['id']}/evidence/{pdf_id}", headers=bearer(key))
    assert served_pdf.data == document

    stored = boto3.client("s3", endpoint_url=s3_endpoint).get_object(
        Bucket=BUCKET, Key=f"evidence/{rows[0].storage_key}"
    )
    assert stored["ContentType"] == "image/jpeg" and stored["Body"].read() == served_photo.data


def test_packing_evidence_goes_to_the_bucket_too(client, shop, s3_endpoint):
    shipped_order(client, shop)
    key = shop.keys.secret_key
    body, content_type = multipart({}, [("evidence", scene_jpeg(41), "packed.jpg")])
    before = set(bucket_objects(s3_endpoint))
    stored = client.post(
        "/api/v1/shipments/ful_1001_1/evidence", data=body, headers=bearer(key), content_type=content_type
    )
    assert stored.status_code == 201, stored.get_json()
    assert len(set(bucket_objects(s3_endpoint)) - before) == 1
    evidence_id = stored.get_json()["data"][0]["id"]
    served = client.get(f"/api/v1/shipments/ful_1001_1/evidence/{evidence_id}", headers=bearer(key))
    assert served.status_code == 200 and Image.open(io.BytesIO(served.data)).format == "JPEG"


def test_an_unreachable_bucket_is_a_503_and_records_nothing(app, client, shop, s3_endpoint, monkeypatch):
    shipped_order(client, shop)
    storage = storage_for(app)
    assert isinstance(storage, S3Storage)
    monkeypatch.setattr(storage, "location", S3Location("no-such-bucket", "evidence/"))
    body, content_type = multipart({}, [("evidence", scene_jpeg(42), "packed.jpg")])
    key = shop.keys.secret_key
    response = client.post(
        "/api/v1/shipments/ful_1001_1/evidence", data=body, headers=bearer(key), content_type=content_type
    )
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "service_unavailable"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_the_storage_url_is_checked_at_start(tmp_path: Path):
    base = {"SECRET_KEY": "k" * 32}
    assert evidence_s3_location("") is None
    assert evidence_s3_location("s3://bucket") == S3Location("bucket", "")
    assert evidence_s3_location("s3://bucket/a/b/") == S3Location("bucket", "a/b/")
    for bad in ("https://bucket/x", "s3:///prefix", "s3://key:secret@bucket", "/var/evidence", "s3://b?x=1"):
        with pytest.raises(ConfigurationError, match="EVIDENCE_STORAGE_URL"):
            load_config({**base, "EVIDENCE_STORAGE_URL": bad}, str(tmp_path))
    with pytest.raises(ConfigurationError, match="EVIDENCE_S3_ENDPOINT_URL"):
        load_config({**base, "EVIDENCE_S3_ENDPOINT_URL": "minio:9000"}, str(tmp_path))
    default = create_app({"ENVIRON": {**base, "TESTING": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}})
    assert isinstance(storage_for(default), DatabaseStorage)


def test_erasure_and_retention_delete_the_objects_from_the_bucket(app, shop, s3_endpoint):
    from datetime import timedelta

    from plugin.models import utcnow
    from plugin.services import evidence_retention
    from tests.erasure_helpers import leave_footprint

    with app.app_context():
        alice = leave_footprint(shop.shop.id, "alice@example.com", "s3alice")
        old = leave_footprint(
            shop.shop.id,
            "old@example.com",
            "s3old",
            status="denied",
            decided_at=utcnow() - timedelta(days=800),
            shipped_at=utcnow() - timedelta(days=900),
        )
    objects = set(bucket_objects(s3_endpoint))
    for key in [*alice.shopper_evidence, *alice.merchant_evidence, *old.shopper_evidence, *old.packing_evidence]:
        assert f"evidence/{key}" in objects

    erased = app.test_cli_runner().invoke(
        args=["shoppers", "erase", "--shop", shop.shop.id, "--email", "alice@example.com"]
    )
    assert erased.exit_code == 0, erased.output
    objects = set(bucket_objects(s3_endpoint))
    assert not {f"evidence/{key}" for key in alice.shopper_evidence} & objects
    assert {f"evidence/{key}" for key in alice.merchant_evidence + alice.packing_evidence} <= objects

    with app.app_context():
        assert evidence_retention.purge(utcnow()) == {shop.shop.id: 3}
    objects = set(bucket_objects(s3_endpoint))
    old_keys = {f"evidence/{key}" for key in old.shopper_evidence + old.merchant_evidence + old.packing_evidence}
    assert not old_keys & objects
    assert {f"evidence/{key}" for key in alice.merchant_evidence} <= objects
