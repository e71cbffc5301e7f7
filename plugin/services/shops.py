"""Creating shops and issuing, rolling and expiring their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.auth import KEY_PREFIXES, KeyKind, hash_key
from plugin.crypto import SecretBox, mask
from plugin.domain.ids import new_api_key, new_id, random_token
from plugin.extensions import db
from plugin.iso_codes import is_currency
from plugin.models import ApiKey, Shop, ShopSecret

PLATFORM_WEBHOOK_SECRET = "platform.webhook_secret"  # noqa: S105 - a name, not a secret


class ShopInputError(ValueError):
    """The shop cannot be created as asked."""


@dataclass(frozen=True)
class IssuedKeys:
    """Keys shown once, at creation or roll: the secret key is never shown again."""

    publishable_key: str
    secret_key: str


@dataclass(frozen=True)
class CreatedShop:
    """A new shop with everything its owner must copy now."""

    shop: Shop
    keys: IssuedKeys
    platform_webhook_secret: str


def _issue_keys(shop_id: str) -> tuple[IssuedKeys, list[ApiKey]]:
    publishable = new_api_key(KEY_PREFIXES[KeyKind.PUBLISHABLE])
    secret = new_api_key(KEY_PREFIXES[KeyKind.SECRET])
    rows = [
        ApiKey(shop_id=shop_id, kind=KeyKind.PUBLISHABLE, key_hash=hash_key(publishable), display=publishable),
        ApiKey(shop_id=shop_id, kind=KeyKind.SECRET, key_hash=hash_key(secret), display=mask(secret)),
    ]
    return IssuedKeys(publishable, secret), rows


def create_shop(name: str, currency: str, box: SecretBox) -> CreatedShop:
    """Create a shop with default settings, a key pair and a platform webhook secret."""
    name = name.strip()
    currency = currency.strip().upper()
    if not name or len(name) > 200:
        raise ShopInputError("the name must have 1 to 200 characters")
    if not is_currency(currency):
        raise ShopInputError(f"{currency!r} is not an ISO 4217 currency in use")
    shop = Shop(id=new_id("shop"), name=name, currency=currency, settings={})
    keys, key_rows = _issue_keys(shop.id)
    webhook_secret = f"pwhsec_{random_token(40)}"
    db.session.add(shop)
    db.session.flush()
    db.session.add_all(key_rows)
    db.session.add(ShopSecret(shop_id=shop.id, name=PLATFORM_WEBHOOK_SECRET, ciphertext=box.encrypt(webhook_secret)))
    db.session.commit()
    return CreatedShop(shop=shop, keys=keys, platform_webhook_secret=webhook_secret)


def roll_keys(shop: Shop, now: datetime, grace: timedelta = timedelta(0)) -> IssuedKeys:
    """New keys for the shop; the current ones stop working after `grace` (at once by default)."""
    if grace < timedelta(0):
        raise ShopInputError("the grace period cannot be negative")
    expiry = now + grace
    current = db.session.scalars(select(ApiKey).where(ApiKey.shop_id == shop.id))
    for row in current:
        if row.expires_at is None or row.expires_at > expiry:
            row.expires_at = expiry
    keys, key_rows = _issue_keys(shop.id)
    db.session.add_all(key_rows)
    db.session.commit()
    return keys


def get_shop(shop_id: str) -> Shop | None:
    """The shop with this id, if any."""
    return db.session.get(Shop, shop_id)
