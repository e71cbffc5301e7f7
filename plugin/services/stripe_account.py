"""The merchant's own Stripe account, as the plugin reaches it: webhook secrets and an API client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, select

from plugin.crypto import SecretBox
from plugin.extensions import db
from plugin.models import Shop, ShopSecret
from plugin.payments.stripe_api import StripeApi
from plugin.services.settings import read_secrets

_SECRET_NAMES = ("stripe.webhook_secret", "stripe.previous_webhook_secret", "stripe.api_key")


@dataclass(frozen=True)
class StripeAccount:
    """The shop's active endpoint secrets (current first) and its API key, if any."""

    webhook_secrets: list[str]
    api_key: str | None

    def client(self, api_base: str) -> StripeApi | None:
        """A Stripe client with the merchant's own key, if the shop has one."""
        return StripeApi(self.api_key, api_base) if self.api_key else None


def stripe_account(shop: Shop, box: SecretBox) -> StripeAccount:
    """The shop's Stripe secrets, decrypted."""
    secrets = read_secrets(shop, _SECRET_NAMES, box)
    return StripeAccount(
        [secrets[name] for name in _SECRET_NAMES[:2] if name in secrets], secrets.get("stripe.api_key")
    )


@dataclass(frozen=True)
class WebhookReceiver:
    """What a Stripe delivery needs of its shop: the shop's id, its endpoint secrets, whether it has an API key."""

    id: str
    webhook_secrets: tuple[str, ...]
    has_api_key: bool


def load_receiver(shop_id: str, box: SecretBox) -> WebhookReceiver | None:
    """The shop and its Stripe secrets in one query; None when there is no such shop."""
    rows = db.session.execute(
        select(Shop.id, ShopSecret.name, ShopSecret.ciphertext)
        .outerjoin(ShopSecret, and_(ShopSecret.shop_id == Shop.id, ShopSecret.name.in_(_SECRET_NAMES)))
        .where(Shop.id == shop_id)
    ).all()
    if not rows:
        return None
    stored = {name: ciphertext for _, name, ciphertext in rows if name is not None}
    secrets = tuple(box.decrypt(stored[name]) for name in _SECRET_NAMES[:2] if name in stored)
    return WebhookReceiver(rows[0][0], secrets, _SECRET_NAMES[2] in stored)


class ReceiverCache:
    """Shops' webhook secrets kept `ttl` seconds (KEY_CACHE_SECONDS), so a delivery costs no look-up of them.

    Only a shop with secrets is kept, and the caller reads afresh whenever a kept entry refuses a delivery: a
    new or rolled secret works at once in every process; a secret removed still verifies for up to `ttl`
    seconds elsewhere, as a rolled API key does for quotes.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, WebhookReceiver]] = {}
        self._lock = threading.Lock()

    def get(self, shop_id: str) -> WebhookReceiver | None:
        """The kept receiver, if still fresh."""
        entry = self._entries.get(shop_id)
        return entry[1] if entry is not None and entry[0] > self._clock() else None

    def keep(self, receiver: WebhookReceiver) -> None:
        """Keep a receiver that has secrets for `ttl` seconds."""
        if self._ttl <= 0 or not receiver.webhook_secrets:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # crude but bounded
            self._entries[receiver.id] = (self._clock() + self._ttl, receiver)

    def forget(self, shop_id: str) -> None:
        """Drop a shop's kept secrets."""
        with self._lock:
            self._entries.pop(shop_id, None)
