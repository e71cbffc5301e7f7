"""The few Stripe API calls the plugin makes with a merchant's key: Checkout line items and the event log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import stripe

DEFAULT_TIMEOUT_SECONDS = 10.0


class StripeApiError(RuntimeError):
    """Stripe could not be asked (network, auth, or an error answer); the message carries no secret."""


class StripeApi:
    """A Stripe client bound to one merchant's key and to STRIPE_API_BASE (a mock server in tests)."""

    def __init__(self, api_key: str, api_base: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=2,
        )

    def checkout_line_items(self, session_id: str) -> list[dict[str, Any]]:
        """Every line item of a Checkout Session, with prices and products expanded."""
        try:
            page = self._client.v1.checkout.sessions.line_items.list(
                session_id, params={"limit": 100, "expand": ["data.price.product"]}
            )
            return [item.to_dict() for item in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise StripeApiError(f"listing line items of {session_id} failed: {type(exc).__name__}") from exc

    def events(self, since: datetime, types: Iterable[str]) -> list[dict[str, Any]]:
        """The account's events of these types created since `since`, oldest first (Stripe keeps 30 days)."""
        try:
            page = self._client.v1.events.list(
                params={"created": {"gte": int(since.timestamp())}, "types": list(types), "limit": 100}
            )
            newest_first = [event.to_dict() for event in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise StripeApiError(f"listing events failed: {type(exc).__name__}") from exc
        return list(reversed(newest_first))
