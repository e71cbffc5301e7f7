"""Bodies that carry files: JSON or multipart/form-data, with the body limit raised only for them; and the
stored files served back."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, make_response, request

from plugin.api.blueprint import is_json_media_type
from plugin.domain.untrusted_text import is_clean
from plugin.errors import InvalidJsonError, UnsupportedMediaTypeError, ValidationFailedError
from plugin.models import Evidence
from plugin.services.evidence import MAX_FILE_BYTES, MAX_FILES, read_evidence
from plugin.validation import UNSTORABLE_TEXT, loads_storable, read_body

# Ten files of 10 MB and the form around them; every other body keeps the 1 MiB limit.
UPLOAD_BODY_LIMIT = MAX_FILES * MAX_FILE_BYTES + 1024 * 1024
# The form's text fields together. Werkzeug also holds each 64 KiB chunk it reads under this limit while it looks
# for the next part's boundary, so it must stay well above 64 KiB, or any file larger than one chunk is a 413.
MAX_FORM_FIELD_BYTES = 512 * 1024
MAX_FORM_PARTS = 64
JSON_FORM_FIELDS = frozenset({"items"})  # form fields whose value is JSON text (lists)

Upload = tuple[str | None, bytes]


def _read_files(field: str) -> list[Upload]:
    files = request.files.getlist(field)
    if len(files) > MAX_FILES:
        raise ValidationFailedError(fields={field: [f"At most {MAX_FILES} files, not {len(files)}."]})
    uploads = []
    for storage in files:
        data = storage.stream.read(MAX_FILE_BYTES + 1)  # one byte over the limit is enough to refuse it
        if len(data) > MAX_FILE_BYTES:
            raise ValidationFailedError(fields={field: [f"{storage.filename or 'A file'} is larger than 10 MB."]})
        uploads.append((storage.filename, data))
    return uploads


def _form_data() -> dict[str, Any]:
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in request.form.items():
        if not isinstance(name, str) or not isinstance(value, str):
            continue  # a part without a usable name is no field of ours
        if not is_clean(name) or not is_clean(value):
            errors[name if is_clean(name) else "body"] = [UNSTORABLE_TEXT]
            continue
        if name in JSON_FORM_FIELDS:
            try:
                data[name] = json.loads(value)
            except ValueError:
                errors[name] = ['Must be JSON text (a list such as [{"sku": "A1", "quantity": 1}]).']
            continue
        data[name] = value
    if errors:
        raise ValidationFailedError(fields=errors)
    return data


def read_data_and_files(
    file_field: str = "evidence", *, files_only: bool = False
) -> tuple[dict[str, Any], list[Upload]]:
    """The request's fields and files: a JSON body (no files), or multipart/form-data with files under
    `file_field`; anything else is a 415. Only here may a body exceed 1 MiB."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        request.max_content_length = UPLOAD_BODY_LIMIT
        request.max_form_memory_size = MAX_FORM_FIELD_BYTES
        request.max_form_parts = MAX_FORM_PARTS
        files = _read_files(file_field)
        return _form_data(), files
    if files_only:
        raise UnsupportedMediaTypeError(
            f"Send the files as multipart/form-data under `{file_field}`, not `{mimetype or 'no Content-Type'}`.",
            fields={"Content-Type": ["Must be multipart/form-data."]},
        )
    if mimetype and not is_json_media_type(mimetype):
        raise UnsupportedMediaTypeError(
            f"This endpoint takes JSON or multipart/form-data, not `{mimetype}`.",
            fields={"Content-Type": ["Must be application/json or multipart/form-data."]},
        )
    raw = read_body(request)
    if not raw.strip():
        raise InvalidJsonError("The request body is empty; send the claim as JSON or multipart/form-data.")
    document = loads_storable(raw)
    if not isinstance(document, dict):
        raise ValidationFailedError(fields={"body": ["Must be a JSON object."]})
    return document, []


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


def evidence_attachment(row: Evidence, *, inline: bool = False) -> Response:
    """The stored (clean) bytes of one evidence file as a download: never sniffed, never cached, and never
    rendered, except an image shown `inline` (the admin's thumbnails): images are stored re-encoded, so their
    bytes are the picture alone; a PDF is always an attachment."""
    response = make_response(read_evidence(row))
    response.headers["Content-Type"] = row.content_type
    # Our id names the download: the uploaded name is untrusted text and never reaches a header.
    disposition = "inline" if inline and row.kind == "image" else "attachment"
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="{row.id}.{_EXTENSIONS.get(row.content_type, "bin")}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
