"""The merchant's own Stripe account, as the plugin reaches it: webhook secrets and an API client."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from plugin.crypto import SecretBox
from plugin.extensions import db
from plugin.models import Shop, ShopSecret
from plugin.payments.stripe_api import StripeApi
from plugin.services.kept_entries import KeptEntries
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


class ReceiverCache(KeptEntries[WebhookReceiver]):
    """Shops' webhook secrets kept `ttl` seconds (KEY_CACHE_SECONDS), so a delivery costs no look-up of them.

    Only a shop with secrets is kept, and the caller reads afresh whenever a kept entry refuses a delivery: a
    new or rolled secret works at once in every process; a secret removed still verifies for up to `ttl`
    seconds elsewhere, as a rolled API key does for quotes.
    """

    def get(self, shop_id: str) -> WebhookReceiver | None:
        """The kept receiver, if still fresh."""
        entry = self._fresh(shop_id)
        return entry[1] if entry is not None else None

    def keep(self, receiver: WebhookReceiver) -> None:
        """Keep a receiver that has secrets for `ttl` seconds."""
        if self._ttl > 0 and receiver.webhook_secrets:
            self._put(receiver.id, receiver)

    def forget(self, shop_id: str) -> None:
        """Drop a shop's kept secrets."""
        self._forget(shop_id)
