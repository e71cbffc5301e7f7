"""Text from signed but untrusted payloads, made storable: no NUL, no lone surrogates, within a column's length."""

from __future__ import annotations

import hashlib
import re

REPLACEMENT = "\ufffd"
ELLIPSIS = "…"
# NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates (no UTF-8 encoder accepts them alone).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_DIGEST_CHARS = 32  # 128 bits of SHA-256: enough that two different long ids never share a fitted form


def scrub(text: str) -> str:
    """The text with every NUL and lone surrogate replaced by U+FFFD (so what is stored stays readable)."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def is_clean(text: str) -> bool:
    """Whether the text can be stored as it is."""
    return _UNSTORABLE.search(text) is None


def fit_text(text: str, limit: int) -> str:
    """Scrubbed and, when longer than `limit`, cut with an ellipsis: for free text shown to people."""
    clean = scrub(text)
    return clean if len(clean) <= limit else clean[: limit - 1] + ELLIPSIS


def _digest(text: str) -> str:
    # surrogatepass: a lone surrogate still hashes to its own bytes, distinct from U+FFFD.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]


def fit_id(text: str, limit: int = 255) -> str:
    """An identifier that fits: kept as it is when clean and short enough, else a readable prefix plus a digest
    of the whole original, so that two different ids never become one (a cut id must not name another object)."""
    if len(text) <= limit and is_clean(text):
        return text
    suffix = f"{ELLIPSIS}#{_digest(text)}"
    return scrub(text)[: limit - len(suffix)] + suffix


def digest_id(raw: bytes, prefix: str) -> str:
    """A stable id for a body that carries none of its own (the same bytes, the same id)."""
    return f"{prefix}{hashlib.sha256(raw).hexdigest()}"
