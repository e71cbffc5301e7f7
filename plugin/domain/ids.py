"""Opaque object ids and API keys with a type prefix (`shop_…`, `pk_…`)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """A random base62 string from the OS's CSPRNG."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """A new object id such as `shop_3fQ…` (24 random characters: ~143 bits)."""
    return f"{prefix}_{random_token(24)}"


def new_api_key(prefix: str) -> str:
    """A new API key such as `sk_…` (40 random characters: ~238 bits)."""
    return f"{prefix}_{random_token(40)}"
