"""API keys: who is calling, for which shop, with which powers."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import select

from plugin.errors import AuthenticationError, PermissionDeniedError
from plugin.extensions import db
from plugin.models import ApiKey, Shop, utcnow

F = TypeVar("F", bound=Callable[..., Any])


class KeyKind(StrEnum):
    """A publishable key quotes and consents from browsers; a secret key does everything server to server."""

    PUBLISHABLE = "publishable"
    SECRET = "secret"  # noqa: S105 - a name, not a secret


KEY_PREFIXES = {KeyKind.PUBLISHABLE: "pk", KeyKind.SECRET: "sk"}


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated shop and the kind of key it used."""

    shop: Shop
    kind: KeyKind


def hash_key(key: str) -> str:
    """SHA-256 of a key: keys are random and long, so a fast hash is enough (as for Stripe's and GitHub's)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_fingerprint(authorization_header: str) -> str:
    """A short, non-reversible tag of whatever credential a request carried (for rate-limit buckets)."""
    return hashlib.sha256(authorization_header.encode()).hexdigest()[:16]


def bearer_token() -> str | None:
    """The key in `Authorization: Bearer <key>`, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(token: str | None, now: datetime) -> Caller:
    """The caller a key stands for, or AuthenticationError."""
    if not token or len(token) > 200:
        raise AuthenticationError()
    row = db.session.execute(
        select(ApiKey.kind, ApiKey.expires_at, Shop).join(Shop).where(ApiKey.key_hash == hash_key(token))
    ).first()
    if row is None:
        raise AuthenticationError("Unknown API key.", code="invalid_api_key")
    kind, expires_at, shop = row
    if expires_at is not None and expires_at <= now:
        raise AuthenticationError(
            "This API key has expired; use the shop's current keys.", code="expired_api_key"
        )
    return Caller(shop=shop, kind=KeyKind(kind))


def require_key(*kinds: KeyKind) -> Callable[[F], F]:
    """Decorate a view: it runs only for a key of one of these kinds, with `g.caller` set."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = authenticate(bearer_token(), utcnow())
            if caller.kind not in kinds:
                raise PermissionDeniedError()
            g.caller = caller
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_shop() -> Shop:
    """The shop of the authenticated caller."""
    return g.caller.shop
