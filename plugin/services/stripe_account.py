"""The merchant's own Stripe account, as the plugin reaches it: webhook secrets and an API client."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.crypto import SecretBox
from plugin.models import Shop
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
