"""API keys: who is calling, for which shop, with which powers."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from flask import current_app, g, request

from plugin.errors import AuthenticationError, PermissionDeniedError
from plugin.extensions import db
from plugin.models import Shop, utcnow
from plugin.services.shop_snapshots import KeyGrant, ShopSnapshot, load_grant

F = TypeVar("F", bound=Callable[..., Any])
MAX_KEY_LENGTH = 200


class KeyKind(StrEnum):
    """A publishable key quotes and consents from browsers; a secret key does everything server to server."""

    PUBLISHABLE = "publishable"
    SECRET = "secret"  # noqa: S105 - a name, not a secret


KEY_PREFIXES = {KeyKind.PUBLISHABLE: "pk", KeyKind.SECRET: "sk"}


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated shop and the kind of key it used."""

    shop: ShopSnapshot
    kind: KeyKind


def hash_key(key: str) -> str:
    """SHA-256 of a key: keys are random and long, so a fast hash is enough (as for Stripe's and GitHub's)."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bearer(authorization_header: str) -> str | None:
    """The key in an `Authorization: Bearer <key>` value, however the scheme is cased or spaced; else None."""
    # The scheme is case-insensitive (RFC 9110 §11.1); clients also send tabs or runs of spaces around the key.
    # One split on any whitespace: exactly two words, the scheme and a key with no blank inside.
    parts = authorization_header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


_PRESENTED = "plugin.presented_key"  # the WSGI environ's memo of the request's key and its hash


def presented_key(environ: dict[str, Any]) -> tuple[str, str] | None:
    """The request's bearer key and its hash_key(), once per request (the rate limit and the key check both need
    them); None without a readable key."""
    try:
        return environ[_PRESENTED]
    except KeyError:
        token = parse_bearer(environ.get("HTTP_AUTHORIZATION", ""))
        presented = None if token is None else (token, hash_key(token))
        environ[_PRESENTED] = presented
        return presented


def key_fingerprint(authorization_header: str) -> str:
    """A short, non-reversible tag of the key a request carried, the same however the header is spelled.

    Rate-limit buckets are keyed by it: hashing the raw header would give `bearer k`, `Bearer  k` and
    `BEARER k` three buckets for one key. A request without a readable key shares one anonymous tag.
    """
    token = parse_bearer(authorization_header)
    if token is None:
        return "-"
    return hash_key(token)[:16]


def request_key_fingerprint(environ: dict[str, Any]) -> str:
    """key_fingerprint() of the request's Authorization header, from the per-request memo."""
    presented = presented_key(environ)
    return "-" if presented is None else presented[1][:16]


def bearer_token() -> str | None:
    """The key in `Authorization: Bearer <key>`, if any."""
    return parse_bearer(request.headers.get("Authorization", ""))


def authenticate(
    token: str | None, now: datetime, lookup: Callable[[str], KeyGrant | None], key_hash: str | None = None
) -> Caller:
    """The caller a key stands for, or AuthenticationError (`key_hash`: hash_key(token), when already known)."""
    if not token or len(token) > MAX_KEY_LENGTH:
        raise AuthenticationError()
    grant = lookup(key_hash or hash_key(token))
    if grant is None:
        raise AuthenticationError("Unknown API key.", code="invalid_api_key")
    if grant.expires_at is not None and grant.expires_at <= now:
        raise AuthenticationError("This API key has expired; use the shop's current keys.", code="expired_api_key")
    return Caller(shop=grant.shop, kind=KeyKind(grant.kind))


def _cached_lookup(key_hash: str) -> KeyGrant | None:
    return current_app.extensions["grant_cache"].get(key_hash, load_grant)


def require_key(*kinds: KeyKind, cached: bool = False) -> Callable[[F], F]:
    """Decorate a view: it runs only for a key of one of these kinds, with `g.caller` set.

    `cached` reads the key and the shop's settings through the per-process grant cache: for the
    read-only browser endpoints on every checkout page, never for endpoints that change anything.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            presented = presented_key(request.environ)
            token, key_hash = presented if presented is not None else (None, None)
            caller = authenticate(token, utcnow(), _cached_lookup if cached else load_grant, key_hash)
            if caller.kind not in kinds:
                raise PermissionDeniedError()
            g.caller = caller
            if caller.kind == KeyKind.SECRET:
                # The shop's answers must hold every Stripe delivery already acknowledged (STRIPE_RECORDING=queued).
                from plugin.services.stripe_inbox import catch_up_if_queued

                catch_up_if_queued(caller.shop.id)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def current_snapshot() -> ShopSnapshot:
    """The read-only view of the caller's shop."""
    return g.caller.shop


def current_shop() -> Shop:
    """The caller's shop as a database row, for use cases that change it."""
    shop = db.session.get(Shop, g.caller.shop.id)
    if shop is None:  # deleted since the key was read
        raise AuthenticationError("Unknown API key.", code="invalid_api_key")
    return shop
