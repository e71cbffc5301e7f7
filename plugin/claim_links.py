"""The signed, expiring link a shopper follows to see their claim (no account): /claims/<shop>/status/<token>."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

STATUS_LINK_MAX_AGE_SECONDS = 180 * 24 * 3600  # longer than any claim window and payout
_SALT = "claim-status-link"


def _serializer(secrets: Sequence[str]) -> URLSafeTimedSerializer:
    # Ours are newest first (SECRET_KEY, then SECRET_KEY_FALLBACKS); itsdangerous signs with the LAST key of its
    # list and verifies with all of them.
    return URLSafeTimedSerializer(list(reversed(secrets)), salt=_SALT)


def status_token(claim_id: str, shop_id: str, secrets: Sequence[str]) -> str:
    """A token naming the claim and its shop, signed with the current key."""
    return _serializer(secrets).dumps({"c": claim_id, "s": shop_id})


def verify_status_token(
    token: str, shop_id: str, secrets: Sequence[str], max_age: int = STATUS_LINK_MAX_AGE_SECONDS
) -> str | None:
    """The claim id a token names for this shop, or None (forged, expired, another shop's)."""
    if len(token) > 400:
        return None
    try:
        payload: Any = _serializer(secrets).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(payload, Mapping) or payload.get("s") != shop_id or not isinstance(payload.get("c"), str):
        return None
    return str(payload["c"])


def status_path(claim_id: str, shop_id: str, secrets: Sequence[str]) -> str:
    """The path of the claim's status page (PUBLIC_BASE_URL goes in front for emails)."""
    return f"/claims/{shop_id}/status/{status_token(claim_id, shop_id, secrets)}"
