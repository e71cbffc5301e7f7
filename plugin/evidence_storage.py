"""Where evidence bytes live: the database (the default) or an S3-compatible bucket (EVIDENCE_STORAGE_URL=s3://…).

Keys are random (`<shop id>/<32 random characters>`), never an uploaded name. The database store writes in the
caller's transaction; the bucket is written at once, so a transaction that rolls back afterwards leaves an
object no row names (harmless: unreachable, and never served).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import delete

from plugin.config import S3Location, evidence_s3_location
from plugin.errors import ServiceUnavailableError
from plugin.extensions import db
from plugin.models import EvidenceBlob

log = logging.getLogger(__name__)
_EXTENSION = "evidence_storage"


class EvidenceStorage(Protocol):
    """Put, get and delete the bytes of one evidence file by its key."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class StoredFileMissingError(LookupError):
    """The store has no bytes under this key."""


class DatabaseStorage:
    """Evidence bytes as EvidenceBlob rows, in the caller's transaction."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        db.session.add(EvidenceBlob(storage_key=key, data=data))

    def get(self, key: str) -> bytes:
        blob = db.session.get(EvidenceBlob, key)
        if blob is None:
            raise StoredFileMissingError(key)
        return blob.data

    def delete(self, key: str) -> None:
        db.session.execute(delete(EvidenceBlob).where(EvidenceBlob.storage_key == key))


class S3Storage:
    """Evidence bytes as objects of one bucket, under a prefix; credentials from the usual AWS_* variables."""

    def __init__(self, location: S3Location, client: Any) -> None:
        self.location = location
        self.client = client

    @classmethod
    def from_config(cls, location: S3Location, endpoint_url: str | None) -> S3Storage:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            # S3-compatible servers (MinIO, moto, Ceph) often serve one host without bucket subdomains.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)
        return cls(location, client)

    def _key(self, key: str) -> str:
        return self.location.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.location.bucket,
                Key=self._key(key),
                Body=data,
                ContentType=content_type,
                ContentDisposition="attachment",  # should a bucket ever be exposed, no file renders in a browser
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("evidence store write failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailableError("The evidence store is unavailable; try again shortly.") from None

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self._key(key))
            data: bytes = answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise StoredFileMissingError(key) from None
            log.warning("evidence store read failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailableError("The evidence store is unavailable; try again shortly.") from None
        except BotoCoreError as exc:
            log.warning("evidence store read failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailableError("The evidence store is unavailable; try again shortly.") from None
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.location.bucket, Key=self._key(key))


def build_storage(config: Mapping[str, Any]) -> EvidenceStorage:
    """The store the configuration names."""
    location = evidence_s3_location(config.get("EVIDENCE_STORAGE_URL") or "")
    if location is None:
        return DatabaseStorage()
    return S3Storage.from_config(location, config.get("EVIDENCE_S3_ENDPOINT_URL"))


def storage_for(app: Flask) -> EvidenceStorage:
    """The app's store, built on first use (a boto3 client is thread-safe and shared by the app's threads)."""
    storage: EvidenceStorage | None = app.extensions.get(_EXTENSION)
    if storage is None:
        storage = app.extensions.setdefault(_EXTENSION, build_storage(app.config))
    return storage


def current_storage() -> EvidenceStorage:
    """The current app's store."""
    return storage_for(current_app._get_current_object())  # type: ignore[attr-defined]
