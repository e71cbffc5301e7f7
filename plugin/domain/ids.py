"""Opaque object ids and API keys with a type prefix (`shop_…`, `pk_…`)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """A random base62 string of `length` characters from the OS's CSPRNG."""
    number = int.from_bytes(secrets.token_bytes(length))  # 8 bits per character: ample for 5.95 needed
    characters = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        characters.append(_ALPHABET[digit])
    return "".join(characters)


def new_id(prefix: str) -> str:
    """A new object id such as `shop_3fQ…` (24 random characters: ~143 bits)."""
    return f"{prefix}_{random_token(24)}"


def new_api_key(prefix: str) -> str:
    """A new API key such as `sk_…` (40 random characters: ~238 bits)."""
    return f"{prefix}_{random_token(40)}"
