"""Reading JSON bodies strictly and turning marshmallow errors into the contract's `fields` map."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser

from plugin.domain.untrusted_text import is_clean, scrub
from plugin.errors import InvalidJsonError, ValidationFailedError


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _loads(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_reject_constant)


def loads_strict(raw: bytes) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, UTF-8, any nesting that does not exhaust the stack."""
    try:
        return _loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidJsonError() from exc


def loads_storable(raw: bytes) -> Any:
    """As loads_strict, for bodies that are stored: no NUL and no lone surrogate in any string or key (a 422
    naming where; PostgreSQL refuses both, and no UTF-8 encoder takes a lone surrogate)."""
    document = loads_strict(raw)
    unstorable = unstorable_text(document)
    if unstorable:
        raise ValidationFailedError(fields=unstorable)
    return document


def loads_signed(raw: bytes) -> Any:
    """A signed webhook body as JSON, or None when it is not JSON at all (it is still stored, never refused)."""
    try:
        return _loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def read_body(request: Request) -> bytes:
    """The request body, read in one call when its length is declared (werkzeug's `get_data` reads in
    64 KiB rounds until the stream says it is exhausted, which costs the quote endpoint ~30 us a request).
    `request.stream` still enforces MAX_CONTENT_LENGTH (413) before anything is read."""
    length = request.content_length
    if length is None:
        return request.get_data(cache=False)
    limit = request.max_content_length
    if limit is not None and length > limit:
        return request.get_data(cache=False)  # werkzeug answers 413 before reading anything
    # Exactly CONTENT_LENGTH bytes from wsgi.input, as PEP 3333 has it: no stream wrapper to build per request.
    return read_exactly(request.environ["wsgi.input"], length)


def read_exactly(stream: Any, length: int) -> bytes:
    """`length` bytes from a WSGI input stream, or fewer if the client sent fewer."""
    chunks: list[bytes] = []
    while length > 0:
        chunk = stream.read(length)
        if not chunk:
            break
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """{"items": {0: {"sku": [...]}}} as {"items.0.sku": [...]}; whole-body errors under "body"."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else str(key)
            if key == "_schema" and prefix:
                name = ""
            path = f"{prefix}.{name}".strip(".") if name else prefix
            flat.update(flatten_errors(value, path))
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        flat.setdefault(prefix or "body", []).extend(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_errors(value, f"{prefix}.{index}".strip(".")))
    else:
        flat.setdefault(prefix or "body", []).append(str(messages))
    return flat


UNSTORABLE_TEXT = "Must be text without NUL characters or unpaired surrogates."


def unstorable_text(value: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field errors for every string (object keys included) in a JSON value that no database can store: NUL
    (PostgreSQL's text and jsonb refuse it) or a lone surrogate (no UTF-8 form). Walked without recursion, since
    a body may nest deeply; a bad key is named with U+FFFD in its place (an error body must be storable too)."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not is_clean(node):
                errors[path or "body"] = [UNSTORABLE_TEXT]
        elif isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and not is_clean(key):
                    errors[scrub(child_path)] = [UNSTORABLE_TEXT]
                else:
                    stack.append((child_path, child))
        elif isinstance(node, list):
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(node))
    return errors


class JsonBodyParser(FlaskParser):
    """webargs' parser, reading any body as strict JSON and raising the project's own errors."""

    DEFAULT_VALIDATION_STATUS = 422

    def load_json(self, req: Request, schema: Any) -> Any:
        raw = req.get_data(cache=True)
        if not raw.strip():
            return core.missing
        return loads_storable(raw)

    def handle_error(self, error: Any, req: Request, schema: Any, **_: Any) -> NoReturn:
        messages = error.messages
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in self.__location_map__:
            messages = next(iter(messages.values()))  # {"query": {...}}: field paths start below the location
        raise ValidationFailedError(fields=flatten_errors(messages))
